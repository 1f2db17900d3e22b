#include <tapir/optim/clipping.hpp>

#include <cmath>

#include <tapir/core/simd.hpp>
#include "reductions.hpp"
#include "update_loop.hpp"
#include "validate.hpp"

namespace tapir::optim {

namespace {

void require_positive(const char* who, const char* arg, double v) {
  if (!(std::isfinite(v) && v > 0))
    throw ValueError(std::string(who) + ": " + arg + " must be finite and > 0, got " +
                     detail::num(v));
}

// The gradient buffer to write into, made unique first (like Var::mutable_value()).
Tensor& writable_grad(Var& v) {
  Tensor& g = v.mutable_grad();
  if (!g.unique()) g = g.clone();
  return g;
}

}  // namespace

double global_grad_norm(const std::vector<Var>& params) {
  double sum = 0;
  for (const Var& p : params)
    if (p.grad().defined()) sum += detail::sum_of_squares(p.grad());
  return std::sqrt(sum);
}

double clip_grad_norm(const std::vector<Var>& params, double max_norm) {
  require_positive("clip_grad_norm", "max_norm", max_norm);
  const double norm = global_grad_norm(params);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const double scale = max_norm / norm;
  for (Var p : params) {
    if (!p.grad().defined()) continue;
    Tensor& g = writable_grad(p);
    TAPIR_DISPATCH(g.dtype(), T, {
      const detail::Batch<T> s(static_cast<T>(scale));
      detail::fused_loop<T>(
          g.size(), [&](detail::Batch<T>& x) { x = x * s; }, g.data<T>());
    });
  }
  return norm;
}

void clip_grad_value(const std::vector<Var>& params, double clip_value) {
  require_positive("clip_grad_value", "clip_value", clip_value);
  for (Var p : params) {
    if (!p.grad().defined()) continue;
    Tensor& g = writable_grad(p);
    TAPIR_DISPATCH(g.dtype(), T, {
      using B = detail::Batch<T>;
      const B hi(static_cast<T>(clip_value)), lo(static_cast<T>(-clip_value));
      // Comparisons with NaN are false, so NaN passes through both selects unchanged.
      detail::fused_loop<T>(
          g.size(), [&](B& x) { x = xsimd::select(x > hi, hi, xsimd::select(x < lo, lo, x)); },
          g.data<T>());
    });
  }
}

}  // namespace tapir::optim
