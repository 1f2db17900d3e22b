// Reparameterization layers: y = act(apply(x, K_s) + b_s) with (K_s, b_s) = posterior_value_fn(posterior)
// drawn once per call (one kernel for the whole batch), and AffineVariationalReparameterizationLocal
// (local reparameterization: y ~ N(x·μ_K + μ_b, x²·σ_K² + σ_b²), one draw per output element;
// when the bias posterior is not Normal the sampled bias is added to the mean instead).
#pragma once
#include "variational_layer.hpp"

namespace tapir::nn {

class AffineVariationalReparameterization : public VariationalKernelBiasLayer {
 public:
  AffineVariationalReparameterization(std::size_t input_size, std::size_t output_size, const AffineOptions& options = {});
};

/// Kernel [filter..., c_in, c_out] (TFP's v1 convolution).
class ConvolutionVariationalReparameterization : public VariationalKernelBiasLayer {
 public:
  ConvolutionVariationalReparameterization(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                                const ConvolutionOptions& options = {});
  ConvolutionVariationalReparameterization(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options);

 protected:
  ConvolutionVariationalReparameterization(const char* class_name, bool flat, std::size_t input_size, std::size_t output_size,
                                std::optional<IntOrList> filter_shape, const ConvolutionOptions& options);
};

/// The same with TFP's flat kernel [prod(filter)*c_in, c_out].
class ConvolutionVariationalReparameterizationV2 : public ConvolutionVariationalReparameterization {
 public:
  ConvolutionVariationalReparameterizationV2(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                                  const ConvolutionOptions& options = {});
  ConvolutionVariationalReparameterizationV2(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options);
};

/// Kernel [prod(filter)*c_in, c_out]; conv-transpose semantics of shared/spec/semantics.md.
class ConvolutionTransposeVariationalReparameterization : public VariationalKernelBiasLayer {
 public:
  ConvolutionTransposeVariationalReparameterization(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                                         const ConvolutionTransposeOptions& options = {});
  ConvolutionTransposeVariationalReparameterization(std::size_t input_size, std::size_t output_size,
                                         const ConvolutionTransposeOptions& options);

 private:
  ConvolutionTransposeVariationalReparameterization(std::size_t input_size, std::size_t output_size,
                                         std::optional<IntOrList> filter_shape,
                                         const ConvolutionTransposeOptions& options, int);
};

class AffineVariationalReparameterizationLocal : public VariationalKernelBiasLayer {
 public:
  AffineVariationalReparameterizationLocal(std::size_t input_size, std::size_t output_size,
                                           const AffineOptions& options = {});
};

}  // namespace tapir::nn
