#include <tapir/distributions/logit_normal.hpp>

#include <cmath>
#include <limits>
#include <tuple>

#include <tapir/core/ops.hpp>
#include "elementwise_density.hpp"
#include "internal.hpp"
#include <tapir/distributions/special.hpp>

namespace tapir::distributions {

namespace {
// log p(y) = log N(t; μ, σ) - log y - log(1 - y), t = logit y = log y - log(1 - y), for y in
// (0, 1) and -inf outside, as one op where μ and σ have y's shape or one element of no more
// dims (the likelihood of a decoder's pixels with a shared scale: ten ops over every pixel
// otherwise). With z = (t - μ) / σ and inside (0, 1) (0 outside, as the composed ops' where
// gives):
//   d/dy = (1 - z/σ) / (1 - y) - (1 + z/σ) / y,   d/dμ = z/σ,   d/dσ = (z² - 1)/σ.
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log √(2π)

// The terms at one batch of y: whether y is inside (0, 1), y (1/2 outside, where the formula is
// not used), log y, log(1 - y) and z.
template <class B> auto logit_terms(B yb, B mb, B sb) {
  const auto inside = (yb > B(0)) & (yb < B(1));
  const B yy = xsimd::select(inside, yb, B(0.5));
  const B log_y = xsimd::log(yy), log_1my = xsimd::log1p(-yy);
  const B z = (log_y - log_1my - mb) / sb;
  return std::make_tuple(inside, yy, log_y, log_1my, z);
}

// f(g, yy, z, σ) inside (0, 1), 0 outside
template <class F> auto inside_only(F f) {
  return [f](auto gb, auto yb, auto mb, auto sb) {
    using B = decltype(yb);
    const auto [inside, yy, log_y, log_1my, z] = logit_terms(yb, mb, sb);
    (void)log_y;
    (void)log_1my;
    return xsimd::select(inside, f(gb, yy, z, sb), B(0));
  };
}

Var fused_log_prob(const Var& y, const Var& mu, const Var& sigma) {
  return internal::elementwise_density(
      "logit_normal_log_prob", y, mu, sigma,
      [](auto yb, auto mb, auto sb) {
        using B = decltype(yb);
        using T = typename B::value_type;
        const auto [inside, yy, log_y, log_1my, z] = logit_terms(yb, mb, sb);
        (void)yy;
        const B density = (z * z) * B(T(-0.5)) - xsimd::log(sb) - B(T(kHalfLog2Pi)) - log_y - log_1my;
        return xsimd::select(inside, density, B(-std::numeric_limits<T>::infinity()));
      },
      inside_only([](auto gb, auto yy, auto z, auto sb) {
        using B = decltype(z);
        const B r = z / sb;
        return gb * ((B(1) - r) / (B(1) - yy) - (B(1) + r) / yy);
      }),
      inside_only([](auto gb, auto, auto z, auto sb) { return gb * z / sb; }),
      inside_only([](auto gb, auto, auto z, auto sb) { using B = decltype(z); return gb * (z * z - B(1)) / sb; }));
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
  const Var density = internal::normal_log_density(log_y - log_1my, m, s) - log_y - log_1my;
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
