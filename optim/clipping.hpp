// Gradient clipping, between backward() and step():
//   tapir::backward(loss);
//   const double norm = opt::clip_grad_norm(params, /*max_norm=*/1.0);   // pre-clip norm, for logs
//   adam.step();
// Parameters without a gradient are skipped. Gradients are changed in place (a gradient buffer
// shared with another Tensor is copied first, so that copy is not changed).
#pragma once
#include <vector>

#include <tapir/core/var.hpp>

namespace tapir::optim {

/// sqrt(Σ over parameters with a gradient of Σ g²): the global L2 norm, summed in double in a
/// fixed order (the same for any thread count).
double global_grad_norm(const std::vector<Var>& params);

/// Scales all gradients by max_norm / max(norm, max_norm) — TensorFlow's clip_by_global_norm,
/// which gives a clipped norm of exactly max_norm (up to rounding; PyTorch adds 1e-6 to the
/// norm). Returns the global norm before clipping. If that norm is NaN or inf, the gradients are
/// left as they are so that the optimizer's non-finite check reports (or skips) them.
/// max_norm must be finite and > 0.
double clip_grad_norm(const std::vector<Var>& params, double max_norm);

/// Clamps every gradient element to [-clip_value, clip_value]; NaN stays NaN (for step() to
/// catch). clip_value must be finite and > 0.
void clip_grad_value(const std::vector<Var>& params, double clip_value);

}  // namespace tapir::optim
