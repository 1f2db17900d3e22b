// The tape: reverse-mode automatic differentiation.
//
// A Var is a handle to a value (Tensor) and, if it was computed from Vars that require
// gradients, to the Node that made it. A Node holds its inputs and a backward closure that maps
// the gradient of its output to gradients of its inputs — the op's forward and backward are
// written side by side in one function (see ops_*.cpp, or `custom_op` below for users).
//
// backward(loss) visits the nodes reachable from `loss` in reverse creation order (the tape
// order), accumulates gradients (fan-out adds up), and frees each node's closure and inputs
// right after running it, so a training step leaves nothing behind. Graph construction is
// per thread: NoGradGuard is thread-local and graphs built on different threads never meet.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <tapir/core/tensor.hpp>

namespace tapir {

struct VarImpl;
class Var;

/// Maps the gradient of an op's output to one gradient per input (undefined = no gradient).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::vector<std::shared_ptr<VarImpl>> inputs;
  BackwardFn backward;
  std::string op;
  std::uint64_t sequence = 0;  // creation order = position on the tape
  Tensor pending_grad;         // gradient of this node's output, summed over its consumers
  std::string scope;           // OpScope names when recorded (kept only in anomaly mode)
  Node();
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
};

/// Runs inside backward() when a leaf's gradient is complete for that backward (see
/// Var::add_grad_ready_hook).
using GradReadyHook = std::function<void(const Var& leaf)>;

struct VarImpl {
  Tensor value;
  Tensor grad;
  bool requires_grad = false;
  std::string name;
  std::shared_ptr<Node> grad_fn;  // null for leaves (parameters, constants)
  std::vector<std::pair<std::uint64_t, GradReadyHook>> grad_ready_hooks;  // (id, hook), leaves only
};

class Var {
 public:
  Var() = default;
  explicit Var(std::shared_ptr<VarImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return static_cast<bool>(impl_); }
  const Tensor& value() const;
  /// Accumulated gradient of a leaf that requires grad (undefined before any backward).
  const Tensor& grad() const;
  bool requires_grad() const;
  bool is_leaf() const;
  const std::string& name() const;
  const Shape& shape() const { return value().shape(); }
  DType dtype() const { return value().dtype(); }
  std::size_t ndim() const { return value().ndim(); }
  std::size_t size() const { return value().size(); }
  /// The value of a one-element Var as double.
  double item() const { return value().item(); }

  /// Clears the gradient (sets it undefined).
  void zero_grad();
  /// Replaces the value of a leaf (used by optimizers and loaders); shape and dtype must match.
  void set_value(const Tensor& v);
  /// Mutable access to a leaf's value buffer, for in-place updates by optimizers. The buffer is
  /// made unique first, so graphs recorded earlier keep the value they saw.
  Tensor& mutable_value();
  /// Mutable access to the gradient buffer (e.g. for clipping); undefined if no gradient yet.
  Tensor& mutable_grad();

  /// PyTorch's register_post_accumulate_grad_hook, for a trainable leaf: during every later
  /// backward() that reaches this leaf, `hook(leaf)` runs once, right after the last
  /// contribution of that backward has been added to grad() — no node still to run can add to
  /// it, so the gradient is final (it may be undefined when every contribution was). A
  /// backward that does not reach the leaf does not call the hook. Hooks run on the thread of
  /// backward(), in the order added, under the NoGradGuard of the backward pass; an exception
  /// from a hook leaves backward() (the rest of the graph is not run). This is how a gradient
  /// reducer starts communicating a bucket while backward is still running
  /// (distributed/reducer.hpp). Returns an id for remove_grad_ready_hook. AutodiffError for a
  /// Var that is not a trainable leaf.
  std::uint64_t add_grad_ready_hook(GradReadyHook hook);
  /// Removes the hook with that id (no effect if it is not there).
  void remove_grad_ready_hook(std::uint64_t id);

  VarImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<VarImpl>& shared_impl() const { return impl_; }

 private:
  std::shared_ptr<VarImpl> impl_;
};

/// A trainable leaf: a copy of `value` that accumulates gradients.
Var parameter(const Tensor& value, std::string name = "");
/// A leaf that never requires gradients.
Var constant(const Tensor& value, std::string name = "");
/// The same value cut off from the graph.
Var detach(const Var& x);

/// Runs reverse mode from `root`. A non-scalar root needs an explicit `grad_output` seed.
void backward(const Var& root, const Tensor& grad_output = Tensor());
/// Clears the gradients of every Var in `vars`.
void zero_grad(const std::vector<Var>& vars);

/// True while graphs are being recorded on this thread (false inside a NoGradGuard).
bool grad_enabled();
/// Inside its scope nothing is recorded on this thread (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Defines a differentiable op: `value` is the forward result computed by the caller, `backward`
/// returns one gradient per input (each of that input's shape; undefined Tensor = no gradient).
/// Records a node only if some input requires a gradient and recording is enabled. `backward`
/// must not write into grad_output: the engine shares that buffer (copy on write) with other
/// nodes' gradients and may pass it straight on as an input's gradient.
Var custom_op(const std::string& op_name, const Tensor& value, const std::vector<Var>& inputs,
              BackwardFn backward);

/// Live tape nodes (all threads) — memory-flatness checks in tests.
std::int64_t live_node_count();

}  // namespace tapir
