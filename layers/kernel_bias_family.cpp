// Constructors of the kernel-bias geometries, and their instantiations: one per estimator that
// supports the geometry (local reparameterization is affine only). The constructors are defined
// here only, so a user's program always links these instances instead of compiling its own.
#include <tapir/layers/kernel_bias_family.hpp>

#include <tapir/layers/deterministic.hpp>
#include <tapir/layers/flipout.hpp>
#include <tapir/layers/local_reparameterization.hpp>
#include <tapir/layers/reparameterization.hpp>

namespace tapir::nn {

template <class E>
AffineLayer<E>::AffineLayer(std::size_t input_size, std::size_t output_size, const AffineOptions& options)
    : E(kernel_bias_class_name<E>("Affine"), options) {
  this->build(KernelApplier::affine(input_size, output_size, options.batch_shape(), this->who()), options);
}

template <class E>
ConvolutionLayer<E>::ConvolutionLayer(bool flat_kernel, std::size_t input_size, std::size_t output_size,
                                      std::optional<IntOrList> filter_shape, const ConvolutionOptions& options)
    : E(kernel_bias_class_name<E>("Convolution", flat_kernel), options) {
  this->build(KernelApplier::convolution(input_size, output_size, filter_shape, options, flat_kernel, this->who()),
              options);
}
template <class E>
ConvolutionLayer<E>::ConvolutionLayer(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                                      const ConvolutionOptions& options)
    : ConvolutionLayer(false, input_size, output_size, std::move(filter_shape), options) {}
template <class E>
ConvolutionLayer<E>::ConvolutionLayer(std::size_t input_size, std::size_t output_size,
                                      const ConvolutionOptions& options)
    : ConvolutionLayer(false, input_size, output_size, std::nullopt, options) {}

template <class E>
ConvolutionV2Layer<E>::ConvolutionV2Layer(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                                          const ConvolutionOptions& options)
    : ConvolutionLayer<E>(true, input_size, output_size, std::move(filter_shape), options) {}
template <class E>
ConvolutionV2Layer<E>::ConvolutionV2Layer(std::size_t input_size, std::size_t output_size,
                                          const ConvolutionOptions& options)
    : ConvolutionLayer<E>(true, input_size, output_size, std::nullopt, options) {}

template <class E>
ConvolutionTransposeLayer<E>::ConvolutionTransposeLayer(FilterMaybeInOptions, std::optional<IntOrList> filter_shape,
                                                        std::size_t input_size, std::size_t output_size,
                                                        const ConvolutionTransposeOptions& options)
    : E(kernel_bias_class_name<E>("ConvolutionTranspose"), options) {
  this->build(KernelApplier::conv_transpose(input_size, output_size, filter_shape, options, options.output_padding(),
                                            this->who()),
              options);
}
template <class E>
ConvolutionTransposeLayer<E>::ConvolutionTransposeLayer(std::size_t input_size, std::size_t output_size,
                                                        IntOrList filter_shape,
                                                        const ConvolutionTransposeOptions& options)
    : ConvolutionTransposeLayer(FilterMaybeInOptions{}, std::move(filter_shape), input_size, output_size, options) {}
template <class E>
ConvolutionTransposeLayer<E>::ConvolutionTransposeLayer(std::size_t input_size, std::size_t output_size,
                                                        const ConvolutionTransposeOptions& options)
    : ConvolutionTransposeLayer(FilterMaybeInOptions{}, std::nullopt, input_size, output_size, options) {}

template class AffineLayer<KernelBiasLayer>;
template class ConvolutionLayer<KernelBiasLayer>;
template class ConvolutionV2Layer<KernelBiasLayer>;
template class ConvolutionTransposeLayer<KernelBiasLayer>;

template class AffineLayer<Flipout>;
template class ConvolutionLayer<Flipout>;
template class ConvolutionV2Layer<Flipout>;
template class ConvolutionTransposeLayer<Flipout>;

template class AffineLayer<Reparameterization>;
template class ConvolutionLayer<Reparameterization>;
template class ConvolutionV2Layer<Reparameterization>;
template class ConvolutionTransposeLayer<Reparameterization>;

template class AffineLayer<LocalReparameterization>;

}  // namespace tapir::nn
