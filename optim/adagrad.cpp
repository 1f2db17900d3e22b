#include <tapir/optim/adagrad.hpp>

#include <tapir/core/simd.hpp>
#include "update_loop.hpp"
#include "validate.hpp"

namespace tapir::optim {

namespace {

template <class T>
void adagrad_kernel(std::size_t n, T* param, const T* grad, T* sum, double lr_t,
                    double weight_decay, double epsilon) {
  using B = detail::Batch<T>;
  const B lr(static_cast<T>(lr_t)), wd(static_cast<T>(weight_decay)), eps(static_cast<T>(epsilon));
  detail::fused_loop<T>(
      n,
      [&](B& p, B& g, B& s) {
        g = g + wd * p;
        s = s + g * g;
        p = p - lr * g / (xsimd::sqrt(s) + eps);
      },
      param, grad, sum);
}

}  // namespace

void AdagradOptions::validate(const std::string& who) const {
  detail::require_nonnegative(who, "learning_rate", learning_rate());
  detail::require_nonnegative(who, "lr_decay", lr_decay());
  detail::require_nonnegative(who, "weight_decay", weight_decay());
  detail::require_nonnegative(who, "initial_accumulator_value", initial_accumulator_value());
  detail::require_nonnegative(who, "epsilon", epsilon());
}

Adagrad::Adagrad(const std::vector<Var>& params, const AdagradOptions& options)
    : OptimizerWithOptions("Adagrad", params, options) {}

std::vector<std::string> Adagrad::buffers_for(const AdagradOptions&) const { return {"sum"}; }

void Adagrad::init_state(std::size_t group, const Tensor& value, ParamState& state) const {
  state.buffers = {
      Tensor::full(value.shape(), value.dtype(), options_[group].initial_accumulator_value())};
}

void Adagrad::update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
                     double lr) {
  const AdagradOptions& o = options_[group];
  const double lr_t = lr / (1.0 + static_cast<double>(state.step - 1) * o.lr_decay());
  TAPIR_DISPATCH(
      value.dtype(), T,
      adagrad_kernel<T>(value.size(), value.data<T>(), grad.data<T>(), state.buffers[0].data<T>(),
                        lr_t, o.weight_decay(), o.epsilon()));
}

}  // namespace tapir::optim
