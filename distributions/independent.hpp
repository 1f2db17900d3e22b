// Independent(distribution, reinterpreted_batch_ndims) — tfd.Independent: the rightmost
// `reinterpreted_batch_ndims` batch dims of `distribution` become event dims, so log_prob sums
// over them. The kernel posterior of a layer is Independent(Normal(loc, scale), rank(kernel)).
#pragma once
#include <optional>

#include <tapir/distributions/distribution.hpp>

namespace tapir::distributions {

class Independent : public Distribution {
 public:
  /// reinterpreted_batch_ndims unset = all batch dims of `distribution` (TFP's default).
  /// ValueError if it exceeds the batch rank of `distribution`.
  Independent(DistributionPtr distribution,
              std::optional<std::size_t> reinterpreted_batch_ndims = std::nullopt,
              bool validate_args = false, std::string name = "Independent");

  const DistributionPtr& distribution() const { return distribution_; }
  std::size_t reinterpreted_batch_ndims() const { return ndims_; }

  std::string type_name() const override { return "Independent"; }
  DType dtype() const override { return distribution_->dtype(); }
  Shape batch_shape() const override;
  Shape event_shape() const override;
  bool is_reparameterized() const override { return distribution_->is_reparameterized(); }

  Var sample(const Shape& sample_shape, const RandomStream& stream) const override;
  Var log_prob(const Var& value) const override;
  Var mean() const override;
  Var variance() const override;
  Var stddev() const override;
  Var entropy() const override;

 private:
  DistributionPtr distribution_;
  std::size_t ndims_;
};

/// The distribution under any number of Independent wrappers (itself if not an Independent):
/// how a Flipout layer reaches the Normal inside its kernel posterior.
DistributionPtr peel_independent(const DistributionPtr& d);

}  // namespace tapir::distributions
