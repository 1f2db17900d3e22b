#include "affine.hpp"

namespace tapir::nn {

Affine::Affine(std::size_t input_size, std::size_t output_size, const AffineOptions& options)
    : KernelBiasLayer("Affine", options) {
  build(KernelApplier::affine(input_size, output_size, options.batch_shape_, who()), options);
}

}  // namespace tapir::nn
