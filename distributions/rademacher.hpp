// Rademacher — -1 or +1 with probability 1/2 each (tfp.random.rademacher as a distribution):
// the sign flips of Flipout. No parameters; the batch shape is given.
#pragma once
#include <tapir/distributions/distribution.hpp>

namespace tapir::distributions {

class Rademacher : public Distribution {
 public:
  explicit Rademacher(Shape batch_shape = {}, DType dtype = DType::float32, bool validate_args = false,
                      std::string name = "Rademacher");

  std::string type_name() const override { return "Rademacher"; }
  DType dtype() const override { return dtype_; }
  Shape batch_shape() const override { return batch_shape_; }
  Shape event_shape() const override { return {}; }

  /// Signs drawn with random::fill_rademacher (one random bit per element).
  Var sample(const Shape& sample_shape, const RandomStream& stream) const override;
  /// log(1/2) at ±1, -inf elsewhere (ValueError there instead if validate_args).
  Var log_prob(const Var& value) const override;
  Var cdf(const Var& value) const override;
  Var mean() const override;      ///< 0
  Var variance() const override;  ///< 1
  Var entropy() const override;   ///< log 2

 private:
  Var filled(double value) const;
  Shape batch_shape_;
  DType dtype_;
};

}  // namespace tapir::distributions
