#include <tapir/distributions/logit_normal.hpp>

#include <cmath>
#include <limits>
#include <tuple>

#include <tapir/core/ops.hpp>
#include <tapir/core/simd.hpp>
#include <tapir/core/tensor_ops.hpp>
#include "internal.hpp"
#include <tapir/distributions/special.hpp>

namespace tapir::distributions {

namespace {
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log √(2π)

// log p(y) = log N(t; μ, σ) - log y - log(1 - y), t = logit y = log y - log(1 - y), for y in
// (0, 1) and -inf outside, as one op where μ and σ have y's shape or one element of no more
// dims (the
// likelihood of a decoder's pixels with a shared scale: ten ops over every pixel otherwise).
// With z = (t - μ) / σ and inside (0, 1) (0 outside, as the composed ops' where gives):
//   d/dy = (1 - z/σ) / (1 - y) - (1 + z/σ) / y,   d/dμ = z/σ,   d/dσ = (z² - 1)/σ,
// summed over y for a one-element μ or σ.
Var fused_log_prob(const Var& y, const Var& mu, const Var& sigma) {
  const Tensor yv = y.value(), mv = mu.value(), sv = sigma.value();
  const bool mu_one = mv.shape() != yv.shape(), sigma_one = sv.shape() != yv.shape();  // one element each
  const std::size_t n = yv.size();
  // the terms at one batch of y: whether y is inside (0, 1), y (1/2 outside, where the formula
  // is not used), log y, log(1 - y), z and σ
  auto terms = [mu_one, sigma_one](auto yb, auto mb, auto sb, auto m0, auto s0) {
    using B = decltype(yb);
    const auto inside = (yb > B(0)) & (yb < B(1));
    const B yy = xsimd::select(inside, yb, B(0.5));
    const B log_y = xsimd::log(yy), log_1my = xsimd::log1p(-yy);
    const B m = mu_one ? B(m0) : mb, s = sigma_one ? B(s0) : sb;
    const B z = (log_y - log_1my - m) / s;
    return std::make_tuple(inside, yy, log_y, log_1my, z, s);
  };
  Tensor lp = Tensor::empty(yv.shape(), yv.dtype());
  TAPIR_DISPATCH(yv.dtype(), T, {
    const T m0 = mv.data<T>()[0], s0 = sv.data<T>()[0];
    const T* mp = mu_one ? yv.data<T>() : mv.data<T>();  // unread where μ is one element
    const T* sp = sigma_one ? yv.data<T>() : sv.data<T>();
    simd::map_costly(n, lp.data<T>(), [=](auto yb, auto mb, auto sb) {
      using B = decltype(yb);
      const auto [inside, yy, log_y, log_1my, z, s] = terms(yb, mb, sb, m0, s0);
      (void)yy;
      const B density = (z * z) * B(T(-0.5)) - xsimd::log(s) - B(T(kHalfLog2Pi)) - log_y - log_1my;
      return xsimd::select(inside, density, B(-std::numeric_limits<T>::infinity()));
    }, yv.data<T>(), mp, sp);
  });
  const bool want_y = y.requires_grad(), want_mu = mu.requires_grad(), want_sigma = sigma.requires_grad();
  const Shape mu_shape = mv.shape(), sigma_shape = sv.shape();
  return custom_op("logit_normal_log_prob", lp, {y, mu, sigma}, [=](const Tensor& g) {
    Tensor gy, gmu, gsigma;
    TAPIR_DISPATCH(g.dtype(), T, {
      const T m0 = mv.data<T>()[0], s0 = sv.data<T>()[0];
      const T* mp = mu_one ? yv.data<T>() : mv.data<T>();
      const T* sp = sigma_one ? yv.data<T>() : sv.data<T>();
      auto pass = [&](auto f) {  // out = f(g, terms) inside (0, 1), 0 outside
        Tensor out = Tensor::empty(yv.shape(), yv.dtype());
        simd::map_costly(n, out.data<T>(), [=](auto gb, auto yb, auto mb, auto sb) {
          using B = decltype(yb);
          const auto [inside, yy, log_y, log_1my, z, s] = terms(yb, mb, sb, m0, s0);
          (void)log_y; (void)log_1my;
          return xsimd::select(inside, f(gb, yy, z, s), B(T(0)));
        }, g.data<T>(), yv.data<T>(), mp, sp);
        return out;
      };
      if (want_y)
        gy = pass([](auto gb, auto yy, auto z, auto s) {
          using B = decltype(z);
          const B r = z / s;
          return gb * ((B(T(1)) - r) / (B(T(1)) - yy) - (B(T(1)) + r) / yy);
        });
      if (want_mu) gmu = pass([](auto gb, auto, auto z, auto s) { return gb * z / s; });
      if (want_sigma)
        gsigma = pass([](auto gb, auto, auto z, auto s) { using B = decltype(z); return gb * (z * z - B(T(1))) / s; });
    });
    if (mu_one && gmu.defined()) gmu = tensor_ops::sum_to(gmu, mu_shape);
    if (sigma_one && gsigma.defined()) gsigma = tensor_ops::sum_to(gsigma, sigma_shape);
    return std::vector<Tensor>{gy, gmu, gsigma};
  });
}
}  // namespace

LogitNormal::LogitNormal(DeferredVar loc, DeferredVar scale, bool validate_args, std::string name)
    : Distribution(name, validate_args),
      normal_(std::make_shared<Normal>(std::move(loc), std::move(scale), validate_args, name)) {}

LogitNormal::LogitNormal(double loc, double scale, DType dtype, bool validate_args, std::string name)
    : LogitNormal(internal::scalar(loc, dtype), internal::scalar(scale, dtype), validate_args, std::move(name)) {}

Var LogitNormal::sample(const Shape& sample_shape, const RandomStream& stream) const {
  return sigmoid(normal_->sample(sample_shape, stream));
}

Var LogitNormal::log_prob(const Var& value) const {
  check_value(value, "log_prob");
  if (validate_args())
    internal::check_elements(label(), "value", value.value(), [](double v) { return v > 0 && v < 1; },
                             "in the open interval (0, 1)");
  const Var m = normal_->loc(), s = normal_->scale();
  if (internal::elementwise_parameters(value, m, s)) return fused_log_prob(value, m, s);
  // Outside (0, 1) the formula would give inf - inf; evaluate it at 1/2 there and select -inf, so
  // that neither the value nor the backward pass (0 * inf) produces NaN.
  const Var inside = constant(internal::mask(value.value(), [](double v) { return v > 0 && v < 1; }));
  const Var y = where(inside, value, internal::scalar(0.5, dtype()));
  const Var log_y = log(y), log_1my = log1p(-y);
  const Var z = (log_y - log_1my - m) / s;  // Normal's log density at logit y, with m and s fetched once
  const Var density = square(z) * -0.5 - log(s) - kHalfLog2Pi - log_y - log_1my;
  return where(inside, density, internal::scalar(-INFINITY, dtype()));
}

Var LogitNormal::cdf(const Var& value) const {
  check_value(value, "cdf");
  const Var inside = constant(internal::mask(value.value(), [](double v) { return v > 0 && v < 1; }));
  const Var at_or_above_one = constant(internal::mask(value.value(), [](double v) { return v >= 1; }));
  const Var y = where(inside, value, internal::scalar(0.5, dtype()));
  const Var interior = special::ndtr((log(y) - log1p(-y) - loc()) / scale());
  return where(inside, interior, where(at_or_above_one, internal::scalar(1.0, dtype()), internal::scalar(0.0, dtype())));
}

}  // namespace tapir::distributions
