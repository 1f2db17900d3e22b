#include <tapir/optim/adam.hpp>

#include <cmath>

#include <tapir/core/simd.hpp>
#include "update_loop.hpp"
#include "validate.hpp"

namespace tapir::optim {

namespace {

template <class Options>
void validate_adam(const Options& o, const std::string& who) {
  detail::require_nonnegative(who, "learning_rate", o.learning_rate());
  detail::require_in(who, "beta1", o.beta1(), 0.0, 1.0);
  detail::require_in(who, "beta2", o.beta2(), 0.0, 1.0);
  detail::require_nonnegative(who, "epsilon", o.epsilon());
  detail::require_nonnegative(who, "weight_decay", o.weight_decay());
}

std::vector<std::string> adam_buffers(bool amsgrad) {
  if (amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

template <class T, bool kAmsgrad>
void adam_kernel(std::size_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq,
                 T* max_exp_avg_sq, const AdamStep& c) {
  using B = detail::Batch<T>;
  const B beta1(static_cast<T>(c.beta1)), one_minus_beta1(static_cast<T>(1.0 - c.beta1));
  const B beta2(static_cast<T>(c.beta2)), one_minus_beta2(static_cast<T>(1.0 - c.beta2));
  const B step_size(static_cast<T>(c.step_size)), inv_sqrt_bc2(static_cast<T>(c.inv_sqrt_bc2)),
      eps(static_cast<T>(c.epsilon));
  const B l2(static_cast<T>(c.l2)), decay(static_cast<T>(c.decay));
  // l2 = 0 and decay = 1 leave g and p exactly as they are, so one kernel serves Adam and AdamW;
  // the pass is memory-bound, the two spare multiplies cost nothing.
  auto moments = [&](B& p, B& g, B& m, B& v) {
    g = g + l2 * p;
    p = p * decay;
    m = beta1 * m + one_minus_beta1 * g;
    v = beta2 * v + one_minus_beta2 * g * g;
  };
  if constexpr (kAmsgrad) {
    detail::fused_loop<T>(
        n,
        [&](B& p, B& g, B& m, B& v, B& v_max) {
          moments(p, g, m, v);
          v_max = xsimd::max(v_max, v);
          p = p - step_size * m / (xsimd::sqrt(v_max) * inv_sqrt_bc2 + eps);
        },
        param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);
  } else {
    detail::fused_loop<T>(
        n,
        [&](B& p, B& g, B& m, B& v) {
          moments(p, g, m, v);
          p = p - step_size * m / (xsimd::sqrt(v) * inv_sqrt_bc2 + eps);
        },
        param, grad, exp_avg, exp_avg_sq);
  }
}

template <class Options>
void adam_family_update(const Options& o, bool decoupled, Tensor& value, const Tensor& grad,
                        ParamState& state, double lr) {
  const AdamStep c =
      AdamStep::at(state.step, lr, o.beta1(), o.beta2(), o.epsilon(), o.weight_decay(), decoupled);
  TAPIR_DISPATCH(value.dtype(), T,
                 adam_update<T>(value.size(), value.data<T>(), grad.data<T>(),
                                state.buffers[0].data<T>(), state.buffers[1].data<T>(),
                                o.amsgrad() ? state.buffers[2].data<T>() : nullptr, c));
}

}  // namespace

AdamStep AdamStep::at(std::int64_t t, double lr, double beta1, double beta2, double epsilon,
                      double weight_decay, bool decoupled) {
  AdamStep c;
  c.beta1 = beta1;
  c.beta2 = beta2;
  c.epsilon = epsilon;
  const double td = static_cast<double>(t);
  c.step_size = lr / (1.0 - std::pow(beta1, td));
  c.inv_sqrt_bc2 = 1.0 / std::sqrt(1.0 - std::pow(beta2, td));
  c.l2 = decoupled ? 0.0 : weight_decay;
  c.decay = decoupled ? 1.0 - lr * weight_decay : 1.0;
  return c;
}

template <class T>
void adam_update(std::size_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq,
                 T* max_exp_avg_sq, const AdamStep& c) {
  if (max_exp_avg_sq != nullptr)
    adam_kernel<T, true>(n, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, c);
  else
    adam_kernel<T, false>(n, param, grad, exp_avg, exp_avg_sq, nullptr, c);
}
template void adam_update<float>(std::size_t, float*, const float*, float*, float*, float*,
                                 const AdamStep&);
template void adam_update<double>(std::size_t, double*, const double*, double*, double*, double*,
                                  const AdamStep&);

template <bool Decoupled>
void AdamFamilyOptions<Decoupled>::validate(const std::string& who) const { validate_adam(*this, who); }
template struct AdamFamilyOptions<false>;
template struct AdamFamilyOptions<true>;

Adam::Adam(const std::vector<Var>& params, const AdamOptions& options)
    : OptimizerWithOptions("Adam", params, options) {}

std::vector<std::string> Adam::buffers_for(const AdamOptions& o) const {
  return adam_buffers(o.amsgrad());
}

void Adam::update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
                  double lr) {
  adam_family_update(options_[group], /*decoupled=*/false, value, grad, state, lr);
}

AdamW::AdamW(const std::vector<Var>& params, const AdamWOptions& options)
    : OptimizerWithOptions("AdamW", params, options) {}

std::vector<std::string> AdamW::buffers_for(const AdamWOptions& o) const {
  return adam_buffers(o.amsgrad());
}

void AdamW::update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
                   double lr) {
  adam_family_update(options_[group], /*decoupled=*/true, value, grad, state, lr);
}

}  // namespace tapir::optim
