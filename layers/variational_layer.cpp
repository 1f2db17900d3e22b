#include "variational_layer.hpp"

#include <tapir/core/ops.hpp>
#include <tapir/distributions/independent.hpp>

#include "losses.hpp"

namespace tapir::nn {

const char* sign_mode_name(SignMode m) {
  return m == SignMode::elementwise ? "elementwise" : "per_example_channel";
}

VariationalLayer::VariationalLayer(const std::string& class_name, const KernelBiasArgs& args)
    : Layer(class_name, args.name_, args.validate_args_),
      posterior_value_fn_(args.posterior_value_fn_ ? args.posterior_value_fn_ : PosteriorValueFn(util::sample_posterior)),
      unpack_weights_fn_(args.unpack_weights_fn_ ? args.unpack_weights_fn_
                                                 : UnpackWeightsFn(util::unpack_kernel_and_bias)),
      divergence_fn_(args.divergence_fn_ ? args.divergence_fn_ : DivergenceFn(losses::kl_divergence_monte_carlo)),
      activation_fn_(args.activation_fn_), dtype_(args.dtype_), seeds_(args.seed_, name()) {}

VariationalKernelBiasLayer::VariationalKernelBiasLayer(const std::string& class_name, Estimator estimator,
                                                       const KernelBiasArgs& args)
    : VariationalLayer(class_name, args), estimator_(estimator) {
  check_options_used(args, /*variational=*/true, estimator == Estimator::flipout, who());
  if (args.sign_mode_) sign_mode_ = *args.sign_mode_;
}

void VariationalKernelBiasLayer::build(KernelApplier applier, const KernelBiasArgs& args) {
  applier_ = std::move(applier);
  const MakeDistributionFn make_posterior =
      args.make_posterior_fn_ ? args.make_posterior_fn_ : MakeDistributionFn(util::make_kernel_bias_posterior_mvn_diag);
  const MakeDistributionFn make_prior =
      args.make_prior_fn_ ? args.make_prior_fn_ : MakeDistributionFn(util::make_kernel_bias_prior_spike_and_slab);
  const RandomStream init = seeds_.fork("init").next();
  const std::size_t bnd = applier_.kernel_batch_ndims();
  TrackedDistribution q = make_posterior(applier_.kernel_shape(), applier_.bias_shape(), args.kernel_initializer_,
                              args.bias_initializer_, bnd, bnd, dtype_, name() + "/kernel", name() + "/bias", init);
  TrackedDistribution p = make_prior(applier_.kernel_shape(), applier_.bias_shape(), args.kernel_initializer_, args.bias_initializer_,
                      bnd, bnd, dtype_, name() + "/prior_kernel", name() + "/prior_bias", init.fold_in("prior"));
  if (!q.distribution || !p.distribution)
    throw ValueError(who() + ": make_posterior_fn/make_prior_fn returned no distribution");
  posterior_ = q.distribution;
  prior_ = p.distribution;
  for (const auto& v : q.variables) add_variable(v);
  for (const auto& v : p.variables) add_variable(v);
  if (estimator_ != Estimator::reparameterization) posterior_normal(0, true);  // fail now, not at the first call
}

std::shared_ptr<distributions::Normal> VariationalKernelBiasLayer::posterior_normal(std::size_t part,
                                                                                 bool required) const {
  std::shared_ptr<distributions::Normal> n;
  if (part < posterior_->size())
    n = std::dynamic_pointer_cast<distributions::Normal>(distributions::peel_independent(posterior_->part(part)));
  if (!n && required)
    throw TypeError(who() + ": " + (estimator_ == Estimator::flipout ? "Flipout" : "local reparameterization") +
                    " needs a Normal " + (part == 0 ? "kernel" : "bias") + " posterior (under Independent), got " +
                    (part < posterior_->size() ? posterior_->part(part)->type_name() : std::string("no such part")));
  if (n && n->loc().shape() != (part == 0 ? applier_.kernel_shape() : applier_.bias_shape()))
    throw ShapeError(who() + ": the " + (part == 0 ? "kernel" : "bias") + " posterior's loc has shape " +
                     shape_str(n->loc().shape()) + ", expected " +
                     shape_str(part == 0 ? applier_.kernel_shape() : applier_.bias_shape()));
  return n;
}

Var VariationalKernelBiasLayer::operator()(const Var& x) {
  applier_.check_input(x, dtype_, who());
  if (validate_args()) check_finite_input(x, who());
  // Draws, in TFP's order: (1) θ, then for Flipout (2) r_in, (3) ε, (4) r_out;
  // for local reparameterization (2) the output noise.
  const RandomStream s_theta = seeds_.next();
  std::vector<Var> theta = posterior_value_fn_(*posterior_, s_theta);
  auto [kernel, bias] = unpack_weights_fn_(theta);
  Var y;
  if (estimator_ == Estimator::reparameterization) {
    y = kernel.defined() ? applier_.apply(x, kernel) : x;
    if (bias.defined()) y = y + bias;
  } else if (estimator_ == Estimator::flipout) {
    const RandomStream s_in = seeds_.next(), s_eps = seeds_.next(), s_out = seeds_.next();
    if (kernel.defined()) {
      const auto q = posterior_normal(0, true);
      const Var loc = q->loc(), scale = q->scale();
      const Tensor r_in = random::rademacher(applier_.sign_shape(x.shape(), sign_mode_), dtype_, s_in);
      const Tensor eps = random::normal(applier_.kernel_shape(), dtype_, s_eps);
      const Var perturbation = applier_.apply(x * constant(r_in), scale * constant(eps));
      const Tensor r_out = random::rademacher(applier_.sign_shape(perturbation.shape(), sign_mode_), dtype_, s_out);
      y = applier_.apply(x, loc) + perturbation * constant(r_out);
    } else {
      y = x;
    }
    if (bias.defined()) y = y + bias;
  } else {  // local reparameterization: y ~ N(x·μ_K (+ μ_b), x²·σ_K² (+ σ_b²))
    const RandomStream s_noise = seeds_.next();
    const auto q = posterior_normal(0, true);
    const Var scale = q->scale();
    Var m = applier_.apply(x, q->loc());
    Var v = applier_.apply(square(x), square(scale));
    const auto qb = posterior_normal(1, false);
    if (qb && bias.defined()) {
      m = m + qb->loc();
      v = v + square(qb->scale());
    } else if (bias.defined()) {
      m = m + bias;
    }
    y = m + sqrt(v) * constant(random::normal(m.shape(), dtype_, s_noise));
  }
  if (activation_fn_) y = activation_fn_(y);
  posterior_value_ = std::move(theta);
  own_losses_ = {divergence_fn_(*posterior_, *prior_, posterior_value_)};
  return y;
}

}  // namespace tapir::nn
