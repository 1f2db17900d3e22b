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

#include <tapir/core/var.hpp>

namespace tapir {

struct GradcheckOptions {
  double eps = 1e-6;   ///< finite-difference step h
  double rtol = 1e-5;  ///< an element passes if |analytic - numeric| <= atol + rtol * |numeric|
  double atol = 1e-6;
  std::vector<bool> check;  ///< which inputs to check (empty = all)
  GradcheckOptions& set_eps(double v) { eps = v; return *this; }
  GradcheckOptions& set_rtol(double v) { rtol = v; return *this; }
  GradcheckOptions& set_atol(double v) { atol = v; return *this; }
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
