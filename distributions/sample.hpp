// Sample(distribution, sample_shape) — tfd.Sample: `prod(sample_shape)` iid draws of
// `distribution` taken together as one event. Batch shape = the distribution's; event shape =
// sample_shape + its event shape. The layers' prior is Sample(spike_and_slab, kernel_shape).
#pragma once
#include <tapir/distributions/distribution.hpp>

namespace tapir::distributions {

class Sample : public Distribution {
 public:
  Sample(DistributionPtr distribution, Shape sample_shape, bool validate_args = false, std::string name = "Sample");

  const DistributionPtr& distribution() const { return distribution_; }
  const Shape& sample_shape() const { return sample_shape_; }

  std::string type_name() const override { return "Sample"; }
  DType dtype() const override { return distribution_->dtype(); }
  Shape batch_shape() const override { return distribution_->batch_shape(); }
  Shape event_shape() const override { return concat_shapes(sample_shape_, distribution_->event_shape()); }
  bool is_reparameterized() const override { return distribution_->is_reparameterized(); }

  Var sample(const Shape& sample_shape, const RandomStream& stream) const override;
  /// Σ over the iid copies of the distribution's log_prob.
  Var log_prob(const Var& value) const override;
  Var mean() const override;
  Var variance() const override;
  Var stddev() const override;
  Var entropy() const override;  ///< prod(sample_shape) * the distribution's entropy

 private:
  /// A batch + event moment B + E, repeated to B + sample_shape + E.
  Var repeat_over_sample_dims(const Var& moment) const;
  DistributionPtr distribution_;
  Shape sample_shape_;
};

}  // namespace tapir::distributions
