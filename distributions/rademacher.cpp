#include <tapir/distributions/rademacher.hpp>

#include <cmath>

#include <tapir/core/ops.hpp>
#include <tapir/core/tensor_ops.hpp>
#include "internal.hpp"

namespace tapir::distributions {

Rademacher::Rademacher(Shape batch_shape, DType dtype, bool validate_args, std::string name)
    : Distribution(std::move(name), validate_args), batch_shape_(std::move(batch_shape)), dtype_(dtype) {}

Var Rademacher::filled(double value) const { return constant(Tensor::full(batch_shape_, dtype_, value)); }

Var Rademacher::sample(const Shape& sample_shape, const RandomStream& stream) const {
  return constant(random::rademacher(concat_shapes(sample_shape, batch_shape_), dtype_, stream));
}

Var Rademacher::log_prob(const Var& value) const {
  check_value(value, "log_prob");
  if (validate_args())
    internal::check_elements(label(), "value", value.value(), [](double v) { return v == 1 || v == -1; },
                             "-1 or +1");
  const Var is_sign = constant(internal::mask(value.value(), [](double v) { return v == 1 || v == -1; }));
  return where(is_sign, filled(-std::log(2.0)), internal::scalar(-INFINITY, dtype_));
}

Var Rademacher::cdf(const Var& value) const {
  check_value(value, "cdf");
  const Tensor c = internal::mask(value.value(), [](double v) { return v >= -1; });
  const Tensor top = internal::mask(value.value(), [](double v) { return v >= 1; });
  // 0 below -1, 1/2 on [-1, 1), 1 from 1 on
  return broadcast_to(constant(tensor_ops::scale(tensor_ops::add(c, top), 0.5)),
                      broadcast_shapes(value.shape(), batch_shape_, "Rademacher.cdf"));
}

Var Rademacher::mean() const { return filled(0.0); }
Var Rademacher::variance() const { return filled(1.0); }
Var Rademacher::entropy() const { return filled(std::log(2.0)); }

}  // namespace tapir::distributions
