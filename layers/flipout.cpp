#include <tapir/layers/flipout.hpp>

#include <tapir/core/ops.hpp>

namespace tapir::nn {

Flipout::Flipout(const std::string& class_name, const KernelBiasArgs& args)
    : VariationalKernelBiasLayer(class_name, args, /*uses_sign_mode=*/true) {}

void Flipout::check_posterior() const { posterior_normal(0, true); }

Var Flipout::estimate(const Var& x, const KernelCall& call, const Var& kernel, const Var& bias) {
  return estimate_activated(x, call, kernel, bias, FusedActivation{});
}

Var Flipout::estimate_activated(const Var& x, const KernelCall& call, const Var& kernel, const Var& bias,
                                const FusedActivation& activation) {
  // Draws (2) r_in, (3) ε, (4) r_out are taken even without a kernel, so the stream's position
  // after a call does not depend on the posterior_value_fn.
  const RandomStream s_in = seeds_.next(), s_eps = seeds_.next(), s_out = seeds_.next();
  if (!kernel.defined()) return activation(bias.defined() ? x + bias : x);
  const auto q = posterior_normal(0, true);
  const Shape in_signs = applier_.sign_shape(x.shape(), sign_mode_);
  // the signs as bits: the fused ops read them where they multiply (no ±1 tensor is written)
  const random::SignBits r_in = random::rademacher_bits(in_signs, s_in, ExampleOffsetGuard::first_element(in_signs));
  const Tensor eps = random::normal(applier_.kernel_shape(), dtype_, s_eps);
  const Shape out_signs = applier_.sign_shape(call.output_shape, sign_mode_);
  const random::SignBits r_out = random::rademacher_bits(out_signs, s_out, ExampleOffsetGuard::first_element(out_signs));
  // loc ⊛ x + r_out ⊙ ((scale ⊙ ε) ⊛ (r_in ⊙ x)) + bias
  return applier_.apply_flipout(x, q->loc(), q->scale() * constant(eps), r_in, r_out, call, bias, activation);
}

}  // namespace tapir::nn
