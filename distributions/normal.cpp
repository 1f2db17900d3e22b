#include <tapir/distributions/normal.hpp>

#include <cmath>

#include <tapir/core/ops.hpp>
#include "internal.hpp"
#include <tapir/distributions/special.hpp>

namespace tapir::distributions {

namespace {
constexpr double kHalfLog2Pi = 0.91893853320467274178;      // log √(2π)
constexpr double kHalfLog2PiE = 1.41893853320467274178;     // log √(2πe)
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
  const Var s = scale();
  const Var z = (value - loc()) / s;
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
