// Anomaly mode (PyTorch's torch.autograd.detect_anomaly): find the op that produced the first
// NaN or Inf of a long training run. While an AnomalyMode guard is alive on a thread, every op
// recorded there (each goes through custom_op) checks its output, and backward checks the
// gradient each node gives its inputs; the first non-finite value throws AnomalyError naming
// the op, its input shapes and the scope it was recorded in (the OpScope names active then,
// e.g. the layer). Off by default; off, it costs one thread-local bool test per op.
//
//   { tapir::AnomalyMode anomaly; loss = model(x); tapir::backward(loss); }
//   // AnomalyError: anomaly: op 'log' (in scope 'decoder1') produced NaN at element 3 of its
//   //               output [8,4] float32; inputs: [8,4] float32
//
// OpScope names what is being computed, so messages can say where: a layer pushes its name in
// its forward pass (tapir::OpScope scope(name());), a user's block of code any name. Scopes
// nest ("model/encoder"); they are thread-local and cost a vector push when entered.
#pragma once
#include <string>
#include <vector>

#include <tapir/core/error.hpp>
#include <tapir/core/tensor.hpp>

namespace tapir {

/// A NaN or Inf found by anomaly mode.
class AnomalyError : public Error { public: using Error::Error; };

/// True while an AnomalyMode guard is active on this thread.
bool anomaly_mode_enabled();
/// Turns anomaly mode on or off for this thread (prefer the AnomalyMode guard).
void set_anomaly_mode(bool enabled);

/// Anomaly mode for the guard's scope (or off, with AnomalyMode(false)); restores the previous
/// setting when it ends.
class AnomalyMode {
 public:
  explicit AnomalyMode(bool enabled = true);
  ~AnomalyMode();
  AnomalyMode(const AnomalyMode&) = delete;
  AnomalyMode& operator=(const AnomalyMode&) = delete;

 private:
  bool previous_;
};
/// PyTorch's spelling.
using detect_anomaly = AnomalyMode;

/// Names the ops recorded during its lifetime on this thread (nested scopes join with '/').
class OpScope {
 public:
  explicit OpScope(std::string name);
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;
};
/// "outer/inner" for the active scopes of this thread; empty outside any.
std::string current_op_scope();

namespace detail {
/// Index of the first NaN/Inf element of `t`, or t.size() if all are finite.
std::size_t first_nonfinite(const Tensor& t);
/// Throws AnomalyError if `value` (the output of `op`) holds a NaN or Inf.
void check_forward(const std::string& op, const Tensor& value, const std::vector<const Tensor*>& inputs);
/// Throws AnomalyError if the gradient `grad` that op's backward gave input `index` is not finite.
void check_backward(const std::string& op, const std::string& scope, std::size_t index, const Tensor& grad,
                    const std::vector<const Tensor*>& inputs);
}  // namespace detail

}  // namespace tapir
