#include "convolution_transpose.hpp"

namespace tapir::nn {

ConvolutionTranspose::ConvolutionTranspose(std::size_t input_size, std::size_t output_size,
                                           std::optional<IntOrList> filter_shape,
                                           const ConvolutionTransposeOptions& options, int)
    : KernelBiasLayer("ConvolutionTranspose", options) {
  build(KernelApplier::conv_transpose(input_size, output_size, filter_shape, options, options.output_padding_, who()),
        options);
}
ConvolutionTranspose::ConvolutionTranspose(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                                           const ConvolutionTransposeOptions& options)
    : ConvolutionTranspose(input_size, output_size, std::optional<IntOrList>(std::move(filter_shape)), options, 0) {}
ConvolutionTranspose::ConvolutionTranspose(std::size_t input_size, std::size_t output_size,
                                           const ConvolutionTransposeOptions& options)
    : ConvolutionTranspose(input_size, output_size, std::nullopt, options, 0) {}

}  // namespace tapir::nn
