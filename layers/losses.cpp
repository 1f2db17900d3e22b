#include <tapir/layers/losses.hpp>

#include <algorithm>

#include <tapir/core/ops.hpp>
#include <tapir/distributions/kl.hpp>

#include <tapir/layers/variational_layer.hpp>

namespace tapir::nn::losses {

Var kl_divergence_monte_carlo(const JointDistribution& q, const JointDistribution& p,
                              const std::vector<Var>& w) {
  if (w.empty()) throw ValueError("kl_divergence_monte_carlo: no posterior value (call the layer first)");
  return distributions::kl_divergence_monte_carlo(q, p, w);
}

Var kl_divergence_exact(const JointDistribution& q, const JointDistribution& p,
                        const std::vector<Var>&) {
  return distributions::kl_divergence(q, p);
}

Var negloglik(const Var& x, const Var& y, const std::function<Var(const Var&, const Var&)>& log_prob_fn, int axis) {
  return -mean(log_prob_fn(x, y), {axis});
}

namespace {

// The module and every submodule, each once (the module first).
std::vector<const Layer*> all_layers(const Layer& module) {
  std::vector<const Layer*> out{&module};
  for (const auto& m : module.submodules()) out.push_back(m.get());
  return out;
}

const VariationalLayer* called_variational(const Layer& l) {
  const auto* v = dynamic_cast<const VariationalLayer*>(&l);
  if (v && v->posterior_value().empty())
    throw ValueError("compute_extra_loss: " + v->class_name() + " '" + v->name() +
                     "' has not been called yet (its posterior_value is empty)");
  return v;
}

void add(Var& total, const Var& term) { total = total.defined() ? total + term : term; }

// A zero of the model's dtype (that of its first variable; float32 for a model without any).
Var zero_like_model(const Layer& module) {
  const auto vars = module.variables();
  return constant(Tensor::scalar(0.0, vars.empty() ? DType::float32 : vars.front().dtype()));
}

}  // namespace

Var compute_extra_loss(const Layer& module) {
  Var total;
  for (const Layer* l : all_layers(module)) {
    const VariationalLayer* v = called_variational(*l);
    if (v && v->divergence_skipped())
      throw ValueError("compute_extra_loss: the last call of " + v->class_name() + " '" + v->name() +
                       "' ran under a NoGradGuard, so it computed no divergence (call it with gradients, inside a "
                       "KeepDivergenceGuard, or pass loss_fn to recompute)");
    for (const Var& term : l->own_losses()) add(total, term);
  }
  return total.defined() ? total : zero_like_model(module);
}

Var compute_extra_loss(const Layer& module, const DivergenceFn& loss_fn) {
  Var total;
  for (const Layer* l : all_layers(module)) {
    if (const VariationalLayer* v = called_variational(*l)) add(total, loss_fn(*v->posterior(), *v->prior(), v->posterior_value()));
    else
      for (const Var& term : l->own_losses()) add(total, term);
  }
  return total.defined() ? total : zero_like_model(module);
}

KLWeight::KLWeight(std::size_t num_examples_per_epoch, std::size_t warmup_steps)
    : n_(num_examples_per_epoch), warmup_(warmup_steps) {
  if (n_ == 0) throw ValueError("KLWeight: num_examples_per_epoch must be >= 1, got 0");
}

double KLWeight::operator()(std::size_t step) const {
  const double ramp = warmup_ == 0 ? 1.0 : std::min(1.0, static_cast<double>(step) / static_cast<double>(warmup_));
  return ramp / static_cast<double>(n_);
}

}  // namespace tapir::nn::losses
