#include <tapir/distributions/distribution.hpp>

#include <atomic>
#include <map>
#include <utility>

#include <tapir/core/ops.hpp>

namespace tapir::distributions {

DeferredVar::DeferredVar(Var value) : fixed_(std::move(value)) {
  if (fixed_.defined()) {
    shape_ = fixed_.shape();
    dtype_ = fixed_.dtype();
  }
}

namespace {
std::atomic<std::uint64_t> g_next_deferred_id{1};

// The open EvaluateOnce's values on this thread: (parameter id, gradient mode) -> Var.
struct OnceMemo {
  std::map<std::pair<std::uint64_t, bool>, Var> values;
};
thread_local OnceMemo* t_once = nullptr;
}  // namespace

DeferredVar::EvaluateOnce::EvaluateOnce() : outer_(t_once) { t_once = new OnceMemo; }

DeferredVar::EvaluateOnce::~EvaluateOnce() {
  delete t_once;
  t_once = static_cast<OnceMemo*>(outer_);
}

DeferredVar::DeferredVar(std::function<Var()> recompute, int)
    : recompute_(std::move(recompute)), id_(g_next_deferred_id.fetch_add(1, std::memory_order_relaxed)) {
  NoGradGuard no_grad;  // only the shape and dtype are wanted here
  const Var first = recompute_();
  if (!first.defined()) throw ValueError("DeferredVar: the recompute function returned an undefined Var");
  shape_ = first.shape();
  dtype_ = first.dtype();
}

Var DeferredVar::get() const {
  if (!recompute_) return fixed_;
  const std::pair<std::uint64_t, bool> key{id_, grad_enabled()};
  if (t_once) {
    auto it = t_once->values.find(key);
    if (it != t_once->values.end()) {
      const VarImpl* kept = it->second.impl();
      if (!kept->grad_fn || kept->grad_fn->backward) return it->second;
      t_once->values.erase(it);  // a backward ran inside the scope and freed its graph
    }
  }
  Var v = recompute_();
  if (!v.defined() || v.shape() != shape_ || v.dtype() != dtype_)
    throw ShapeError("DeferredVar: the recompute function first returned " + std::string(dtype_name(dtype_)) +
                     " " + shape_str(shape_) + ", now " +
                     (v.defined() ? std::string(dtype_name(v.dtype())) + " " + shape_str(v.shape())
                                  : std::string("an undefined Var")));
  if (t_once) t_once->values.emplace(key, v);
  return v;
}

Distribution::Distribution(std::string name, bool validate_args)
    : name_(std::move(name)), validate_args_(validate_args) {}

std::string Distribution::label() const { return type_name() + " '" + name() + "'"; }

void Distribution::not_implemented(const char* method, const char* why) const {
  throw NotImplementedError(label() + ": " + method + " is not implemented" +
                            (*why ? std::string(" (") + why + ")" : std::string()));
}

void Distribution::check_value(const Var& value, const char* method) const {
  if (!value.defined()) throw ValueError(label() + ": " + method + " got an undefined Var");
  if (value.dtype() != dtype())
    throw TypeError(label() + ": " + method + " value is " + dtype_name(value.dtype()) + " " +
                    shape_str(value.shape()) + ", the distribution is " + dtype_name(dtype()));
  const Shape full = concat_shapes(batch_shape(), event_shape());
  try {
    broadcast_shapes(value.shape(), full, method);
  } catch (const ShapeError&) {
    throw ShapeError(label() + ": " + method + " value of shape " + shape_str(value.shape()) +
                     " does not broadcast against batch_shape + event_shape = " + shape_str(full));
  }
}

Var Distribution::prob(const Var& value) const { return exp(log_prob(value)); }
Var Distribution::cdf(const Var&) const { not_implemented("cdf"); }
Var Distribution::log_cdf(const Var& value) const { return log(cdf(value)); }
Var Distribution::mean() const { not_implemented("mean"); }
Var Distribution::variance() const { not_implemented("variance"); }
Var Distribution::stddev() const { return sqrt(variance()); }
Var Distribution::entropy() const { not_implemented("entropy"); }

std::string to_string(const Distribution& d) {
  return d.type_name() + " '" + d.name() + "' batch_shape=" + shape_str(d.batch_shape()) +
         " event_shape=" + shape_str(d.event_shape()) + " " + dtype_name(d.dtype());
}

Shape concat_shapes(const Shape& a, const Shape& b) {
  Shape out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

}  // namespace tapir::distributions
