#include <tapir/optim/rmsprop.hpp>

#include <tapir/core/simd.hpp>
#include "update_loop.hpp"
#include "validate.hpp"

namespace tapir::optim {

namespace {

template <class T>
void rmsprop_kernel(std::size_t n, T* param, const T* grad, std::vector<Tensor>& buffers,
                    const RMSPropOptions& o, double lr) {
  using B = detail::Batch<T>;
  const B lr_b(static_cast<T>(lr)), rho(static_cast<T>(o.rho())),
      one_minus_rho(static_cast<T>(1.0 - o.rho()));
  const B eps(static_cast<T>(o.epsilon())), weight_decay(static_cast<T>(o.weight_decay())),
      momentum(static_cast<T>(o.momentum()));
  const B zero(static_cast<T>(0));
  // Buffers in buffer_names() order: square_avg, then grad_avg if centered, then momentum_buffer.
  T* square_avg = buffers[0].data<T>();
  T* grad_avg = o.centered() ? buffers[1].data<T>() : nullptr;
  T* momentum_buffer = o.momentum() > 0 ? buffers.back().data<T>() : nullptr;

  auto apply = [&](B& p, const B& g, const B& denom, B* b) {
    if (b != nullptr) {
      *b = momentum * *b + g / denom;
      p = p - lr_b * *b;
    } else {
      p = p - lr_b * g / denom;
    }
  };
  if (grad_avg != nullptr && momentum_buffer != nullptr) {
    detail::fused_loop<T>(
        n,
        [&](B& p, B& g, B& v, B& gbar, B& b) {
          g = g + weight_decay * p;
          v = rho * v + one_minus_rho * g * g;
          gbar = rho * gbar + one_minus_rho * g;
          apply(p, g, xsimd::sqrt(xsimd::max(v - gbar * gbar, zero)) + eps, &b);
        },
        param, grad, square_avg, grad_avg, momentum_buffer);
  } else if (grad_avg != nullptr) {
    detail::fused_loop<T>(
        n,
        [&](B& p, B& g, B& v, B& gbar) {
          g = g + weight_decay * p;
          v = rho * v + one_minus_rho * g * g;
          gbar = rho * gbar + one_minus_rho * g;
          apply(p, g, xsimd::sqrt(xsimd::max(v - gbar * gbar, zero)) + eps, nullptr);
        },
        param, grad, square_avg, grad_avg);
  } else if (momentum_buffer != nullptr) {
    detail::fused_loop<T>(
        n,
        [&](B& p, B& g, B& v, B& b) {
          g = g + weight_decay * p;
          v = rho * v + one_minus_rho * g * g;
          apply(p, g, xsimd::sqrt(v) + eps, &b);
        },
        param, grad, square_avg, momentum_buffer);
  } else {
    detail::fused_loop<T>(
        n,
        [&](B& p, B& g, B& v) {
          g = g + weight_decay * p;
          v = rho * v + one_minus_rho * g * g;
          apply(p, g, xsimd::sqrt(v) + eps, nullptr);
        },
        param, grad, square_avg);
  }
}

}  // namespace

void RMSPropOptions::validate(const std::string& who) const {
  detail::require_nonnegative(who, "learning_rate", learning_rate());
  detail::require_in(who, "rho", rho(), 0.0, 1.0);
  detail::require_nonnegative(who, "epsilon", epsilon());
  detail::require_nonnegative(who, "weight_decay", weight_decay());
  detail::require_nonnegative(who, "momentum", momentum());
}

RMSProp::RMSProp(const std::vector<Var>& params, const RMSPropOptions& options)
    : OptimizerWithOptions("RMSProp", params, options) {}

std::vector<std::string> RMSProp::buffers_for(const RMSPropOptions& o) const {
  std::vector<std::string> names{"square_avg"};
  if (o.centered()) names.push_back("grad_avg");
  if (o.momentum() > 0) names.push_back("momentum_buffer");
  return names;
}

void RMSProp::update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
                     double lr) {
  TAPIR_DISPATCH(value.dtype(), T,
                 rmsprop_kernel<T>(value.size(), value.data<T>(), grad.data<T>(), state.buffers,
                                   options_[group], lr));
}

}  // namespace tapir::optim
