// Flipout (Wen et al. 2018, as in tfp.experimental.nn):
//   y = act( apply(x, μ_K) + r_out ⊙ apply(r_in ⊙ x, σ_K ⊙ ε) + b_s )
// with θ = (K_s, b_s) = posterior_value_fn(posterior) drawn first (it feeds only the KL and the
// bias), then r_in, then ε ~ N(0,1) of kernel shape (one draw for the whole batch), then r_out.
// sign_mode: elementwise (default; signs of x's and y's shapes) or per_example_channel (one sign
// per example and channel, broadcast over space). The kernel posterior must be Normal (under
// Independent wrappers): Flipout perturbs around its loc with its scale.
//
//   tfn::ConvolutionTransposeVariationalFlipout layer(64, 32, 5,
//       tfn::ConvolutionTransposeOptions().rank(2).strides(2).padding("SAME").seed(42));
#pragma once
#include <tapir/layers/kernel_bias_family.hpp>
#include <tapir/layers/variational_layer.hpp>

namespace tapir::nn {

/// The Flipout estimator: the forward pass above for any kernel-bias geometry.
class Flipout : public VariationalKernelBiasLayer {
 public:
  static constexpr const char* kClassSuffix = "VariationalFlipout";

 protected:
  Flipout(const std::string& class_name, const KernelBiasArgs& args);
  Var estimate(const Var& x, const KernelCall& call, const Var& kernel, const Var& bias) override;
  /// The convolutions' fused op applies the activation while it writes y (affine layers and
  /// per-example-channel signs compose it after).
  Var estimate_activated(const Var& x, const KernelCall& call, const Var& kernel, const Var& bias,
                         const FusedActivation& activation) override;
  void check_posterior() const override;
};

using AffineVariationalFlipout = AffineLayer<Flipout>;
using ConvolutionVariationalFlipout = ConvolutionLayer<Flipout>;
using ConvolutionVariationalFlipoutV2 = ConvolutionV2Layer<Flipout>;
using ConvolutionTransposeVariationalFlipout = ConvolutionTransposeLayer<Flipout>;

}  // namespace tapir::nn
