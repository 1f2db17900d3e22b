// tfn::losses: divergences and the extra loss of a model.
//
//   Var loss = nll + tfn::losses::compute_extra_loss(model) * kl_weight(step);
//
// compute_extra_loss(module) sums the divergence terms every layer reachable from `module` left
// in its losses() during its last forward pass: built-in variational layers (their
// divergence_fn, computed once in the call) and user-written layers alike. With an explicit
// loss_fn, variational layers instead contribute loss_fn(posterior, prior, posterior_value)
// (TFP's contract, passed all the way down: TFP drops it inside nested Sequentials), and other
// layers still their losses(). docs/semantics/variational_layers.md.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

#include <tapir/layers/layer.hpp>
#include <tapir/layers/variational_options.hpp>


namespace tapir::nn::losses {

/// log q(w) - log p(w) at the single sample w (θ of the forward pass); differentiable through w.
Var kl_divergence_monte_carlo(const JointDistribution& q, const JointDistribution& p,
                              const std::vector<Var>& w);
/// KL(q || p) in closed form (Normal posterior against a Normal prior); NotImplementedError
/// otherwise (e.g. against the default spike-and-slab prior). `w` is unused.
Var kl_divergence_exact(const JointDistribution& q, const JointDistribution& p,
                        const std::vector<Var>& w);

/// -mean(log_prob_fn(x, y), axis): TFP's negloglik(x, y, model_fn, axis) with the model's
/// log-density of y given x supplied as one function.
Var negloglik(const Var& x, const Var& y, const std::function<Var(const Var& x, const Var& y)>& log_prob_fn,
              int axis = -1);

/// Σ of losses() over `module` and its submodules. ValueError naming the layer when a
/// variational layer has not been called, or its last call ran under a NoGradGuard (no
/// divergence was computed then; see KeepDivergenceGuard). No terms: a zero of the model's dtype.
Var compute_extra_loss(const Layer& module);
/// Σ of loss_fn(q, p, θ) over variational layers, plus losses() of the other layers.
Var compute_extra_loss(const Layer& module, const DivergenceFn& loss_fn);

/// The weight of the KL term per optimisation step: (1 / num_examples_per_epoch), times a linear
/// warm-up factor min(1, step / warmup_steps) when warmup_steps > 0 (step counts from 0, so the
/// first step has weight 0). With a per-example mean NLL this makes the loss the per-example
/// negative ELBO (TFP's `kl / num_examples_per_epoch` guidance).
class KLWeight {
 public:
  explicit KLWeight(std::size_t num_examples_per_epoch, std::size_t warmup_steps = 0);
  double operator()(std::size_t step) const;
  std::size_t num_examples_per_epoch() const { return n_; }
  std::size_t warmup_steps() const { return warmup_; }

 private:
  std::size_t n_, warmup_;
};

}  // namespace tapir::nn::losses
