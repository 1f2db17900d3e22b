#include <tapir/distributions/kl.hpp>

#include <map>
#include <mutex>

#include <tapir/core/ops.hpp>
#include <tapir/distributions/bernoulli.hpp>
#include <tapir/distributions/categorical.hpp>
#include <tapir/distributions/independent.hpp>
#include "internal.hpp"
#include <tapir/distributions/normal.hpp>
#include <tapir/distributions/rademacher.hpp>
#include <tapir/distributions/sample.hpp>

namespace tapir::distributions {

namespace {

// KL(N(μp, σp) ‖ N(μq, σq)) = ½((μp-μq)/σq)² + ½ expm1(2 log(σp/σq)) - log(σp/σq): the expm1 form
// keeps its precision when σp ≈ σq, where the textbook σp²/σq² - 1 cancels.
Var kl_normal_normal(const Normal& p, const Normal& q) {
  const Var scale_q = q.scale();
  const Var log_ratio = log(p.scale()) - log(scale_q);
  const Var gap = (p.loc() - q.loc()) / scale_q;
  const Var kl = square(gap) * 0.5 + expm1(log_ratio * 2.0) * 0.5 - log_ratio;
  return broadcast_to(kl, broadcast_shapes(p.batch_shape(), q.batch_shape(), "kl_divergence(Normal, Normal)"));
}

Var kl_independent_independent(const Independent& p, const Independent& q) {
  if (p.event_shape() != q.event_shape())
    throw ShapeError("kl_divergence: event shapes differ: " + to_string(p) + " vs " + to_string(q));
  if (p.reinterpreted_batch_ndims() != q.reinterpreted_batch_ndims())
    throw ValueError("kl_divergence: Independent with reinterpreted_batch_ndims " +
                     std::to_string(p.reinterpreted_batch_ndims()) + " vs " +
                     std::to_string(q.reinterpreted_batch_ndims()) + " (" + to_string(p) + " vs " + to_string(q) + ")");
  const Var inner = kl_divergence(*p.distribution(), *q.distribution());
  const std::size_t n = p.reinterpreted_batch_ndims();
  return n == 0 ? inner : sum(inner, internal::rightmost_axes(n));
}

Var kl_sample_sample(const Sample& p, const Sample& q) {
  if (p.sample_shape() != q.sample_shape())
    throw ShapeError("kl_divergence: Sample shapes differ: " + shape_str(p.sample_shape()) + " vs " +
                     shape_str(q.sample_shape()));
  return kl_divergence(*p.distribution(), *q.distribution()) * static_cast<double>(numel(p.sample_shape()));
}

Var kl_bernoulli_bernoulli(const Bernoulli& p, const Bernoulli& q) {
  // Σ over x in {0,1} of p(x)(log p(x) - log q(x)), with the logs as softplus of the logits
  const Var lp = p.logits(), lq = q.logits();
  const Var prob_p = sigmoid(lp);
  return prob_p * (softplus(-lq) - softplus(-lp)) + (1.0 - prob_p) * (softplus(lq) - softplus(lp));
}

Var kl_categorical_categorical(const Categorical& p, const Categorical& q) {
  if (p.num_categories() != q.num_categories())
    throw ShapeError("kl_divergence: " + to_string(p) + " has " + std::to_string(p.num_categories()) +
                     " categories, " + to_string(q) + " has " + std::to_string(q.num_categories()));
  const Var lp = p.log_probs();
  const Var probs = exp(lp);
  // terms with p_k = 0 contribute 0 (their log difference may be -inf - finite)
  const Var positive = constant(internal::mask(probs.value(), [](double v) { return v > 0; }));
  const Var zero = internal::scalar(0.0, p.dtype());
  const Var safe_lp = where(positive, lp, zero);
  return sum(where(positive, probs * (safe_lp - q.log_probs()), zero), {-1});
}

Var kl_rademacher_rademacher(const Rademacher& p, const Rademacher& q) {
  return constant(Tensor::zeros(broadcast_shapes(p.batch_shape(), q.batch_shape(), "kl_divergence"), p.dtype()));
}

using Key = std::pair<std::type_index, std::type_index>;

struct Registry {
  std::mutex mutex;
  std::map<Key, KLFunction> table;
};

template <class P, class Q, class F> void add(std::map<Key, KLFunction>& table, F kl) {
  table[{typeid(P), typeid(Q)}] = [kl](const Distribution& p, const Distribution& q) -> Var {
    return kl(static_cast<const P&>(p), static_cast<const Q&>(q));
  };
}

// Built-ins are added on first use rather than by static initialisers, which a static link
// could drop.
Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry;
    add<Normal, Normal>(reg->table, kl_normal_normal);
    add<Independent, Independent>(reg->table, kl_independent_independent);
    add<Sample, Sample>(reg->table, kl_sample_sample);
    add<Bernoulli, Bernoulli>(reg->table, kl_bernoulli_bernoulli);
    add<Categorical, Categorical>(reg->table, kl_categorical_categorical);
    add<Rademacher, Rademacher>(reg->table, kl_rademacher_rademacher);
    return reg;
  }();
  return *r;
}

KLFunction lookup(const Distribution& p, const Distribution& q) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto it = r.table.find({typeid(p), typeid(q)});
  return it == r.table.end() ? KLFunction() : it->second;
}

}  // namespace

void register_kl(std::type_index p_type, std::type_index q_type, KLFunction kl) {
  if (!kl) throw ValueError("register_kl: the KL function is empty");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.table[{p_type, q_type}] = std::move(kl);
}

bool has_kl(const Distribution& p, const Distribution& q) { return static_cast<bool>(lookup(p, q)); }

Var kl_divergence(const Distribution& p, const Distribution& q) {
  const KLFunction kl = lookup(p, q);  // called outside the lock: composite KLs recurse
  if (!kl)
    throw NotImplementedError("kl_divergence: no closed-form KL is registered for (" + p.type_name() + ", " +
                              q.type_name() + "): p = " + to_string(p) + ", q = " + to_string(q) +
                              "; use kl_divergence_monte_carlo, or register_kl<" + p.type_name() + ", " +
                              q.type_name() + ">");
  return kl(p, q);
}

Var kl_divergence(const DistributionPtr& p, const DistributionPtr& q) {
  if (!p || !q) throw ValueError("kl_divergence: null distribution");
  return kl_divergence(*p, *q);
}

Var kl_divergence(const JointDistributionSequential& p, const JointDistributionSequential& q) {
  if (p.size() != q.size())
    throw ValueError("kl_divergence: JointDistributionSequential '" + p.name() + "' has " +
                     std::to_string(p.size()) + " parts, '" + q.name() + "' has " + std::to_string(q.size()));
  Var total = kl_divergence(*p.part(0), *q.part(0));
  for (std::size_t i = 1; i < p.size(); ++i) total = total + kl_divergence(*p.part(i), *q.part(i));
  return total;
}

Var kl_divergence_monte_carlo(const Distribution& q, const Distribution& p, const Var& sample) {
  return q.log_prob(sample) - p.log_prob(sample);
}

Var kl_divergence_monte_carlo(const JointDistributionSequential& q, const JointDistributionSequential& p,
                              const std::vector<Var>& sample) {
  return q.log_prob(sample) - p.log_prob(sample);
}

}  // namespace tapir::distributions
