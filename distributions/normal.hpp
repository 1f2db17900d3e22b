// Normal(loc, scale) — tfd.Normal. Batch shape = broadcast(loc.shape, scale.shape), scalar events.
#pragma once
#include <tapir/distributions/distribution.hpp>

namespace tapir::distributions {

class Normal : public Distribution {
 public:
  /// loc and scale must have the same dtype and broadcastable shapes (else TypeError/ShapeError).
  /// validate_args: scale > 0 everywhere, checked whenever scale is evaluated (ValueError).
  Normal(DeferredVar loc, DeferredVar scale, bool validate_args = false, std::string name = "Normal");
  /// Constant parameters of the given dtype.
  Normal(double loc, double scale, DType dtype = DType::float32, bool validate_args = false,
         std::string name = "Normal");

  /// The parameters as given (recomputed when deferred), not broadcast to the batch shape.
  Var loc() const;
  Var scale() const;

  std::string type_name() const override { return "Normal"; }
  DType dtype() const override { return loc_.dtype(); }
  Shape batch_shape() const override { return batch_shape_; }
  Shape event_shape() const override { return {}; }
  bool is_reparameterized() const override { return true; }

  /// loc + scale * eps with eps ~ N(0, 1) drawn from `stream` (Box–Muller, core/random.hpp).
  Var sample(const Shape& sample_shape, const RandomStream& stream) const override;
  Var log_prob(const Var& value) const override;
  Var cdf(const Var& value) const override;
  Var log_cdf(const Var& value) const override;
  Var mean() const override;
  Var variance() const override;
  Var stddev() const override;
  Var entropy() const override;

 private:
  DeferredVar loc_, scale_;
  Shape batch_shape_;
};

}  // namespace tapir::distributions
