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
// tapir additions: sign_mode (Flipout only), divergence_fn (what losses() holds after a call;
// default losses::kl_divergence_monte_carlo), seed on deterministic layers (fixes their
// initial values).
// `method` and `index_dtype` are validated (TFP's allowed values) and have no effect: tapir has
// one conv-transpose engine (GEMM + col2im) for every stride and dilation, and no index tensors.
// Options that a layer would not use are errors, not silently ignored: e.g. make_posterior_fn on
// a deterministic layer, sign_mode on a Reparameterization layer.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <tapir/core/conv.hpp>
#include <tapir/core/var.hpp>

#include <tapir/layers/initializers.hpp>
#include <tapir/layers/util.hpp>

namespace tapir::nn {

using Activation = std::function<Var(const Var&)>;

/// How Flipout draws its sign vectors.
enum class SignMode {
  elementwise,          ///< r_in of x's shape, r_out of y's shape (TFP experimental.nn, bayesian-torch)
  per_example_channel,  ///< one sign per example and channel, broadcast over space (Wen et al. 2018, tfp.layers)
};
const char* sign_mode_name(SignMode m);

/// A layer's divergence term from (posterior, prior, θ): kl_divergence_monte_carlo by default.
using DivergenceFn = std::function<Var(const JointDistribution& posterior,
                                       const JointDistribution& prior, const std::vector<Var>& value)>;

/// Arguments every kernel-bias layer takes.
struct KernelBiasArgs {
  Initializer kernel_initializer_;
  Initializer bias_initializer_;
  MakeDistributionFn make_posterior_fn_;
  MakeDistributionFn make_prior_fn_;
  PosteriorValueFn posterior_value_fn_;
  UnpackWeightsFn unpack_weights_fn_;
  MakeKernelBiasFn make_kernel_bias_fn_;
  DType dtype_ = DType::float32;
  Activation activation_fn_;
  std::optional<std::uint64_t> seed_;
  bool validate_args_ = false;
  std::string name_;
  std::optional<SignMode> sign_mode_;
  DivergenceFn divergence_fn_;
};

template <class D>
struct KernelBiasSetters : KernelBiasArgs {
  D& kernel_initializer(Initializer v) { kernel_initializer_ = std::move(v); return self(); }
  D& bias_initializer(Initializer v) { bias_initializer_ = std::move(v); return self(); }
  D& make_posterior_fn(MakeDistributionFn v) { make_posterior_fn_ = std::move(v); return self(); }
  D& make_prior_fn(MakeDistributionFn v) { make_prior_fn_ = std::move(v); return self(); }
  D& posterior_value_fn(PosteriorValueFn v) { posterior_value_fn_ = std::move(v); return self(); }
  D& unpack_weights_fn(UnpackWeightsFn v) { unpack_weights_fn_ = std::move(v); return self(); }
  D& make_kernel_bias_fn(MakeKernelBiasFn v) { make_kernel_bias_fn_ = std::move(v); return self(); }
  D& dtype(DType v) { dtype_ = v; return self(); }
  D& activation_fn(Activation v) { activation_fn_ = std::move(v); return self(); }
  D& seed(std::uint64_t v) { seed_ = v; return self(); }
  D& validate_args(bool v) { validate_args_ = v; return self(); }
  D& name(std::string v) { name_ = std::move(v); return self(); }
  D& sign_mode(SignMode v) { sign_mode_ = v; return self(); }
  D& divergence_fn(DivergenceFn v) { divergence_fn_ = std::move(v); return self(); }

 private:
  D& self() { return static_cast<D&>(*this); }
};

/// The convolution arguments (both conv families).
struct ConvArgs {
  std::optional<IntOrList> filter_shape_;  ///< or the constructor's filter_shape argument
  int rank_ = 2;
  IntOrList strides_ = 1;
  std::string padding_ = "VALID";
  IntOrList dilations_ = 1;
  std::string method_ = "auto";       ///< accepted, no effect
  std::string index_dtype_ = "int32";  ///< accepted, no effect
};

template <class D>
struct ConvSetters : ConvArgs {
  D& filter_shape(IntOrList v) { filter_shape_ = std::move(v); return self(); }
  D& rank(int v) { rank_ = v; return self(); }
  D& strides(IntOrList v) { strides_ = std::move(v); return self(); }
  D& padding(std::string v) { padding_ = std::move(v); return self(); }
  D& dilations(IntOrList v) { dilations_ = std::move(v); return self(); }
  D& method(std::string v) { method_ = std::move(v); return self(); }
  D& index_dtype(std::string v) { index_dtype_ = std::move(v); return self(); }

 private:
  D& self() { return static_cast<D&>(*this); }
};

struct AffineOptions : KernelBiasSetters<AffineOptions> {
  Shape batch_shape_;  ///< kernel batch_shape + [in, out]; deterministic Affine only (TFP)
  AffineOptions& batch_shape(Shape v) { batch_shape_ = std::move(v); return *this; }
};

struct ConvolutionOptions : KernelBiasSetters<ConvolutionOptions>, ConvSetters<ConvolutionOptions> {
  using KernelBiasSetters<ConvolutionOptions>::name;
};

struct ConvolutionTransposeOptions : KernelBiasSetters<ConvolutionTransposeOptions>,
                                     ConvSetters<ConvolutionTransposeOptions> {
  std::optional<IntOrList> output_padding_;  ///< unset: inferred; each value must be < the stride
  ConvolutionTransposeOptions& output_padding(IntOrList v) { output_padding_ = std::move(v); return *this; }
};

}  // namespace tapir::nn
