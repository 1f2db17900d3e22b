// The kernel-bias layers, written once per geometry and instantiated once per estimator.
//
//   geometry                     kernel                                   options
//   AffineLayer<E>               batch_shape + [input_size, output_size]  AffineOptions
//   ConvolutionLayer<E>          [filter..., input_size, output_size]     ConvolutionOptions
//   ConvolutionV2Layer<E>        flat [prod(filter)*input_size, output_size]
//   ConvolutionTransposeLayer<E> flat [prod(filter)*input_size, output_size]  ConvolutionTransposeOptions
//
// E is the estimator: KernelBiasLayer (deterministic, kernel_bias.hpp), Flipout (flipout.hpp),
// Reparameterization (reparameterization.hpp) or LocalReparameterization
// (local_reparameterization.hpp, affine only). Each of those headers gives the public TFP names
// as aliases, e.g.
//   using ConvolutionTransposeVariationalFlipout = ConvolutionTransposeLayer<Flipout>;
// and a layer's class_name() is that public name. A geometry only turns its constructor
// arguments into a KernelApplier; the estimator owns the variables and the forward pass.
#pragma once
#include <optional>
#include <string>

#include <tapir/layers/kernel_bias.hpp>

namespace tapir::nn {

template <class Estimator>
class AffineLayer : public Estimator {
 public:
  AffineLayer(std::size_t input_size, std::size_t output_size, const AffineOptions& options = {});
};

/// Kernel [filter..., c_in, c_out] (TFP's v1 convolution).
template <class Estimator>
class ConvolutionLayer : public Estimator {
 public:
  ConvolutionLayer(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                   const ConvolutionOptions& options = {});
  /// filter_shape taken from options.filter_shape.
  ConvolutionLayer(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options);

 protected:
  ConvolutionLayer(bool flat_kernel, std::size_t input_size, std::size_t output_size,
                   std::optional<IntOrList> filter_shape, const ConvolutionOptions& options);
};

/// The same convolution with TFP's flat kernel [prod(filter)*c_in, c_out].
template <class Estimator>
class ConvolutionV2Layer : public ConvolutionLayer<Estimator> {
 public:
  ConvolutionV2Layer(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                     const ConvolutionOptions& options = {});
  ConvolutionV2Layer(std::size_t input_size, std::size_t output_size, const ConvolutionOptions& options);
};

/// Flat kernel [prod(filter)*c_in, c_out] (row = tap*c_in + ci, taps row-major over the filter
/// dims); docs/semantics/convolution.md: rank 1-3, output_padding honoured.
template <class Estimator>
class ConvolutionTransposeLayer : public Estimator {
 public:
  ConvolutionTransposeLayer(std::size_t input_size, std::size_t output_size, IntOrList filter_shape,
                            const ConvolutionTransposeOptions& options = {});
  ConvolutionTransposeLayer(std::size_t input_size, std::size_t output_size,
                            const ConvolutionTransposeOptions& options);

 private:
  struct FilterMaybeInOptions {};  // tags the one constructor both public ones delegate to
  ConvolutionTransposeLayer(FilterMaybeInOptions, std::optional<IntOrList> filter_shape, std::size_t input_size,
                            std::size_t output_size, const ConvolutionTransposeOptions& options);
};

/// "Affine" + "VariationalFlipout" etc.: the public name of geometry `base` with estimator E.
template <class Estimator>
std::string kernel_bias_class_name(const char* base, bool v2 = false) {
  return std::string(base) + Estimator::kClassSuffix + (v2 ? "V2" : "");
}

}  // namespace tapir::nn
