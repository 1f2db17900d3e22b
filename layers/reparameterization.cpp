#include <tapir/layers/reparameterization.hpp>

#include <tapir/core/ops.hpp>

namespace tapir::nn {

Reparameterization::Reparameterization(const std::string& class_name, const KernelBiasArgs& args)
    : VariationalKernelBiasLayer(class_name, args, /*uses_sign_mode=*/false) {}

Var Reparameterization::estimate(const Var& x, const KernelCall& call, const Var& kernel, const Var& bias) {
  const Var y = kernel.defined() ? applier_.apply(x, kernel, call) : x;
  return bias.defined() ? y + bias : y;
}

}  // namespace tapir::nn
