// KL divergences: a registry of closed forms keyed by the (dynamic) types of both arguments, as
// tfd.kl_divergence / tfd.RegisterKL, and the single-sample Monte Carlo estimate the layers use.
//
// Built in: Normal‖Normal, Independent‖Independent and Sample‖Sample (through the underlying
// distributions' KL), Bernoulli‖Bernoulli, Categorical‖Categorical, Rademacher‖Rademacher, and
// JointDistributionSequential pairs part by part. Any other pair is a NotImplementedError that
// names both types (e.g. Normal‖MixtureSameFamily: no closed form — use the Monte Carlo estimate).
#pragma once
#include <functional>
#include <typeindex>

#include <tapir/distributions/distribution.hpp>
#include <tapir/distributions/joint.hpp>

namespace tapir::distributions {

using KLFunction = std::function<Var(const Distribution& p, const Distribution& q)>;

/// Registers (or replaces) the KL for the exact dynamic types (p_type, q_type). Thread-safe.
void register_kl(std::type_index p_type, std::type_index q_type, KLFunction kl);

/// Typed form: register_kl<Normal, Laplace>([](const Normal& p, const Laplace& q) { ... }).
template <class P, class Q, class F> void register_kl(F kl) {
  register_kl(typeid(P), typeid(Q), [kl](const Distribution& p, const Distribution& q) -> Var {
    return kl(static_cast<const P&>(p), static_cast<const Q&>(q));  // the lookup matched the types exactly
  });
}

/// True if a KL is registered for the dynamic types of p and q.
bool has_kl(const Distribution& p, const Distribution& q);

/// KL(p ‖ q) = E_p[log p(X) - log q(X)], of the broadcast batch shape of p and q.
/// NotImplementedError naming both types if no closed form is registered.
Var kl_divergence(const Distribution& p, const Distribution& q);
Var kl_divergence(const DistributionPtr& p, const DistributionPtr& q);
/// Σ over parts of KL(p.part(i) ‖ q.part(i)); ValueError if the part counts differ.
Var kl_divergence(const JointDistributionSequential& p, const JointDistributionSequential& q);

/// The single-sample estimate log q(s) - log p(s) at a sample s drawn from q (TFP's
/// tfn.losses.kl_divergence_monte_carlo); with a reparameterized s its gradient is unbiased.
Var kl_divergence_monte_carlo(const Distribution& q, const Distribution& p, const Var& sample);
Var kl_divergence_monte_carlo(const JointDistributionSequential& q, const JointDistributionSequential& p,
                              const std::vector<Var>& sample);

}  // namespace tapir::distributions
