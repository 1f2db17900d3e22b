// Elementwise ops: each forward next to its backward.
#include <cmath>
#include <type_traits>

#include <tapir/core/simd.hpp>
#include "kernels/elementwise.hpp"
#include <tapir/core/ops.hpp>
#include <tapir/core/tensor_ops.hpp>

namespace tapir {

namespace to = tensor_ops;

namespace {

// y = f(x...) over same-shaped contiguous tensors; f is written for xsimd batches. Loops whose f
// costs a transcendental function per element fork from simd::kCostlyGrain (costly_map).
template <std::size_t Grain = simd::kParallelGrain, class F, class... In>
Tensor map(F f, const Tensor& x0, const In&... xs) {
  Tensor out = Tensor::empty(x0.shape(), x0.dtype());
  TAPIR_DISPATCH(x0.dtype(), T, simd::map_with_grain(Grain, x0.size(), out.template data<T>(), f, x0.template data<T>(), xs.template data<T>()...));
  return out;
}
template <class F, class... In> Tensor costly_map(F f, const Tensor& x0, const In&... xs) {
  return map<simd::kCostlyGrain>(f, x0, xs...);
}

void check_same_dtype(const Var& a, const Var& b, const char* op) {
  if (a.dtype() != b.dtype())
    throw TypeError(std::string(op) + ": dtypes differ: " + dtype_name(a.dtype()) + " " +
                    shape_str(a.shape()) + " vs " + dtype_name(b.dtype()) + " " +
                    shape_str(b.shape()));
}

template <class B> B select_pos(B x, B if_pos, B otherwise) { return xsimd::select(x > B(0), if_pos, otherwise); }

// softplus(x) = max(x, 0) + log1p(t), t = e^-|x| in (0, 1]. For float32, log1p(t) = 2 atanh(s)
// with s = t / (2 + t) in (0, 1/3]: the odd series 2 s (1 + s²/3 + s⁴/5 + ... + s¹⁶/17) has a
// truncation error below 2e-9 relative, and costs one division and nine FMAs instead of
// xsimd's general log1p (softplus/16M: 10.5 -> 5.7 ms; worst relative error 3e-7, as before
// dominated by exp). float64 keeps log1p.
template <class B> B softplus_kernel(B x) {
  using T = typename B::value_type;
  const B t = xsimd::exp(-xsimd::abs(x));
  if constexpr (std::is_same<T, float>::value) {
    const B s = t / (B(2.f) + t);
    const B z = s * s;
    B p = B(1.f / 17);
    for (float c : {1.f / 15, 1.f / 13, 1.f / 11, 1.f / 9, 1.f / 7, 1.f / 5, 1.f / 3, 1.f}) p = xsimd::fma(p, z, B(c));
    return xsimd::max(x, B(0.f)) + B(2.f) * s * p;
  } else {
    return xsimd::max(x, B(T(0))) + xsimd::log1p(t);
  }
}

}  // namespace

Var scalar_like(const Var& x, double value) { return constant(Tensor::scalar(value, x.dtype())); }

// ---------------------------------------------------------------- binary
Var add(const Var& a, const Var& b) {
  check_same_dtype(a, b, "add");
  const Shape sa = a.shape(), sb = b.shape();
  return custom_op("add", to::add(a.value(), b.value()), {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{to::sum_to(g, sa), to::sum_to(g, sb)};
  });
}

Var sub(const Var& a, const Var& b) {
  check_same_dtype(a, b, "sub");
  const Shape sa = a.shape(), sb = b.shape();
  const bool need_b = b.requires_grad();
  return custom_op("sub", to::sub(a.value(), b.value()), {a, b}, [sa, sb, need_b](const Tensor& g) {
    return std::vector<Tensor>{to::sum_to(g, sa), need_b ? to::neg(to::sum_to(g, sb)) : Tensor()};
  });
}

Var mul(const Var& a, const Var& b) {
  check_same_dtype(a, b, "mul");
  const Tensor va = a.value(), vb = b.value();
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return custom_op("mul", to::mul(va, vb), {a, b}, [=](const Tensor& g) {
    return std::vector<Tensor>{need_a ? to::sum_to(to::mul(g, vb), va.shape()) : Tensor(),
                               need_b ? to::sum_to(to::mul(g, va), vb.shape()) : Tensor()};
  });
}

Var div(const Var& a, const Var& b) {
  check_same_dtype(a, b, "div");
  const Tensor va = a.value(), vb = b.value();
  const Tensor out = to::div(va, vb);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return custom_op("div", out, {a, b}, [=](const Tensor& g) {
    const Tensor g_over_b = to::div(g, vb);  // d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b
    return std::vector<Tensor>{
        need_a ? to::sum_to(g_over_b, va.shape()) : Tensor(),
        need_b ? to::neg(to::sum_to(to::mul(g_over_b, out), vb.shape())) : Tensor()};
  });
}

Var pow(const Var& a, const Var& b) {
  check_same_dtype(a, b, "pow");
  const Tensor va = a.value(), vb = b.value();
  const Shape os = broadcast_shapes(va.shape(), vb.shape(), "pow");
  const Tensor ab = to::broadcast_to(va, os), bb = to::broadcast_to(vb, os);
  Tensor out = Tensor::empty(os, va.dtype());
  TAPIR_DISPATCH(va.dtype(), T, {
    const T* x = ab.data<T>(); const T* y = bb.data<T>(); T* o = out.data<T>();
    for (std::size_t i = 0; i < out.size(); ++i) o[i] = std::pow(x[i], y[i]);
  });
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return custom_op("pow", out, {a, b}, [=](const Tensor& g) {
    Tensor ga, gb;
    TAPIR_DISPATCH(g.dtype(), T, {
      const T* x = ab.data<T>(); const T* y = bb.data<T>(); const T* o = out.data<T>();
      const T* gp = g.data<T>();
      if (need_a) {
        Tensor t = Tensor::empty(os, g.dtype());
        T* p = t.data<T>();
        for (std::size_t i = 0; i < t.size(); ++i)
          p[i] = y[i] == T(0) ? T(0) : gp[i] * y[i] * std::pow(x[i], y[i] - T(1));
        ga = to::sum_to(t, va.shape());
      }
      if (need_b) {
        Tensor t = Tensor::empty(os, g.dtype());
        T* p = t.data<T>();
        for (std::size_t i = 0; i < t.size(); ++i) p[i] = o[i] == T(0) ? T(0) : gp[i] * o[i] * std::log(x[i]);
        gb = to::sum_to(t, vb.shape());
      }
    });
    return std::vector<Tensor>{ga, gb};
  });
}

Var pow(const Var& a, double exponent) {
  const Tensor x = a.value();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  TAPIR_DISPATCH(x.dtype(), T, {
    const T* p = x.data<T>(); T* o = out.data<T>();
    for (std::size_t i = 0; i < x.size(); ++i) o[i] = std::pow(p[i], static_cast<T>(exponent));
  });
  return custom_op("pow", out, {a}, [x, exponent](const Tensor& g) {
    Tensor r = Tensor::empty(x.shape(), x.dtype());
    TAPIR_DISPATCH(x.dtype(), T, {
      const T* p = x.data<T>(); const T* gp = g.data<T>(); T* o = r.data<T>();
      const T e = static_cast<T>(exponent);
      for (std::size_t i = 0; i < x.size(); ++i) o[i] = e == T(0) ? T(0) : gp[i] * e * std::pow(p[i], e - T(1));
    });
    return std::vector<Tensor>{r};
  });
}

namespace {
// Gradient mask of a for min/max: 1 where a wins, 1/2 on ties, 0 where b wins.
Var min_max(const Var& a, const Var& b, bool is_max) {
  const char* op = is_max ? "maximum" : "minimum";
  check_same_dtype(a, b, op);
  const Tensor va = a.value(), vb = b.value();
  Tensor out;
  const Shape os = broadcast_shapes(va.shape(), vb.shape(), op);
  Tensor wa(os, va.dtype());  // weight of a in the result
  {
    Tensor ab = to::broadcast_to(va, os), bb = to::broadcast_to(vb, os);
    out = Tensor::empty(os, va.dtype());
    TAPIR_DISPATCH(va.dtype(), T, {
      const T* x = ab.data<T>(); const T* y = bb.data<T>(); T* o = out.data<T>(); T* w = wa.data<T>();
      for (std::size_t i = 0; i < out.size(); ++i) {
        const bool a_wins = is_max ? x[i] > y[i] : x[i] < y[i];
        o[i] = a_wins ? x[i] : y[i];
        w[i] = x[i] == y[i] ? T(0.5) : (a_wins ? T(1) : T(0));
      }
    });
  }
  const Shape sa = va.shape(), sb = vb.shape();
  return custom_op(op, out, {a, b}, [wa, sa, sb](const Tensor& g) {
    const Tensor ga = to::mul(g, wa);
    return std::vector<Tensor>{to::sum_to(ga, sa), to::sum_to(to::sub(g, ga), sb)};
  });
}
}  // namespace

Var minimum(const Var& a, const Var& b) { return min_max(a, b, false); }
Var maximum(const Var& a, const Var& b) { return min_max(a, b, true); }

Var where(const Var& condition, const Var& a, const Var& b) {
  check_same_dtype(a, b, "where");
  check_same_dtype(condition, a, "where (condition)");
  const Shape os = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"),
                                    b.shape(), "where");
  const Tensor c = to::broadcast_to(condition.value(), os);
  const Tensor ab = to::broadcast_to(a.value(), os), bb = to::broadcast_to(b.value(), os);
  const Tensor out = map([](auto m, auto x, auto y) { return xsimd::select(m != decltype(m)(0), x, y); }, c, ab, bb);
  const Shape sa = a.shape(), sb = b.shape();
  return custom_op("where", out, {condition, a, b}, [c, sa, sb](const Tensor& g) {
    const Tensor ga = map([](auto m, auto x) { return xsimd::select(m != decltype(m)(0), x, decltype(m)(0)); }, c, g);
    return std::vector<Tensor>{Tensor(), to::sum_to(ga, sa), to::sum_to(to::sub(g, ga), sb)};
  });
}

// ---------------------------------------------------------------- unary
Var neg(const Var& x) {
  return custom_op("neg", to::neg(x.value()), {x}, [](const Tensor& g) { return std::vector<Tensor>{to::neg(g)}; });
}

Var scale(const Var& x, double factor) {
  return custom_op("scale", to::scale(x.value(), factor), {x},
                   [factor](const Tensor& g) { return std::vector<Tensor>{to::scale(g, factor)}; });
}

Var exp(const Var& x) {
  const Tensor y = map([](auto v) { return xsimd::exp(v); }, x.value());
  return custom_op("exp", y, {x}, [y](const Tensor& g) { return std::vector<Tensor>{to::mul(g, y)}; });
}

Var log(const Var& x) {
  const Tensor v = x.value();
  return custom_op("log", costly_map([](auto a) { return xsimd::log(a); }, v), {x},
                   [v](const Tensor& g) { return std::vector<Tensor>{to::div(g, v)}; });
}

Var log1p(const Var& x) {
  const Tensor v = x.value();
  return custom_op("log1p", costly_map([](auto a) { return xsimd::log1p(a); }, v), {x}, [v](const Tensor& g) {
    return std::vector<Tensor>{map([](auto gg, auto a) { return gg / (decltype(a)(1) + a); }, g, v)};
  });
}

Var expm1(const Var& x) {
  const Tensor y = map([](auto a) { return xsimd::expm1(a); }, x.value());
  return custom_op("expm1", y, {x}, [y](const Tensor& g) {
    return std::vector<Tensor>{map([](auto gg, auto e) { return gg * (e + decltype(e)(1)); }, g, y)};
  });
}

Var softplus(const Var& x) {
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large x, no loss for small x
  const Tensor v = x.value();
  const Tensor y = costly_map([](auto a) { return softplus_kernel(a); }, v);
  return custom_op("softplus", y, {x}, [v](const Tensor& g) {
    return std::vector<Tensor>{costly_map([](auto gg, auto a) {
      using B = decltype(a);
      return gg / (B(1) + xsimd::exp(-a));  // sigmoid(x)
    }, g, v)};
  });
}

Var sigmoid(const Var& x) {
  const Tensor y = costly_map([](auto a) { using B = decltype(a); return B(1) / (B(1) + xsimd::exp(-a)); }, x.value());
  return custom_op("sigmoid", y, {x}, [y](const Tensor& g) {
    return std::vector<Tensor>{map([](auto gg, auto s) { return gg * s * (decltype(s)(1) - s); }, g, y)};
  });
}

Var tanh(const Var& x) {
  const Tensor y = costly_map([](auto a) { return xsimd::tanh(a); }, x.value());
  return custom_op("tanh", y, {x}, [y](const Tensor& g) {
    return std::vector<Tensor>{map([](auto gg, auto t) { return gg * (decltype(t)(1) - t * t); }, g, y)};
  });
}

Var relu(const Var& x) {
  const Tensor v = x.value();
  return custom_op("relu", map([](auto a) { return xsimd::max(a, decltype(a)(0)); }, v), {x}, [v](const Tensor& g) {
    return std::vector<Tensor>{map([](auto gg, auto a) { return select_pos(a, gg, decltype(a)(0)); }, g, v)};
  });
}

Var leaky_relu(const Var& x, double negative_slope) {
  const Tensor v = x.value();
  const double s = negative_slope;
  TAPIR_DISPATCH(v.dtype(), T, {
    const T slope = static_cast<T>(s);
    const Tensor y = map([slope](auto a) { return select_pos(a, a, a * decltype(a)(slope)); }, v);
    return custom_op("leaky_relu", y, {x}, [v, slope](const Tensor& g) {
      return std::vector<Tensor>{map([slope](auto gg, auto a) { return select_pos(a, gg, gg * decltype(a)(slope)); }, g, v)};
    });
  });
  return Var();  // unreachable
}

Var elu(const Var& x, double alpha) {
  const Tensor v = x.value();
  TAPIR_DISPATCH(v.dtype(), T, {
    const T al = static_cast<T>(alpha);
    const Tensor y = costly_map([al](auto a) { return select_pos(a, a, decltype(a)(al) * xsimd::expm1(a)); }, v);
    return custom_op("elu", y, {x}, [v, y, al](const Tensor& g) {
      return std::vector<Tensor>{map([al](auto gg, auto a, auto o) {
        return select_pos(a, gg, gg * (o + decltype(a)(al)));
      }, g, v, y)};
    });
  });
  return Var();  // unreachable
}

Var abs(const Var& x) {
  const Tensor v = x.value();
  return custom_op("abs", map([](auto a) { return xsimd::abs(a); }, v), {x}, [v](const Tensor& g) {
    return std::vector<Tensor>{map([](auto gg, auto a) {
      using B = decltype(a);
      return xsimd::select(a > B(0), gg, xsimd::select(a < B(0), -gg, B(0)));
    }, g, v)};
  });
}

Var square(const Var& x) {
  const Tensor v = x.value();
  return custom_op("square", map([](auto a) { return a * a; }, v), {x}, [v](const Tensor& g) {
    return std::vector<Tensor>{map([](auto gg, auto a) { return decltype(a)(2) * gg * a; }, g, v)};
  });
}

Var sqrt(const Var& x) {
  const Tensor y = map([](auto a) { return xsimd::sqrt(a); }, x.value());
  return custom_op("sqrt", y, {x}, [y](const Tensor& g) {
    return std::vector<Tensor>{map([](auto gg, auto s) { return gg / (decltype(s)(2) * s); }, g, y)};
  });
}

// ---------------------------------------------------------------- operators
Var operator+(const Var& a, const Var& b) { return add(a, b); }
Var operator-(const Var& a, const Var& b) { return sub(a, b); }
Var operator*(const Var& a, const Var& b) { return mul(a, b); }
Var operator/(const Var& a, const Var& b) { return div(a, b); }
Var operator-(const Var& a) { return neg(a); }
Var operator+(const Var& a, double b) { return add(a, scalar_like(a, b)); }
Var operator+(double a, const Var& b) { return add(scalar_like(b, a), b); }
Var operator-(const Var& a, double b) { return sub(a, scalar_like(a, b)); }
Var operator-(double a, const Var& b) { return sub(scalar_like(b, a), b); }
Var operator*(const Var& a, double b) { return scale(a, b); }
Var operator*(double a, const Var& b) { return scale(b, a); }
Var operator/(const Var& a, double b) { return scale(a, 1.0 / b); }
Var operator/(double a, const Var& b) { return div(scalar_like(b, a), b); }

}  // namespace tapir
