#include <tapir/layers/variational_layer.hpp>
#include <tapir/core/anomaly.hpp>

#include <cmath>

#include <tapir/core/ops.hpp>
#include <tapir/distributions/independent.hpp>
#include <tapir/layers/losses.hpp>

namespace tapir::nn {

Var LeakyRelu::operator()(const Var& x) const { return tapir::leaky_relu(x, negative_slope); }

FusedActivation fused_activation(const Activation& f) {
  if (const auto* leaky = f.target<LeakyRelu>())
    if (leaky->negative_slope >= 0 && std::isfinite(leaky->negative_slope))
      return FusedActivation::leaky_relu(leaky->negative_slope);
  if (const auto* fn = f.target<Var (*)(const Var&)>())
    if (*fn == &tapir::relu) return FusedActivation::relu();
  return {};
}

namespace {
thread_local bool keep_divergence = false;
thread_local std::size_t example_offset = 0;
}  // namespace

ExampleOffsetGuard::ExampleOffsetGuard(std::size_t first_example) : previous_(example_offset) {
  example_offset = first_example;
}
ExampleOffsetGuard::~ExampleOffsetGuard() { example_offset = previous_; }
std::size_t ExampleOffsetGuard::current() { return example_offset; }
std::uint64_t ExampleOffsetGuard::first_element(const Shape& shape) {
  if (example_offset == 0 || shape.empty() || shape[0] == 0) return 0;
  std::uint64_t per_example = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) per_example *= shape[i];
  return static_cast<std::uint64_t>(example_offset) * per_example;
}

KeepDivergenceGuard::KeepDivergenceGuard() : previous_(keep_divergence) { keep_divergence = true; }
KeepDivergenceGuard::~KeepDivergenceGuard() { keep_divergence = previous_; }
bool KeepDivergenceGuard::active() { return keep_divergence; }

const char* sign_mode_name(SignMode m) {
  return m == SignMode::elementwise ? "elementwise" : "per_example_channel";
}

VariationalLayer::VariationalLayer(const std::string& class_name, const KernelBiasArgs& args)
    : Layer(class_name, args.name(), args.validate_args()),
      posterior_value_fn_(args.posterior_value_fn() ? args.posterior_value_fn() : PosteriorValueFn(util::sample_posterior)),
      unpack_weights_fn_(args.unpack_weights_fn() ? args.unpack_weights_fn()
                                                 : UnpackWeightsFn(util::unpack_kernel_and_bias)),
      divergence_fn_(args.divergence_fn() ? args.divergence_fn() : DivergenceFn(losses::kl_divergence_monte_carlo)),
      activation_fn_(args.activation_fn()), dtype_(args.dtype()), seeds_(args.seed(), name()) {}

void VariationalLayer::record_posterior_value(std::vector<Var> theta) {
  posterior_value_ = std::move(theta);
  divergence_skipped_ = !grad_enabled() && !KeepDivergenceGuard::active();
  if (divergence_skipped_) own_losses_.clear();
  else own_losses_ = {divergence_fn_(*posterior_, *prior_, posterior_value_)};
}

VariationalKernelBiasLayer::VariationalKernelBiasLayer(const std::string& class_name, const KernelBiasArgs& args,
                                                       bool uses_sign_mode)
    : VariationalLayer(class_name, args) {
  check_options_used(args, /*variational=*/true, uses_sign_mode, who());
  if (args.sign_mode()) sign_mode_ = *args.sign_mode();
}

void VariationalKernelBiasLayer::build(KernelApplier applier, const KernelBiasArgs& args) {
  if (applier.kernel_batch_ndims() > 0)
    throw ValueError(who() + ": batch_shape is only supported by the deterministic Affine layer");
  applier.check_tensor_limits(dtype_, who());
  applier_ = std::move(applier);
  const MakeDistributionFn make_posterior =
      args.make_posterior_fn() ? args.make_posterior_fn() : MakeDistributionFn(util::make_kernel_bias_posterior_mvn_diag);
  const MakeDistributionFn make_prior =
      args.make_prior_fn() ? args.make_prior_fn() : MakeDistributionFn(util::make_kernel_bias_prior_spike_and_slab);
  const RandomStream init = seeds_.fork("init").next();
  TrackedDistribution q = make_posterior(applier_.kernel_shape(), applier_.bias_shape(), args.kernel_initializer(),
                                         args.bias_initializer(), 0, 0, dtype_, name() + "/kernel", name() + "/bias", init);
  TrackedDistribution p = make_prior(applier_.kernel_shape(), applier_.bias_shape(), args.kernel_initializer(),
                                     args.bias_initializer(), 0, 0, dtype_, name() + "/prior_kernel",
                                     name() + "/prior_bias", init.fold_in("prior"));
  if (!q.distribution || !p.distribution)
    throw ValueError(who() + ": make_posterior_fn/make_prior_fn returned no distribution");
  if (!args.use_bias()) {  // keep only the kernel parts, and the variables not named after the bias
    const std::string bias_prefixes[2] = {name() + "/bias", name() + "/prior_bias"};
    for (TrackedDistribution* d : {&q, &p}) {
      if (d->distribution->size() != 2)
        throw ValueError(who() + ": use_bias(false) needs [kernel, bias] from make_posterior_fn/make_prior_fn, got " +
                         std::to_string(d->distribution->size()) + " parts");
      d->distribution = std::make_shared<JointDistribution>(std::vector<distributions::DistributionPtr>{
                                                                d->distribution->part(0)},
                                                            d->distribution->name());
      std::vector<Var> kept;
      for (const auto& v : d->variables)
        if (v.name().rfind(bias_prefixes[0], 0) != 0 && v.name().rfind(bias_prefixes[1], 0) != 0) kept.push_back(v);
      d->variables = kept;
    }
  }
  posterior_ = q.distribution;
  prior_ = p.distribution;
  for (const auto& v : q.variables) add_variable(v);
  for (const auto& v : p.variables) add_variable(v);
  check_posterior();
}

std::shared_ptr<distributions::Normal> VariationalKernelBiasLayer::posterior_normal(std::size_t part,
                                                                                 bool required) const {
  std::shared_ptr<distributions::Normal> n;
  if (part < posterior_->size())
    n = std::dynamic_pointer_cast<distributions::Normal>(distributions::peel_independent(posterior_->part(part)));
  if (!n && required)
    throw TypeError(who() + ": " + class_name() + " needs a Normal " + (part == 0 ? "kernel" : "bias") +
                    " posterior (under Independent), got " +
                    (part < posterior_->size() ? posterior_->part(part)->type_name() : std::string("no such part")));
  if (n && n->loc().shape() != (part == 0 ? applier_.kernel_shape() : applier_.bias_shape()))
    throw ShapeError(who() + ": the " + (part == 0 ? "kernel" : "bias") + " posterior's loc has shape " +
                     shape_str(n->loc().shape()) + ", expected " +
                     shape_str(part == 0 ? applier_.kernel_shape() : applier_.bias_shape()));
  return n;
}

Var VariationalKernelBiasLayer::operator()(const Var& x) {
  OpScope scope(name());
  // the posterior's deferred scales (softplus(rho) + 1e-5) feed the draw, the estimator and the
  // KL term: one graph node each for the whole call
  distributions::DeferredVar::EvaluateOnce once;
  const KernelCall call = applier_.check_input(x, dtype_, who());
  if (validate_args()) check_finite_input(x, who());
  std::vector<Var> theta = posterior_value_fn_(*posterior_, seeds_.next());  // draw (1): θ
  auto [kernel, bias] = unpack_weights_fn_(theta);
  const FusedActivation fused = fused_activation(activation_fn_);
  Var y = fused ? estimate_activated(x, call, kernel, bias, fused) : estimate(x, call, kernel, bias);
  if (activation_fn_ && !fused) y = activation_fn_(y);
  record_posterior_value(std::move(theta));
  return y;
}

}  // namespace tapir::nn
