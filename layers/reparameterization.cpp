#include "reparameterization.hpp"

#define TAPIR_ESTIMATOR reparameterization
#define TAPIR_SUFFIX Reparameterization
#include "variational_classes.inc"

namespace tapir::nn {

AffineVariationalReparameterizationLocal::AffineVariationalReparameterizationLocal(std::size_t input_size,
                                                                                   std::size_t output_size,
                                                                                   const AffineOptions& options)
    : VariationalKernelBiasLayer("AffineVariationalReparameterizationLocal", Estimator::local_reparameterization,
                                 options) {
  if (!options.batch_shape_.empty())
    throw ValueError(who() + ": batch_shape is only supported by the deterministic Affine layer");
  build(KernelApplier::affine(input_size, output_size, {}, who()), options);
}

}  // namespace tapir::nn
