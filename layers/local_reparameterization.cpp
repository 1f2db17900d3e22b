#include <tapir/layers/local_reparameterization.hpp>

#include <tapir/core/ops.hpp>

namespace tapir::nn {

LocalReparameterization::LocalReparameterization(const std::string& class_name, const KernelBiasArgs& args)
    : VariationalKernelBiasLayer(class_name, args, /*uses_sign_mode=*/false) {}

void LocalReparameterization::check_posterior() const { posterior_normal(0, true); }

Var LocalReparameterization::estimate(const Var& x, const KernelCall& call, const Var&, const Var& bias) {
  const RandomStream s_noise = seeds_.next();
  const auto q = posterior_normal(0, true);
  Var mean = applier_.apply(x, q->loc(), call);
  Var variance = applier_.apply(square(x), square(q->scale()), call);
  const auto qb = posterior_normal(1, false);
  if (qb && bias.defined()) {
    mean = mean + qb->loc();
    variance = variance + square(qb->scale());
  } else if (bias.defined()) {
    mean = mean + bias;
  }
  const Tensor noise = random::normal(mean.shape(), dtype_, s_noise, 0.0, 1.0,
                                      ExampleOffsetGuard::first_element(mean.shape()));
  return mean + sqrt(variance) * constant(noise);
}

}  // namespace tapir::nn
