// The Distribution base class (tfd.Distribution) and DeferredVar, the parameter type that lets a
// distribution recompute `scale = softplus(rho) + 1e-5` at every use.
//
// Shapes follow TFP: a draw with `sample_shape` S from a distribution of batch shape B and event
// shape E has shape S + B + E; log_prob(x) of such an x has shape S + B (x broadcasts against
// B + E). Everything is built from differentiable tapir ops, so gradients with respect to the
// parameters come from the tape: log_prob(x) for maximum likelihood and KL terms, and sample()
// for reparameterized (pathwise) gradients where `is_reparameterized()`.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <tapir/core/random.hpp>
#include <tapir/core/var.hpp>

namespace tapir::distributions {

/// A distribution parameter: either a fixed Var, or a function that rebuilds the Var on every
/// use (TFP's DeferredTensor / TransformedVariable). The tape frees a graph after backward, so a
/// parameter computed from trainable leaves — `softplus(rho) + 1e-5` — must be recomputed for
/// each training step; a deferred parameter does that without rebuilding the distribution.
///   tfd::Normal posterior(loc, [rho] { return tapir::softplus(rho) + 1e-5; });
/// Shape and dtype are taken at construction (one evaluation without recording) and a later
/// evaluation that changes them is a ShapeError.
class DeferredVar {
 public:
  DeferredVar() = default;
  DeferredVar(Var value);  // NOLINT: a Var is the common case, so it converts implicitly
  template <class F, class = std::enable_if_t<std::is_convertible<std::invoke_result_t<F&>, Var>::value>>
  DeferredVar(F recompute) : DeferredVar(std::function<Var()>(std::move(recompute)), 0) {}

  /// The parameter's current value (a fresh graph node each call when deferred; inside an
  /// EvaluateOnce on this thread, the same node for every call in the same gradient mode).
  Var get() const;

  /// While one lives on a thread, each deferred parameter is computed once per gradient mode:
  /// later get()s return the same Var, one graph node whose gradient sums every use (the same
  /// gradient as separate nodes, up to rounding). A variational layer's call holds one: its
  /// posterior scale, softplus(rho) + 1e-5, feeds the draw, the Flipout perturbation and the
  /// KL term, which would otherwise be three nodes and three gradient passes over every
  /// weight. Inside a scope, recompute functions must be pure functions of variables that do
  /// not change (no optimizer step; a value whose graph a backward has freed is recomputed).
  /// A scope opened inside another has its own values and restores the outer one's on exit;
  /// scopes are stack objects.
  class EvaluateOnce {
   public:
    EvaluateOnce();
    ~EvaluateOnce();
    EvaluateOnce(const EvaluateOnce&) = delete;
    EvaluateOnce& operator=(const EvaluateOnce&) = delete;

   private:
    void* outer_;  // the enclosing scope's values on this thread, or null
  };
  bool defined() const { return fixed_.defined() || static_cast<bool>(recompute_); }
  bool is_deferred() const { return static_cast<bool>(recompute_); }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }

 private:
  DeferredVar(std::function<Var()> recompute, int);
  Var fixed_;
  std::function<Var()> recompute_;
  std::uint64_t id_ = 0;  // one per recompute function, kept by copies (which compute the same)
  Shape shape_;
  DType dtype_ = DType::float32;
};

class Distribution {
 public:
  virtual ~Distribution() = default;
  Distribution(const Distribution&) = default;
  Distribution& operator=(const Distribution&) = default;

  /// The class, as TFP spells it: "Normal", "Independent", ...
  virtual std::string type_name() const = 0;
  /// The instance name given at construction (defaults to the class name).
  virtual std::string name() const { return name_; }
  bool validate_args() const { return validate_args_; }

  virtual DType dtype() const = 0;
  virtual Shape batch_shape() const = 0;
  virtual Shape event_shape() const = 0;
  /// True if sample() is differentiable with respect to the parameters (loc + scale * eps).
  virtual bool is_reparameterized() const { return false; }

  /// A draw of shape sample_shape + batch_shape + event_shape. The stream fixes the result: the
  /// same stream gives the same sample (take a new one per draw, e.g. SeedStream::next()).
  virtual Var sample(const Shape& sample_shape, const RandomStream& stream) const = 0;
  /// Log density (or mass) at `value`, which broadcasts against batch_shape + event_shape.
  virtual Var log_prob(const Var& value) const = 0;
  Var prob(const Var& value) const;
  virtual Var cdf(const Var& value) const;
  virtual Var log_cdf(const Var& value) const;  ///< defaults to log(cdf(value))

  // Moments and entropy, of shape batch_shape (+ event_shape for the moments). A distribution
  // without a closed form throws NotImplementedError naming itself.
  virtual Var mean() const;
  virtual Var variance() const;
  virtual Var stddev() const;  ///< defaults to sqrt(variance())
  virtual Var entropy() const;

 protected:
  Distribution(std::string name, bool validate_args);
  /// "Normal 'posterior_kernel'": how messages name this distribution.
  std::string label() const;
  [[noreturn]] void not_implemented(const char* method, const char* why = "") const;
  /// ShapeError unless value broadcasts against batch_shape + event_shape; TypeError on dtype.
  void check_value(const Var& value, const char* method) const;

 private:
  std::string name_;
  bool validate_args_ = false;
};

using DistributionPtr = std::shared_ptr<Distribution>;

/// "Normal 'prior' batch_shape=[3] event_shape=[] float32".
std::string to_string(const Distribution& d);

/// a followed by b: how sample, batch and event shapes are put together.
Shape concat_shapes(const Shape& a, const Shape& b);

}  // namespace tapir::distributions
