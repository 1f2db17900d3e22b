// MixtureSameFamily(Categorical mixture, components) — tfd.MixtureSameFamily: the components'
// rightmost batch dim (size K) indexes the mixture components. Batch shape = the components'
// batch shape without that dim; event shape = the components' event shape.
// The layers' spike-and-slab prior is this mixture of Categorical(Probs{[½, ½]}) and
// Normal(0, [1, 2000]), with a fused log_prob (ScaleMixtureOfTwoNormals, scale_mixture.hpp).
#pragma once
#include <memory>

#include <tapir/distributions/categorical.hpp>

namespace tapir::distributions {

class MixtureSameFamily : public Distribution {
 public:
  /// ShapeError unless the components have a batch dim of size K = mixture.num_categories() and
  /// the mixture's batch shape broadcasts to the components' other batch dims; TypeError on dtypes.
  MixtureSameFamily(std::shared_ptr<Categorical> mixture_distribution, DistributionPtr components_distribution,
                    bool validate_args = false, std::string name = "MixtureSameFamily");

  const std::shared_ptr<Categorical>& mixture_distribution() const { return mixture_; }
  const DistributionPtr& components_distribution() const { return components_; }

  std::string type_name() const override { return "MixtureSameFamily"; }
  DType dtype() const override { return components_->dtype(); }
  Shape batch_shape() const override { return batch_shape_; }
  Shape event_shape() const override { return components_->event_shape(); }

  /// Draws every component and the class, then selects (gradients reach the chosen component's
  /// parameters; the class choice itself is not differentiable, so not reparameterized).
  Var sample(const Shape& sample_shape, const RandomStream& stream) const override;
  /// log Σ_k w_k p_k(x) by log-sum-exp over log w_k + log p_k(x): finite (value and gradient)
  /// wherever one component's log density is finite, e.g. ½N(0,1) + ½N(0,2000) at |x| = 1e4.
  Var log_prob(const Var& value) const override;
  /// Σ_k w_k F_k(x) (scalar events only).
  Var cdf(const Var& value) const override;
  Var mean() const override;      ///< Σ_k w_k μ_k
  Var variance() const override;  ///< Σ_k w_k (σ_k² + (μ_k - μ)²), the law of total variance

 private:
  /// Mixture weights (or log-weights) shaped to broadcast against component moments B + [K] + E.
  Var weights_for_components(const Var& w) const;
  std::shared_ptr<Categorical> mixture_;
  DistributionPtr components_;
  Shape batch_shape_;
};

}  // namespace tapir::distributions
