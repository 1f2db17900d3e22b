#include <tapir/core/var.hpp>

#include <tapir/core/anomaly.hpp>

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <unordered_set>

namespace tapir {

namespace {
std::atomic<std::int64_t> g_live_nodes{0};
std::atomic<std::uint64_t> g_sequence{0};
thread_local bool t_grad_enabled = true;

const std::shared_ptr<VarImpl>& checked(const std::shared_ptr<VarImpl>& impl) {
  if (!impl) throw ValueError("Var: use of an undefined (default-constructed) Var");
  return impl;
}
}  // namespace

Node::Node() : sequence(g_sequence++) { ++g_live_nodes; }
Node::~Node() { --g_live_nodes; }
std::int64_t live_node_count() { return g_live_nodes.load(); }

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

const Tensor& Var::value() const { return checked(impl_)->value; }
const Tensor& Var::grad() const { return checked(impl_)->grad; }
bool Var::requires_grad() const { return checked(impl_)->requires_grad; }
bool Var::is_leaf() const { return !checked(impl_)->grad_fn; }
const std::string& Var::name() const { return checked(impl_)->name; }
void Var::zero_grad() { checked(impl_)->grad = Tensor(); }

void Var::set_value(const Tensor& v) {
  auto& impl = checked(impl_);
  if (impl->grad_fn) throw AutodiffError("Var::set_value: '" + impl->name + "' is not a leaf");
  if (v.shape() != impl->value.shape() || v.dtype() != impl->value.dtype())
    throw ShapeError("Var::set_value: '" + impl->name + "' has shape " +
                     shape_str(impl->value.shape()) + " " + dtype_name(impl->value.dtype()) +
                     ", got " + shape_str(v.shape()) + " " + dtype_name(v.dtype()));
  impl->value = v.clone();
}

Tensor& Var::mutable_value() {
  auto& impl = checked(impl_);
  if (impl->grad_fn) throw AutodiffError("Var::mutable_value: '" + impl->name + "' is not a leaf");
  if (!impl->value.unique()) impl->value = impl->value.clone();
  return impl->value;
}

Tensor& Var::mutable_grad() { return checked(impl_)->grad; }

std::uint64_t Var::add_grad_ready_hook(GradReadyHook hook) {
  static std::atomic<std::uint64_t> next_id{1};
  auto& impl = checked(impl_);
  if (impl->grad_fn || !impl->requires_grad)
    throw AutodiffError("Var::add_grad_ready_hook: '" + impl->name + "' is not a trainable leaf");
  if (!hook) throw ValueError("Var::add_grad_ready_hook: the hook for '" + impl->name + "' is empty");
  const std::uint64_t id = next_id++;
  impl->grad_ready_hooks.emplace_back(id, std::move(hook));
  return id;
}

void Var::remove_grad_ready_hook(std::uint64_t id) {
  auto& hooks = checked(impl_)->grad_ready_hooks;
  hooks.erase(std::remove_if(hooks.begin(), hooks.end(), [id](const auto& h) { return h.first == id; }),
              hooks.end());
}

Var parameter(const Tensor& value, std::string name) {
  auto impl = std::make_shared<VarImpl>();
  impl->value = value.clone();
  impl->requires_grad = true;
  impl->name = std::move(name);
  return Var(impl);
}

Var constant(const Tensor& value, std::string name) {
  auto impl = std::make_shared<VarImpl>();
  impl->value = value;
  impl->name = std::move(name);
  return Var(impl);
}

Var detach(const Var& x) { return constant(x.value(), x.name()); }

void zero_grad(const std::vector<Var>& vars) {
  for (auto v : vars) v.zero_grad();
}

Var custom_op(const std::string& op_name, const Tensor& value, const std::vector<Var>& inputs,
              BackwardFn backward) {
  const bool anomaly = anomaly_mode_enabled();
  if (anomaly) {
    std::vector<const Tensor*> in_values;
    for (const auto& in : inputs) in_values.push_back(&checked(in.shared_impl())->value);
    detail::check_forward(op_name, value, in_values);
  }
  auto impl = std::make_shared<VarImpl>();
  impl->value = value;
  bool needs = false;
  for (const auto& in : inputs) needs = needs || checked(in.shared_impl())->requires_grad;
  if (needs && t_grad_enabled) {
    auto node = std::make_shared<Node>();
    node->op = op_name;
    if (anomaly) node->scope = current_op_scope();
    node->inputs.reserve(inputs.size());
    for (const auto& in : inputs) node->inputs.push_back(in.shared_impl());
    node->backward = std::move(backward);
    impl->grad_fn = std::move(node);
    impl->requires_grad = true;
  }
  return Var(impl);
}

namespace {
// Adds g into a node's pending gradient. The first contribution is shared, not copied: pending
// gradients are only read by backward closures, and a later contribution copies the buffer
// first if anyone else still holds it (copy on write).
void accumulate_pending(Tensor& slot, Tensor&& g) {
  if (!slot.defined()) {
    slot = std::move(g);
  } else {
    if (!slot.unique()) slot = slot.clone();
    slot.add_(g);
  }
}

// Adds g into a leaf's gradient. A leaf owns its buffer (clipping and the reducer write it in
// place), so a gradient someone else still holds is copied; a sole handle is moved in.
void accumulate_leaf(Tensor& slot, Tensor&& g) {
  if (!slot.defined()) {
    slot = g.unique() ? std::move(g) : g.clone();
  } else {
    if (!slot.unique()) slot = slot.clone();
    slot.add_(g);
  }
}

// Grad-ready hooks: a leaf's gradient is final once every edge of the reachable graph that
// points at it has been run. Only leaves with hooks are counted, so backward without hooks does
// no extra work beyond one emptiness check per edge.
using PendingEdges = std::unordered_map<VarImpl*, std::size_t>;

void run_grad_ready_hooks(const std::shared_ptr<VarImpl>& leaf) {
  const auto hooks = leaf->grad_ready_hooks;  // a copy: a hook may remove itself
  const Var v(leaf);
  for (const auto& [id, hook] : hooks) hook(v);
}

PendingEdges count_hooked_edges(const std::vector<std::shared_ptr<Node>>& order) {
  PendingEdges pending;
  for (const auto& n : order)
    for (const auto& in : n->inputs)
      if (!in->grad_fn && !in->grad_ready_hooks.empty()) ++pending[in.get()];
  return pending;
}

void release_edges(PendingEdges& pending, const Node& n) {
  if (pending.empty()) return;
  for (const auto& in : n.inputs) {
    auto it = pending.find(in.get());
    if (it != pending.end() && --it->second == 0) run_grad_ready_hooks(in);
  }
}
}  // namespace

void backward(const Var& root, const Tensor& grad_output) {
  auto& r = checked(root.shared_impl());
  if (!r->requires_grad)
    throw AutodiffError("backward: the root '" + r->name +
                        "' does not require a gradient (no parameter reaches it)");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    if (r->value.size() != 1)
      throw ShapeError("backward: the root has shape " + shape_str(r->value.shape()) +
                       "; a non-scalar root needs an explicit grad_output");
    seed = Tensor::ones(r->value.shape(), r->value.dtype());
  } else if (seed.shape() != r->value.shape() || seed.dtype() != r->value.dtype()) {
    throw ShapeError("backward: grad_output " + shape_str(seed.shape()) + " " +
                     dtype_name(seed.dtype()) + " does not match the root " +
                     shape_str(r->value.shape()) + " " + dtype_name(r->value.dtype()));
  }
  if (!r->grad_fn) {  // the root is itself a parameter
    accumulate_leaf(r->grad, std::move(seed));
    if (!r->grad_ready_hooks.empty()) run_grad_ready_hooks(r);
    return;
  }
  // Collect the reachable nodes, then run them in reverse tape order.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<std::shared_ptr<Node>> stack{r->grad_fn};
  while (!stack.empty()) {
    auto n = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(n.get()).second) continue;
    if (!n->backward)
      throw AutodiffError("backward: the graph through op '" + n->op +
                          "' was already freed by an earlier backward");
    for (const auto& in : n->inputs)
      if (in->grad_fn) stack.push_back(in->grad_fn);
    order.push_back(std::move(n));
  }
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a->sequence > b->sequence; });
  accumulate_pending(r->grad_fn->pending_grad, std::move(seed));
  PendingEdges hooked = count_hooked_edges(order);
  NoGradGuard no_grad;  // backward closures use ops; record nothing while they run
  const bool anomaly = anomaly_mode_enabled();
  for (auto& n : order) {
    if (n->pending_grad.defined()) {
      // The node's gradient is released as soon as its closure has run, so a closure that passes
      // it straight through (add, reshape, ...) hands its input a buffer no one else holds.
      std::vector<Tensor> grads = n->backward(n->pending_grad);
      n->pending_grad = Tensor();
      if (grads.size() != n->inputs.size())
        throw AutodiffError("backward: op '" + n->op + "' returned " +
                            std::to_string(grads.size()) + " gradients for " +
                            std::to_string(n->inputs.size()) + " inputs");
      for (std::size_t i = 0; i < grads.size(); ++i) {
        auto& in = n->inputs[i];
        if (!grads[i].defined() || !in->requires_grad) continue;
        if (grads[i].shape() != in->value.shape() || grads[i].dtype() != in->value.dtype())
          throw AutodiffError("backward: op '" + n->op + "' gave input " + std::to_string(i) +
                              " a gradient of shape " + shape_str(grads[i].shape()) + " " +
                              dtype_name(grads[i].dtype()) + ", expected " +
                              shape_str(in->value.shape()) + " " + dtype_name(in->value.dtype()));
        if (anomaly) {
          std::vector<const Tensor*> in_values;
          for (const auto& x : n->inputs) in_values.push_back(&x->value);
          detail::check_backward(n->op, n->scope, i, grads[i], in_values);
        }
        if (in->grad_fn) accumulate_pending(in->grad_fn->pending_grad, std::move(grads[i]));
        else accumulate_leaf(in->grad, std::move(grads[i]));
      }
    }
    release_edges(hooked, *n);
    // Free as we go: the closure's saved tensors and the links to the inputs.
    n->backward = nullptr;
    n->inputs.clear();
  }
}

}  // namespace tapir
