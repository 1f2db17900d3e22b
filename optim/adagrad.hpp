// Adagrad (Duchi, Hazan & Singer 2011) with learning-rate decay and L2 weight decay, following
// PyTorch's torch.optim.Adagrad (rule and defaults). Where Keras differs:
//   - learning_rate 1e-2 (PyTorch) vs 1e-3; initial_accumulator_value 0 (PyTorch) vs 0.1;
//     epsilon 1e-10 (PyTorch) vs 1e-7.
//
// Per element, at the parameter's step t (1 for its first update), with lr the scheduled rate:
//   lr_t = lr / (1 + (t - 1) * lr_decay)
//   g    = grad + weight_decay * p
//   sum  = sum + g²                            (sum starts at initial_accumulator_value)
//   p    = p - lr_t * g / (sqrt(sum) + epsilon)
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <tapir/optim/optimizer_with_options.hpp>

namespace tapir::optim {

struct AdagradOptions {
  TAPIR_ARG(double, learning_rate) = 1e-2;
  TAPIR_ARG(double, lr_decay) = 0.0;
  TAPIR_ARG(double, weight_decay) = 0.0;
  TAPIR_ARG(double, initial_accumulator_value) = 0.0;
  TAPIR_ARG(double, epsilon) = 1e-10;
  TAPIR_ARG(NonFinite, on_nonfinite) = NonFinite::raise;

 public:
  void validate(const std::string& who) const;
  template <class Self, class F>
  static void visit_fields(Self& self, F&& f) {
    f("learning_rate", self.learning_rate_);
    f("lr_decay", self.lr_decay_);
    f("weight_decay", self.weight_decay_);
    f("initial_accumulator_value", self.initial_accumulator_value_);
    f("epsilon", self.epsilon_);
    f("on_nonfinite", self.on_nonfinite_);
  }
};

class Adagrad : public OptimizerWithOptions<AdagradOptions> {
 public:
  explicit Adagrad(const std::vector<Var>& params,
                   const AdagradOptions& options = AdagradOptions());

 protected:
  std::vector<std::string> buffers_for(const AdagradOptions& options) const override;
  void init_state(std::size_t group, const Tensor& value, ParamState& state) const override;
  void update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
              double lr) override;
};

}  // namespace tapir::optim
