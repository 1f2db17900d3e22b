// Local reparameterization (Kingma et al. 2015; TFP's AffineVariationalReparameterizationLocal):
// instead of a kernel, each output element is drawn from the distribution it has under the
// posterior,
//   y ~ N( x·μ_K + μ_b,  x²·σ_K² + σ_b² ),   one draw (2) per output element after θ (1).
// When the bias posterior is not Normal, the sampled bias b_s is added to the mean instead.
// Affine only (for a convolution the output elements are not independent).
#pragma once
#include <tapir/layers/kernel_bias_family.hpp>
#include <tapir/layers/variational_layer.hpp>

namespace tapir::nn {

class LocalReparameterization : public VariationalKernelBiasLayer {
 public:
  static constexpr const char* kClassSuffix = "VariationalReparameterizationLocal";

 protected:
  LocalReparameterization(const std::string& class_name, const KernelBiasArgs& args);
  Var estimate(const Var& x, const KernelCall& call, const Var& kernel, const Var& bias) override;
  void check_posterior() const override;
};

using AffineVariationalReparameterizationLocal = AffineLayer<LocalReparameterization>;

}  // namespace tapir::nn
