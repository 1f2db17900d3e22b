// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
// following PyTorch's torch.optim.SGD (rule and defaults). Where Keras differs:
//   - learning_rate: 1e-3 (PyTorch) rather than Keras's 0.01;
//   - momentum: PyTorch's form below; Keras keeps velocity = momentum * velocity - lr * g, the
//     same trajectory while the learning rate is constant, not under a schedule.
//
// Per element, at the parameter's step t (1 for its first update), with lr the scheduled rate:
//   g = grad + weight_decay * p
//   if momentum != 0:
//     b = g                                          (t = 1)
//     b = momentum * b + (1 - dampening) * g         (t > 1)
//     g = g + momentum * b   if nesterov,  else  g = b
//   p = p - lr * g
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <tapir/optim/optimizer_with_options.hpp>

namespace tapir::optim {

struct SGDOptions {
  TAPIR_ARG(double, learning_rate) = 1e-3;
  TAPIR_ARG(double, momentum) = 0.0;
  TAPIR_ARG(double, dampening) = 0.0;
  TAPIR_ARG(bool, nesterov) = false;  ///< needs momentum > 0 and dampening = 0
  TAPIR_ARG(double, weight_decay) = 0.0;
  TAPIR_ARG(NonFinite, on_nonfinite) = NonFinite::raise;

 public:
  void validate(const std::string& who) const;
  template <class Self, class F>
  static void visit_fields(Self& self, F&& f) {
    f("learning_rate", self.learning_rate_);
    f("momentum", self.momentum_);
    f("dampening", self.dampening_);
    f("nesterov", self.nesterov_);
    f("weight_decay", self.weight_decay_);
    f("on_nonfinite", self.on_nonfinite_);
  }
};

class SGD : public OptimizerWithOptions<SGDOptions> {
 public:
  explicit SGD(const std::vector<Var>& params, const SGDOptions& options = SGDOptions());

 protected:
  std::vector<std::string> buffers_for(const SGDOptions& options) const override;
  void update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
              double lr) override;
};

}  // namespace tapir::optim
