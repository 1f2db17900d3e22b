// tfn::ConvolutionTranspose: y = act(conv_transpose(x, kernel) + bias) with TFP's flat kernel
// [prod(filter)*c_in, c_out] (row r = (tap)*c_in + ci, taps row-major over the filter dims);
// tapir's conv-transpose semantics (shared/spec/semantics.md): rank 1-3, output_padding honoured.
#pragma once
#include "kernel_bias.hpp"

namespace tapir::nn {

class ConvolutionTranspose : public KernelBiasLayer {
 public:
  ConvolutionTranspose(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                       const ConvolutionTransposeOptions& options = {});
  ConvolutionTranspose(std::size_t input_size, std::size_t output_size, const ConvolutionTransposeOptions& options);

 private:
  ConvolutionTranspose(std::size_t input_size, std::size_t output_size, std::optional<IntOrList> filter_shape,
                       const ConvolutionTransposeOptions& options, int);
};

}  // namespace tapir::nn
