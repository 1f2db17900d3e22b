// Options for the kernel-bias layers, one struct per family, serving every rank and every
// estimator of that family (libtorch's chained-setter pattern, TFP's argument names):
//   AffineOptions                  Affine, AffineVariational{Flipout,Reparameterization,ReparameterizationLocal}
//   ConvolutionOptions             Convolution(V2), ConvolutionVariational{Flipout,Reparameterization}(V2)
//   ConvolutionTransposeOptions    ConvolutionTranspose, ConvolutionTransposeVariational{Flipout,Reparameterization}
//
//   tfn::ConvolutionTransposeOptions().rank(2).strides(2).padding("SAME").seed(42).activation_fn(tapir::relu)
//
// Defaults are TFP's; a null function means "TFP's default":
//   kernel_initializer  glorot_uniform          bias_initializer   zeros
//   make_posterior_fn   util::make_kernel_bias_posterior_mvn_diag
//   make_prior_fn       util::make_kernel_bias_prior_spike_and_slab
//   posterior_value_fn  util::sample_posterior (Distribution.sample)
//   unpack_weights_fn   util::unpack_kernel_and_bias
//   make_kernel_bias_fn util::make_kernel_bias (deterministic layers only)
//   dtype float32, activation_fn none, seed unset (fresh entropy), validate_args false,
//   name "" (the class name, made unique), rank 2, strides 1, padding "VALID", dilations 1,
//   output_padding unset (inferred), method "auto", index_dtype "int32".
// use_bias true (Keras' name; false: no bias variables, no bias posterior or prior part).
// tapir additions: sign_mode (Flipout only), divergence_fn (what losses() holds after a call;
// default losses::kl_divergence_monte_carlo), seed on deterministic layers (fixes their
// initial values).
// `method` and `index_dtype` are validated (TFP's allowed values) and have no effect: tapir has
// no index tensors and chooses its engine itself — the implicit GEMM of core/kernels/conv_gemm.*
// for every stride and dilation, or the direct kernels of core/kernels/conv_thin.* when the thin
// side has at most kThinChannels channels (docs/semantics/convolution.md).
// Options that a layer would not use are errors, not silently ignored: e.g. make_posterior_fn on
// a deterministic layer, sign_mode on a Reparameterization layer.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <tapir/core/conv.hpp>
#include <tapir/core/options.hpp>
#include <tapir/core/var.hpp>

#include <tapir/layers/initializers.hpp>
#include <tapir/layers/util.hpp>

namespace tapir::nn {

using Activation = std::function<Var(const Var&)>;

/// tapir::leaky_relu(x, negative_slope) as an activation_fn. The Flipout convolution layers
/// recognise it (and tapir::relu passed as a function) and apply it inside their fused op while
/// each output tile is in cache, with the same values and gradients; any other callable (a lambda
/// calling tapir::leaky_relu, say) runs as a separate op after the layer's estimate.
struct LeakyRelu {
  double negative_slope = 0.2;  ///< Keras/TF's default, as tapir::leaky_relu's
  Var operator()(const Var& x) const;
};

/// The activation a fused op can apply for `f`: LeakyRelu with a slope >= 0, or tapir::relu;
/// none (FusedActivation{}) for anything else.
FusedActivation fused_activation(const Activation& f);

/// How Flipout draws its sign vectors.
enum class SignMode {
  elementwise,          ///< r_in of x's shape, r_out of y's shape (TFP experimental.nn, bayesian-torch)
  per_example_channel,  ///< one sign per example and channel, broadcast over space (Wen et al. 2018, tfp.layers)
};
const char* sign_mode_name(SignMode m);

/// A layer's divergence term from (posterior, prior, θ): kl_divergence_monte_carlo by default.
using DivergenceFn = std::function<Var(const JointDistribution& posterior,
                                       const JointDistribution& prior, const std::vector<Var>& value)>;

/// Arguments every kernel-bias layer takes: the getters and storage (core/options.hpp explains
/// the split); KernelBiasSetters adds the chained setters.
struct KernelBiasArgs {
  TAPIR_GETTER(Initializer, kernel_initializer);
  TAPIR_GETTER(Initializer, bias_initializer);
  TAPIR_GETTER(MakeDistributionFn, make_posterior_fn);
  TAPIR_GETTER(MakeDistributionFn, make_prior_fn);
  TAPIR_GETTER(PosteriorValueFn, posterior_value_fn);
  TAPIR_GETTER(UnpackWeightsFn, unpack_weights_fn);
  TAPIR_GETTER(MakeKernelBiasFn, make_kernel_bias_fn);
  TAPIR_GETTER(DType, dtype) = DType::float32;
  TAPIR_GETTER(Activation, activation_fn);
  TAPIR_OPTIONAL_GETTER(std::uint64_t, seed);
  TAPIR_GETTER(bool, validate_args) = false;
  TAPIR_GETTER(std::string, name);
  TAPIR_OPTIONAL_GETTER(SignMode, sign_mode);
  TAPIR_GETTER(DivergenceFn, divergence_fn);
  TAPIR_GETTER(bool, use_bias) = true;

 public:
};

template <class D>
struct KernelBiasSetters : KernelBiasArgs {
  using Self = D;
  TAPIR_SETTER(KernelBiasArgs, Initializer, kernel_initializer)
  TAPIR_SETTER(KernelBiasArgs, Initializer, bias_initializer)
  TAPIR_SETTER(KernelBiasArgs, MakeDistributionFn, make_posterior_fn)
  TAPIR_SETTER(KernelBiasArgs, MakeDistributionFn, make_prior_fn)
  TAPIR_SETTER(KernelBiasArgs, PosteriorValueFn, posterior_value_fn)
  TAPIR_SETTER(KernelBiasArgs, UnpackWeightsFn, unpack_weights_fn)
  TAPIR_SETTER(KernelBiasArgs, MakeKernelBiasFn, make_kernel_bias_fn)
  TAPIR_SETTER(KernelBiasArgs, DType, dtype)
  TAPIR_SETTER(KernelBiasArgs, Activation, activation_fn)
  TAPIR_SETTER(KernelBiasArgs, std::uint64_t, seed)
  TAPIR_SETTER(KernelBiasArgs, bool, validate_args)
  TAPIR_SETTER(KernelBiasArgs, std::string, name)
  TAPIR_SETTER(KernelBiasArgs, SignMode, sign_mode)
  TAPIR_SETTER(KernelBiasArgs, DivergenceFn, divergence_fn)
  TAPIR_SETTER(KernelBiasArgs, bool, use_bias)
};

/// The convolution arguments (both conv families); filter_shape may instead be the
/// constructor's argument. method and index_dtype are accepted and have no effect.
struct ConvArgs {
  TAPIR_OPTIONAL_GETTER(IntOrList, filter_shape);
  TAPIR_GETTER(int, rank) = 2;
  TAPIR_GETTER(IntOrList, strides) = 1;
  TAPIR_GETTER(std::string, padding) = "VALID";
  TAPIR_GETTER(IntOrList, dilations) = 1;
  TAPIR_GETTER(std::string, method) = "auto";
  TAPIR_GETTER(std::string, index_dtype) = "int32";

 public:
};

template <class D>
struct ConvSetters : ConvArgs {
  using Self = D;
  TAPIR_SETTER(ConvArgs, IntOrList, filter_shape)
  TAPIR_SETTER(ConvArgs, int, rank)
  TAPIR_SETTER(ConvArgs, IntOrList, strides)
  TAPIR_SETTER(ConvArgs, std::string, padding)
  TAPIR_SETTER(ConvArgs, IntOrList, dilations)
  TAPIR_SETTER(ConvArgs, std::string, method)
  TAPIR_SETTER(ConvArgs, std::string, index_dtype)
};

struct AffineOptions : KernelBiasSetters<AffineOptions> {
  /// kernel batch_shape + [in, out]; deterministic Affine only (TFP)
  TAPIR_ARG(Shape, batch_shape);

 public:
};

struct ConvolutionOptions : KernelBiasSetters<ConvolutionOptions>, ConvSetters<ConvolutionOptions> {
  using KernelBiasSetters<ConvolutionOptions>::name;
};

struct ConvolutionTransposeOptions : KernelBiasSetters<ConvolutionTransposeOptions>,
                                     ConvSetters<ConvolutionTransposeOptions> {
  using KernelBiasSetters<ConvolutionTransposeOptions>::name;
  /// unset: inferred; each value must be < the stride
  TAPIR_OPTIONAL_ARG(IntOrList, output_padding);

 public:
};

}  // namespace tapir::nn
