// tfn::Convolution (kernel [filter..., c_in, c_out], TFP's v1) and tfn::ConvolutionV2 (the same
// convolution with TFP's flat kernel [prod(filter)*c_in, c_out]); TF "convolution" semantics,
// channels-last, rank 1-3, any leading batch shape. TFP's kernel batch_shape for convolutions
// is not supported.
#pragma once
#include "kernel_bias.hpp"

namespace tapir::nn {

class Convolution : public KernelBiasLayer {
 public:
  Convolution(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
              const ConvolutionOptions& options = {});
  /// filter_shape taken from options.filter_shape.
  Convolution(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options);

 protected:
  Convolution(const char* class_name, bool flat, std::size_t input_size, std::size_t output_size,
              std::optional<IntOrList> filter_shape, const ConvolutionOptions& options);
};

class ConvolutionV2 : public Convolution {
 public:
  ConvolutionV2(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                const ConvolutionOptions& options = {});
  ConvolutionV2(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options);
};

}  // namespace tapir::nn
