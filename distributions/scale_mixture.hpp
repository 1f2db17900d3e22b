// ScaleMixtureOfTwoNormals: w·N(0, s1) + (1-w)·N(0, s2) per element — the spike-and-slab prior
// of the variational layers (w = ½, s1 = 1, s2 = 2000; Blundell et al. 2015). It is a
// MixtureSameFamily(Categorical([w, 1-w]), Normal(0, [s1, s2])) in every respect (type_name,
// components, sampling, moments) except log_prob, which is one fused elementwise op instead of
// the generic broadcast-to-[..., 2] + logsumexp graph: per element
//   lp = m + log(e^(a-m) + e^(b-m)),   a, b the components' log-densities, m = max(a, b)
//   d lp/dx = -(π_a / s1² + π_b / s2²) x,   π the components' responsibilities,
// finite in value and gradient at any |x| (e.g. 1e6). The layers evaluate it on every weight at
// every step (the MC KL), where the generic graph cost ~18% of a Flipout conv-transpose step.
#pragma once
#include <string>

#include <tapir/distributions/mixture_same_family.hpp>

namespace tapir::distributions {

class ScaleMixtureOfTwoNormals : public MixtureSameFamily {
 public:
  /// ValueError unless 0 < w1 < 1 and both scales are positive.
  ScaleMixtureOfTwoNormals(DType dtype, double w1, double s1, double s2,
                           std::string name = "ScaleMixtureOfTwoNormals");
  Var log_prob(const Var& value) const override;
  double weight() const { return w1_; }
  double scale1() const { return s1_; }
  double scale2() const { return s2_; }

 private:
  double w1_, s1_, s2_;
};

}  // namespace tapir::distributions
