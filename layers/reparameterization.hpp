// Reparameterization (tfp.experimental.nn's *VariationalReparameterization):
//   y = act( apply(x, K_s) + b_s )   with (K_s, b_s) = posterior_value_fn(posterior)
// drawn once per call: one kernel for the whole batch, and θ is the only draw.
//
//   tfn::ConvolutionVariationalReparameterization conv(1, 32, 5, tfn::ConvolutionOptions().padding("SAME"));
#pragma once
#include <tapir/layers/kernel_bias_family.hpp>
#include <tapir/layers/variational_layer.hpp>

namespace tapir::nn {

/// The reparameterization estimator: the sampled weights themselves, for any geometry.
class Reparameterization : public VariationalKernelBiasLayer {
 public:
  static constexpr const char* kClassSuffix = "VariationalReparameterization";

 protected:
  Reparameterization(const std::string& class_name, const KernelBiasArgs& args);
  Var estimate(const Var& x, const KernelCall& call, const Var& kernel, const Var& bias) override;
};

using AffineVariationalReparameterization = AffineLayer<Reparameterization>;
using ConvolutionVariationalReparameterization = ConvolutionLayer<Reparameterization>;
using ConvolutionVariationalReparameterizationV2 = ConvolutionV2Layer<Reparameterization>;
using ConvolutionTransposeVariationalReparameterization = ConvolutionTransposeLayer<Reparameterization>;

}  // namespace tapir::nn
