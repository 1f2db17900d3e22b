#include <tapir/distributions/normal.hpp>

#include <cmath>

#include <tapir/core/ops.hpp>
#include "elementwise_density.hpp"
#include "internal.hpp"
#include <tapir/distributions/special.hpp>

namespace tapir::distributions {

namespace {
constexpr double kHalfLog2Pi = 0.91893853320467274178;      // log √(2π)
constexpr double kHalfLog2PiE = 1.41893853320467274178;     // log √(2πe)
}  // namespace

// log N(x; μ, σ) = -z²/2 - log σ - log √(2π), z = (x - μ) / σ; as one op where μ and σ each have
// x's shape or one element of no more dims (the KL terms' posterior at its own draw; a shared
// scale): one pass for the value and one per wanted gradient, instead of seven ops and their
// gradients, each a pass over every weight at every training step. Gradients:
//   d/dx = -z/σ,   d/dμ = z/σ,   d/dσ = (z² - 1)/σ   (times the incoming gradient).
Var internal::normal_log_density(const Var& x, const Var& mu, const Var& sigma) {
  if (!elementwise_parameters(x, mu, sigma)) {
    const Var z = (x - mu) / sigma;
    return square(z) * -0.5 - log(sigma) - kHalfLog2Pi;
  }
  return elementwise_density(
      "normal_log_prob", x, mu, sigma,
      [](auto xb, auto mb, auto sb) {
        using B = decltype(xb);
        using T = typename B::value_type;
        const B z = (xb - mb) / sb;
        return (z * z) * B(T(-0.5)) - xsimd::log(sb) - B(T(kHalfLog2Pi));
      },
      [](auto gb, auto xb, auto mb, auto sb) { const auto z = (xb - mb) / sb; return -(gb * z / sb); },
      [](auto gb, auto xb, auto mb, auto sb) { const auto z = (xb - mb) / sb; return gb * z / sb; },
      [](auto gb, auto xb, auto mb, auto sb) {
        using B = decltype(xb);
        using T = typename B::value_type;
        const B z = (xb - mb) / sb;
        return gb * (z * z - B(T(1))) / sb;
      });
}

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
  return internal::normal_log_density(value, m, s);
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
