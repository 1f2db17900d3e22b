// Bernoulli(logits | probs) — tfd.Bernoulli: values 0 and 1 (as floats); batch shape = the
// parameter's shape. From logits, log_prob is log σ(±l) written with softplus, so it stays exact
// and finite for any finite logit (no log(0) when σ(l) rounds to 0 or 1).
#pragma once
#include <tapir/distributions/logits_probs.hpp>

namespace tapir::distributions {

class Bernoulli : public Distribution {
 public:
  /// validate_args: probs in [0, 1]; log_prob values in {0, 1}.
  explicit Bernoulli(Logits logits, bool validate_args = false, std::string name = "Bernoulli");
  explicit Bernoulli(Probs probs, bool validate_args = false, std::string name = "Bernoulli");

  bool has_logits() const { return from_logits_; }
  Var logits() const;  ///< as given, or log(p) - log1p(-p)
  Var probs() const;   ///< as given, or sigmoid(logits)

  std::string type_name() const override { return "Bernoulli"; }
  DType dtype() const override { return parameter_.dtype(); }
  Shape batch_shape() const override { return parameter_.shape(); }
  Shape event_shape() const override { return {}; }

  /// 1 where u < p for u ~ U[0, 1) (not differentiable).
  Var sample(const Shape& sample_shape, const RandomStream& stream) const override;
  /// x log p + (1 - x) log(1 - p); also defined for x in [0, 1] (cross-entropy with soft labels).
  Var log_prob(const Var& value) const override;
  Var cdf(const Var& value) const override;
  Var mean() const override;
  Var variance() const override;
  Var entropy() const override;

 private:
  Var checked_parameter() const;
  DeferredVar parameter_;
  bool from_logits_;
};

}  // namespace tapir::distributions
