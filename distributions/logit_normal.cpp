#include <tapir/distributions/logit_normal.hpp>

#include <cmath>

#include <tapir/core/ops.hpp>
#include "internal.hpp"
#include <tapir/distributions/special.hpp>

namespace tapir::distributions {

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
  // Outside (0, 1) the formula would give inf - inf; evaluate it at 1/2 there and select -inf, so
  // that neither the value nor the backward pass (0 * inf) produces NaN.
  const Var inside = constant(internal::mask(value.value(), [](double v) { return v > 0 && v < 1; }));
  const Var y = where(inside, value, internal::scalar(0.5, dtype()));
  const Var log_y = log(y), log_1my = log1p(-y);
  const Var density = normal_->log_prob(log_y - log_1my) - log_y - log_1my;
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
