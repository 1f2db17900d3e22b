// tfn::Affine: y = act(x @ kernel + bias), kernel batch_shape + [input_size, output_size].
#pragma once
#include "kernel_bias.hpp"

namespace tapir::nn {

class Affine : public KernelBiasLayer {
 public:
  Affine(std::size_t input_size, std::size_t output_size, const AffineOptions& options = {});
};

}  // namespace tapir::nn
