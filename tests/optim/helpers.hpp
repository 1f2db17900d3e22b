// Helpers shared by the optim suites.
#pragma once
#include "../testing.hpp"

#include <functional>
#include <memory>
#include <vector>

namespace optim_testing {

using tapir::DType;
using tapir::Tensor;
using tapir::Var;
using Values = std::vector<double>;

inline Tensor tensor(const Values& v, DType dtype = DType::float64) {
  return Tensor::from_vector<double>({v.size()}, v).astype(dtype);
}
inline Values values(const Var& v) { return v.value().astype(DType::float64).to_vector<double>(); }
/// Gives `p` the gradient `g` (as if backward had produced it), in p's dtype.
inline void set_grad(Var p, const Values& g) {
  p.mutable_grad() = tensor(g, p.dtype()).reshape(p.shape());
}

/// Gradients for three steps of a 5-element parameter: signs and sizes vary, and element 0's
/// magnitude falls (1 → 0.2 → 0.1), so AMSGrad's running max differs from v.
inline const std::vector<Values>& grad_sequence() {
  static const std::vector<Values> g{{1.0, -2.0, 0.5, 3.0, -0.1},
                                     {0.2, -0.5, 1.5, -3.0, 0.05},
                                     {0.1, 0.1, 0.3, 0.5, -2.0}};
  return g;
}
inline const Values& initial_params() {
  static const Values p{0.5, -1.5, 2.0, 0.1, -0.3};
  return p;
}

/// Any optimizer over `params`.
using Factory = std::function<std::unique_ptr<tapir::optim::Optimizer>(const std::vector<Var>&)>;

}  // namespace optim_testing
