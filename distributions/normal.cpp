#include <tapir/distributions/normal.hpp>

#include <cmath>

#include <tapir/core/ops.hpp>
#include <tapir/core/simd.hpp>
#include <tapir/core/tensor_ops.hpp>
#include "internal.hpp"
#include <tapir/distributions/special.hpp>

namespace tapir::distributions {

namespace {
constexpr double kHalfLog2Pi = 0.91893853320467274178;      // log √(2π)
constexpr double kHalfLog2PiE = 1.41893853320467274178;     // log √(2πe)

// log N(x; μ, σ) = -z²/2 - log σ - log √(2π), z = (x - μ) / σ, as one op where μ and σ each have
// x's shape or one element of no more dims (the KL terms' posterior at its own draw; a shared
// scale): one pass for the value and one per wanted gradient, instead of seven ops and their
// gradients, each a pass over every weight at every training step. Gradients:
//   d/dx = -z/σ,   d/dμ = z/σ,   d/dσ = (z² - 1)/σ   (times the incoming gradient),
// summed over x for a one-element μ or σ.
Var fused_log_prob(const Var& x, const Var& mu, const Var& sigma) {
  const Tensor xv = x.value(), mv = mu.value(), sv = sigma.value();
  const bool mu_one = mv.shape() != xv.shape(), sigma_one = sv.shape() != xv.shape();  // one element each
  const std::size_t n = xv.size();
  // one pointer per operand; a one-element μ or σ is read as a constant batch
  auto z_of = [mu_one, sigma_one](auto xb, auto mb, auto sb, auto m0, auto s0) {
    using B = decltype(xb);
    const B m = mu_one ? B(m0) : mb, s = sigma_one ? B(s0) : sb;
    return std::make_pair((xb - m) / s, s);
  };
  Tensor lp = Tensor::empty(xv.shape(), xv.dtype());
  TAPIR_DISPATCH(xv.dtype(), T, {
    const T m0 = mv.data<T>()[0], s0 = sv.data<T>()[0];
    const T* mp = mu_one ? xv.data<T>() : mv.data<T>();  // unread where μ is one element
    const T* sp = sigma_one ? xv.data<T>() : sv.data<T>();
    simd::map_costly(n, lp.data<T>(), [=](auto xb, auto mb, auto sb) {
      using B = decltype(xb);
      const auto [z, s] = z_of(xb, mb, sb, m0, s0);
      return (z * z) * B(T(-0.5)) - xsimd::log(s) - B(T(kHalfLog2Pi));
    }, xv.data<T>(), mp, sp);
  });
  const bool want_x = x.requires_grad(), want_mu = mu.requires_grad(), want_sigma = sigma.requires_grad();
  const Shape mu_shape = mv.shape(), sigma_shape = sv.shape();
  return custom_op("normal_log_prob", lp, {x, mu, sigma}, [=](const Tensor& g) {
    Tensor gx, gmu, gsigma;
    TAPIR_DISPATCH(g.dtype(), T, {
      const T m0 = mv.data<T>()[0], s0 = sv.data<T>()[0];
      const T* mp = mu_one ? xv.data<T>() : mv.data<T>();
      const T* sp = sigma_one ? xv.data<T>() : sv.data<T>();
      auto pass = [&](auto f) {  // out = f(g, z, σ) over every element
        Tensor out = Tensor::empty(xv.shape(), xv.dtype());
        simd::map_costly(n, out.data<T>(), [=](auto gb, auto xb, auto mb, auto sb) {
          const auto [z, s] = z_of(xb, mb, sb, m0, s0);
          return f(gb, z, s);
        }, g.data<T>(), xv.data<T>(), mp, sp);
        return out;
      };
      if (want_x) gx = pass([](auto gb, auto z, auto s) { return -(gb * z / s); });
      if (want_mu) gmu = pass([](auto gb, auto z, auto s) { return gb * z / s; });
      if (want_sigma)
        gsigma = pass([](auto gb, auto z, auto s) { using B = decltype(z); return gb * (z * z - B(T(1))) / s; });
    });
    if (mu_one && gmu.defined()) gmu = tensor_ops::sum_to(gmu, mu_shape);
    if (sigma_one && gsigma.defined()) gsigma = tensor_ops::sum_to(gsigma, sigma_shape);
    return std::vector<Tensor>{gx, gmu, gsigma};
  });
}
}  // namespace

Normal::Normal(DeferredVar loc, DeferredVar scale, bool validate_args, std::string name)
    : Distribution(std::move(name), validate_args), loc_(std::move(loc)), scale_(std::move(scale)) {
  if (!loc_.defined() || !scale_.defined()) throw ValueError(label() + ": loc and scale must be defined");
  if (loc_.dtype() != scale_.dtype())
    throw TypeError(label() + ": loc is " + dtype_name(loc_.dtype()) + " " + shape_str(loc_.shape()) +
                    " but scale is " + dtype_name(scale_.dtype()) + " " + shape_str(scale_.shape()));
  batch_shape_ = internal::broadcast_parameters(label(), "loc", loc_.shape(), "scale", scale_.shape());
  if (validate_args) this->scale();  // checks scale > 0 now, at construction
}

Normal::Normal(double loc, double scale, DType dtype, bool validate_args, std::string name)
    : Normal(internal::scalar(loc, dtype), internal::scalar(scale, dtype), validate_args, std::move(name)) {}

Var Normal::loc() const { return loc_.get(); }

Var Normal::scale() const {
  Var s = scale_.get();
  if (validate_args())
    internal::check_elements(label(), "scale", s.value(), [](double v) { return v > 0; }, "> 0");
  return s;
}

Var Normal::sample(const Shape& sample_shape, const RandomStream& stream) const {
  const Tensor eps = random::normal(concat_shapes(sample_shape, batch_shape_), dtype(), stream);
  return loc() + scale() * constant(eps);
}

Var Normal::log_prob(const Var& value) const {
  check_value(value, "log_prob");
  const Var s = scale(), m = loc();
  if (internal::elementwise_parameters(value, m, s)) return fused_log_prob(value, m, s);
  const Var z = (value - m) / s;
  return square(z) * -0.5 - log(s) - kHalfLog2Pi;
}

Var Normal::cdf(const Var& value) const {
  check_value(value, "cdf");
  return special::ndtr((value - loc()) / scale());
}

Var Normal::log_cdf(const Var& value) const {
  check_value(value, "log_cdf");
  return special::log_ndtr((value - loc()) / scale());
}

Var Normal::mean() const { return broadcast_to(loc(), batch_shape_); }
Var Normal::variance() const { return broadcast_to(square(scale()), batch_shape_); }
Var Normal::stddev() const { return broadcast_to(scale(), batch_shape_); }
Var Normal::entropy() const { return broadcast_to(log(scale()) + kHalfLog2PiE, batch_shape_); }

}  // namespace tapir::distributions
