#include "convolution.hpp"

namespace tapir::nn {

Convolution::Convolution(const char* class_name, bool flat, std::size_t input_size, std::size_t output_size,
                         std::optional<IntOrList> filter_shape, const ConvolutionOptions& options)
    : KernelBiasLayer(class_name, options) {
  build(KernelApplier::convolution(input_size, output_size, filter_shape, options, flat, who()), options);
}
Convolution::Convolution(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                         const ConvolutionOptions& options)
    : Convolution("Convolution", false, input_size, output_size, std::move(filter_shape), options) {}
Convolution::Convolution(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options)
    : Convolution("Convolution", false, input_size, output_size, std::nullopt, options) {}

ConvolutionV2::ConvolutionV2(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                             const ConvolutionOptions& options)
    : Convolution("ConvolutionV2", true, input_size, output_size, std::move(filter_shape), options) {}
ConvolutionV2::ConvolutionV2(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options)
    : Convolution("ConvolutionV2", true, input_size, output_size, std::nullopt, options) {}

}  // namespace tapir::nn
