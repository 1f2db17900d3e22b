#include "losses.hpp"

#include <algorithm>

#include <tapir/core/ops.hpp>
#include <tapir/distributions/kl.hpp>

#include "variational_layer.hpp"

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
void accumulate(const Layer& m, const DivergenceFn& loss_fn, Var& total) {
  if (const auto* v = dynamic_cast<const VariationalLayer*>(&m)) {
    if (v->posterior_value().empty())
      throw ValueError("compute_extra_loss: " + v->class_name() + " '" + v->name() +
                       "' has not been called yet (its posterior_value is empty)");
    Var l = loss_fn(*v->posterior(), *v->prior(), v->posterior_value());
    total = total.defined() ? total + l : l;
    return;
  }
  for (const auto& c : m.children()) accumulate(*c, loss_fn, total);
}
}  // namespace

Var compute_extra_loss(const Layer& module, const DivergenceFn& loss_fn) {
  Var total;
  accumulate(module, loss_fn, total);
  return total.defined() ? total : constant(Tensor::scalar(0.0, DType::float32));
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
