// LogitNormal(loc, scale): Y = sigmoid(X) with X ~ Normal(loc, scale) — TFP's
// TransformedDistribution(Normal, Sigmoid), a density on (0, 1). The decoder likelihood of the
// Bayesian autoencoder, Independent(Sigmoid(Normal(loc, scale)), 3), is Independent(LogitNormal).
#pragma once
#include <memory>

#include <tapir/distributions/normal.hpp>

namespace tapir::distributions {

class LogitNormal : public Distribution {
 public:
  LogitNormal(DeferredVar loc, DeferredVar scale, bool validate_args = false, std::string name = "LogitNormal");
  LogitNormal(double loc, double scale, DType dtype = DType::float32, bool validate_args = false,
              std::string name = "LogitNormal");

  Var loc() const { return normal_->loc(); }
  Var scale() const { return normal_->scale(); }
  /// The Normal of the logits, logit(Y).
  const std::shared_ptr<Normal>& distribution() const { return normal_; }

  std::string type_name() const override { return "LogitNormal"; }
  DType dtype() const override { return normal_->dtype(); }
  Shape batch_shape() const override { return normal_->batch_shape(); }
  Shape event_shape() const override { return {}; }
  bool is_reparameterized() const override { return true; }

  /// sigmoid(loc + scale * eps).
  Var sample(const Shape& sample_shape, const RandomStream& stream) const override;
  /// log N(logit y; loc, scale) - log y - log(1 - y): the Normal's density times the Jacobian
  /// |d logit y / dy| = 1 / (y (1 - y)). logit y is formed as log y - log1p(-y), so it keeps its
  /// precision next to 0 and 1; y outside (0, 1) gives -inf (ValueError if validate_args), with
  /// a zero, not NaN, gradient.
  Var log_prob(const Var& value) const override;
  Var cdf(const Var& value) const override;
  // mean, variance and entropy have no closed form: they throw NotImplementedError.

 private:
  std::shared_ptr<Normal> normal_;
};

}  // namespace tapir::distributions
