// Flipout layers (Wen et al. 2018, as in tfp.experimental.nn):
//   y = act( apply(x, μ_K) + r_out ⊙ apply(r_in ⊙ x, σ_K ⊙ ε) + b_s )
// with θ = (K_s, b_s) = posterior_value_fn(posterior) drawn first (it feeds only the KL and the
// bias), then r_in, then ε ~ N(0,1) of kernel shape (one draw for the whole batch), then r_out.
// sign_mode: elementwise (default; signs of x's and y's shapes) or per_example_channel (one sign
// per example and channel, broadcast over space).
//
//   tfn::ConvolutionTransposeVariationalFlipout layer(64, 32, 5,
//       tfn::ConvolutionTransposeOptions().rank(2).strides(2).padding("SAME").seed(42));
#pragma once
#include "variational_layer.hpp"

namespace tapir::nn {

class AffineVariationalFlipout : public VariationalKernelBiasLayer {
 public:
  AffineVariationalFlipout(std::size_t input_size, std::size_t output_size, const AffineOptions& options = {});
};

/// Kernel [filter..., c_in, c_out] (TFP's v1 convolution).
class ConvolutionVariationalFlipout : public VariationalKernelBiasLayer {
 public:
  ConvolutionVariationalFlipout(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                                const ConvolutionOptions& options = {});
  ConvolutionVariationalFlipout(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options);

 protected:
  ConvolutionVariationalFlipout(const char* class_name, bool flat, std::size_t input_size, std::size_t output_size,
                                std::optional<IntOrList> filter_shape, const ConvolutionOptions& options);
};

/// The same with TFP's flat kernel [prod(filter)*c_in, c_out].
class ConvolutionVariationalFlipoutV2 : public ConvolutionVariationalFlipout {
 public:
  ConvolutionVariationalFlipoutV2(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                                  const ConvolutionOptions& options = {});
  ConvolutionVariationalFlipoutV2(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options);
};

/// Kernel [prod(filter)*c_in, c_out]; conv-transpose semantics of shared/spec/semantics.md.
class ConvolutionTransposeVariationalFlipout : public VariationalKernelBiasLayer {
 public:
  ConvolutionTransposeVariationalFlipout(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                                         const ConvolutionTransposeOptions& options = {});
  ConvolutionTransposeVariationalFlipout(std::size_t input_size, std::size_t output_size,
                                         const ConvolutionTransposeOptions& options);

 private:
  ConvolutionTransposeVariationalFlipout(std::size_t input_size, std::size_t output_size,
                                         std::optional<IntOrList> filter_shape,
                                         const ConvolutionTransposeOptions& options, int);
};

}  // namespace tapir::nn
