// The deterministic kernel-bias layers, y = act(apply(x, kernel) + bias) (TFP's Affine,
// Convolution, ConvolutionV2, ConvolutionTranspose): channels-last, rank 1-3 convolutions with
// any leading batch shape; kernel layouts in kernel_bias_family.hpp. TFP's kernel batch_shape is
// supported by Affine only.
//
//   tfn::ConvolutionTranspose up(64, 32, 5, tfn::ConvolutionTransposeOptions().strides(2).padding("SAME"));
#pragma once
#include <tapir/layers/kernel_bias_family.hpp>

namespace tapir::nn {

using Affine = AffineLayer<KernelBiasLayer>;
using Convolution = ConvolutionLayer<KernelBiasLayer>;
using ConvolutionV2 = ConvolutionV2Layer<KernelBiasLayer>;
using ConvolutionTranspose = ConvolutionTransposeLayer<KernelBiasLayer>;

}  // namespace tapir::nn
