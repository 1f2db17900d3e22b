// RMSProp (Hinton's lecture 6e; centered form from Graves 2013) with momentum and L2 weight
// decay, following PyTorch's torch.optim.RMSprop (rule and defaults). Where Keras differs:
//   - learning_rate 1e-2 (PyTorch) vs 1e-3; rho 0.99 (PyTorch's alpha) vs 0.9; epsilon 1e-8
//     (PyTorch) vs 1e-7, added outside the square root as in PyTorch.
//
// Per element, with lr the scheduled rate (square_avg, grad_avg and the momentum buffer start at
// 0):
//   g = grad + weight_decay * p
//   square_avg = rho * square_avg + (1 - rho) * g²
//   centered:    grad_avg = rho * grad_avg + (1 - rho) * g
//                denom = sqrt(max(square_avg - grad_avg², 0)) + epsilon
//   otherwise:   denom = sqrt(square_avg) + epsilon
//   momentum > 0:  b = momentum * b + g / denom;   p = p - lr * b
//   otherwise:     p = p - lr * g / denom
// (the max(·, 0) only absorbs rounding: square_avg >= grad_avg² holds exactly in real numbers.)
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <tapir/optim/optimizer_with_options.hpp>

namespace tapir::optim {

struct RMSPropOptions {
  TAPIR_ARG(double, learning_rate) = 1e-2;
  TAPIR_ARG(double, rho) = 0.99;  ///< PyTorch's alpha: decay of the squared-gradient average
  TAPIR_ARG(double, epsilon) = 1e-8;
  TAPIR_ARG(double, weight_decay) = 0.0;
  TAPIR_ARG(double, momentum) = 0.0;
  TAPIR_ARG(bool, centered) = false;
  TAPIR_ARG(NonFinite, on_nonfinite) = NonFinite::raise;

 public:
  void validate(const std::string& who) const;
  template <class Self, class F>
  static void visit_fields(Self& self, F&& f) {
    f("learning_rate", self.learning_rate_);
    f("rho", self.rho_);
    f("epsilon", self.epsilon_);
    f("weight_decay", self.weight_decay_);
    f("momentum", self.momentum_);
    f("centered", self.centered_);
    f("on_nonfinite", self.on_nonfinite_);
  }
};

class RMSProp : public OptimizerWithOptions<RMSPropOptions> {
 public:
  explicit RMSProp(const std::vector<Var>& params,
                   const RMSPropOptions& options = RMSPropOptions());

 protected:
  std::vector<std::string> buffers_for(const RMSPropOptions& options) const override;
  void update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
              double lr) override;
};

}  // namespace tapir::optim
