// Finite-difference gradient checking, public so that users test their own ops and layers.
//
// For f: inputs -> y, gradcheck compares the tape's vector-Jacobian product w^T J (w a fixed
// pseudo-random weight of y's shape, so every output element counts) with central differences
// (L(x + h e_i) - L(x - h e_i)) / 2h of L = sum(w * y), for every element of every input.
// Inputs must be float64: in float32 the differences would measure rounding, not derivatives.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <tapir/core/options.hpp>
#include <tapir/core/var.hpp>

namespace tapir {

/// eps: the finite-difference step h; an element passes if |analytic - numeric| <= atol +
/// rtol * |numeric|; check: which inputs to check (empty = all).
struct GradcheckOptions {
  TAPIR_ARG(double, eps) = 1e-6;
  TAPIR_ARG(double, rtol) = 1e-5;
  TAPIR_ARG(double, atol) = 1e-6;
  TAPIR_ARG(std::vector<bool>, check);

 public:
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;
  double worst_ratio = 0.0;  ///< max over elements of |a - n| / (atol + rtol |n|); <= 1 passes
  std::size_t checked = 0;   ///< number of input elements compared
  std::string worst;         ///< "input 1 element 7: analytic 0.25, numeric 0.2500001"
  explicit operator bool() const { return ok; }
};

/// Checks f's gradients w.r.t. each input (float64 tensors); f is called with parameters.
GradcheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace tapir
