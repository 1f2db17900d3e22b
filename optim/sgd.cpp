#include <tapir/optim/sgd.hpp>

#include <tapir/core/simd.hpp>
#include "update_loop.hpp"
#include "validate.hpp"

namespace tapir::optim {

namespace {

template <class T>
void sgd_kernel(std::size_t n, T* param, const T* grad, T* momentum_buffer, const SGDOptions& o,
                double lr, bool first_step) {
  using B = detail::Batch<T>;
  const B neg_lr(static_cast<T>(-lr)), weight_decay(static_cast<T>(o.weight_decay()));
  if (o.momentum() == 0) {
    detail::fused_loop<T>(
        n,
        [&](B& p, B& g) {
          g = g + weight_decay * p;
          p = p + neg_lr * g;
        },
        param, grad);
    return;
  }
  const B momentum(static_cast<T>(o.momentum())),
      one_minus_dampening(static_cast<T>(1.0 - o.dampening()));
  const bool nesterov = o.nesterov();
  detail::fused_loop<T>(
      n,
      [&](B& p, B& g, B& b) {
        g = g + weight_decay * p;
        b = first_step ? g : momentum * b + one_minus_dampening * g;
        g = nesterov ? g + momentum * b : b;
        p = p + neg_lr * g;
      },
      param, grad, momentum_buffer);
}

}  // namespace

void SGDOptions::validate(const std::string& who) const {
  detail::require_nonnegative(who, "learning_rate", learning_rate());
  detail::require_nonnegative(who, "momentum", momentum());
  detail::require_nonnegative(who, "dampening", dampening());
  detail::require_nonnegative(who, "weight_decay", weight_decay());
  if (nesterov() && (momentum() <= 0 || dampening() != 0))
    throw ValueError(who + ": nesterov needs momentum > 0 and dampening = 0, got momentum " +
                     detail::num(momentum()) + ", dampening " + detail::num(dampening()));
}

SGD::SGD(const std::vector<Var>& params, const SGDOptions& options)
    : OptimizerWithOptions("SGD", params, options) {}

std::vector<std::string> SGD::buffers_for(const SGDOptions& o) const {
  if (o.momentum() == 0) return {};
  return {"momentum_buffer"};
}

void SGD::update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
                 double lr) {
  const SGDOptions& o = options_[group];
  TAPIR_DISPATCH(value.dtype(), T,
                 sgd_kernel<T>(value.size(), value.data<T>(), grad.data<T>(),
                               state.buffers.empty() ? nullptr : state.buffers[0].data<T>(), o, lr,
                               state.step == 1));
}

}  // namespace tapir::optim
