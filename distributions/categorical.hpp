// Categorical(logits | probs) — tfd.Categorical over classes 0..K-1, K = the last dim of the
// parameter. Batch shape = parameter shape without its last dim; scalar events. Class indices are
// stored as floating-point values of the distribution's dtype (tapir tensors are float only).
#pragma once
#include <tapir/distributions/logits_probs.hpp>

namespace tapir::distributions {

class Categorical : public Distribution {
 public:
  /// validate_args: probs >= 0 and summing to 1 (within sqrt(machine epsilon)) over the last axis.
  explicit Categorical(Logits logits, bool validate_args = false, std::string name = "Categorical");
  explicit Categorical(Probs probs, bool validate_args = false, std::string name = "Categorical");

  std::size_t num_categories() const { return num_categories_; }
  bool has_logits() const { return from_logits_; }
  /// The parameter as given, or derived from the other one: logits = log(probs), probs = softmax(logits).
  Var logits() const;
  Var probs() const;
  /// Normalised log-probabilities [batch..., K] (log_softmax of the logits).
  Var log_probs() const;

  std::string type_name() const override { return "Categorical"; }
  DType dtype() const override { return parameter_.dtype(); }
  Shape batch_shape() const override { return batch_shape_; }
  Shape event_shape() const override { return {}; }

  /// Class indices by inversion of the cumulative probabilities (not differentiable).
  Var sample(const Shape& sample_shape, const RandomStream& stream) const override;
  /// log p(k); ValueError if some k is not an integer in [0, K).
  Var log_prob(const Var& value) const override;
  Var entropy() const override;

 private:
  Var checked_parameter() const;
  DeferredVar parameter_;
  bool from_logits_;
  std::size_t num_categories_ = 0;
  Shape batch_shape_;
};

}  // namespace tapir::distributions
