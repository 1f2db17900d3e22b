// Adam (Kingma & Ba 2015, with Reddi et al.'s AMSGrad option) and AdamW (Loshchilov & Hutter
// 2019, decoupled weight decay). Both follow PyTorch's torch.optim.Adam / AdamW, update rules
// and defaults alike. Where Keras differs:
//   - epsilon: 1e-8 (PyTorch) rather than Keras's 1e-7, and added to sqrt(v̂) as in the paper's
//     Algorithm 1 (Keras adds it to sqrt(v) before bias correction, the paper's "epsilon hat");
//   - AdamW weight_decay: 1e-2 (PyTorch) rather than Keras's 0.004.
//
// Per element, at the parameter's step t (1 for its first update), with lr the scheduled rate:
//   g  = grad + weight_decay * p              (Adam: L2 penalty folded into the gradient)
//   p  = p * (1 - lr * weight_decay)          (AdamW: decoupled decay, instead of the line above)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g²
//   v_max = max(v_max, v)                     (amsgrad; then v_max replaces v below)
//   p  = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <tapir/optim/optimizer_with_options.hpp>

namespace tapir::optim {

/// Options of the Adam family. Adam and AdamW take the same fields and differ only in what
/// weight_decay means (Adam: an L2 penalty added to the gradient, default 0; AdamW: decoupled,
/// p *= 1 - lr * weight_decay, default 1e-2 as in PyTorch), so one template serves both.
template <bool Decoupled>
struct AdamFamilyOptions {
  TAPIR_ARG(double, learning_rate) = 1e-3;
  TAPIR_ARG(double, epsilon) = 1e-8;
  TAPIR_ARG(double, weight_decay) = Decoupled ? 1e-2 : 0.0;
  TAPIR_ARG(bool, amsgrad) = false;
  TAPIR_ARG(NonFinite, on_nonfinite) = NonFinite::raise;

 public:
  /// Decay rates of the first and second moment averages (default 0.9, 0.999).
  AdamFamilyOptions& betas(double beta1, double beta2) {
    beta1_ = beta1;
    beta2_ = beta2;
    return *this;
  }
  std::pair<double, double> betas() const { return {beta1_, beta2_}; }
  double beta1() const { return beta1_; }
  double beta2() const { return beta2_; }

  /// Throws ValueError naming the first option out of range; `who` prefixes the message.
  void validate(const std::string& who) const;
  template <class Self, class F>
  static void visit_fields(Self& self, F&& f) {
    f("learning_rate", self.learning_rate_);
    f("beta1", self.beta1_);
    f("beta2", self.beta2_);
    f("epsilon", self.epsilon_);
    f("weight_decay", self.weight_decay_);
    f("amsgrad", self.amsgrad_);
    f("on_nonfinite", self.on_nonfinite_);
  }

 private:
  double beta1_ = 0.9;
  double beta2_ = 0.999;
};

using AdamOptions = AdamFamilyOptions<false>;
using AdamWOptions = AdamFamilyOptions<true>;

class Adam : public OptimizerWithOptions<AdamOptions> {
 public:
  explicit Adam(const std::vector<Var>& params, const AdamOptions& options = AdamOptions());

 protected:
  std::vector<std::string> buffers_for(const AdamOptions& options) const override;
  void update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
              double lr) override;
};

class AdamW : public OptimizerWithOptions<AdamWOptions> {
 public:
  explicit AdamW(const std::vector<Var>& params, const AdamWOptions& options = AdamWOptions());

 protected:
  std::vector<std::string> buffers_for(const AdamWOptions& options) const override;
  void update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
              double lr) override;
};

/// The scalars of one Adam/AdamW step of one parameter, computed once per step in double.
struct AdamStep {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  double step_size = 0;     ///< lr / (1 - beta1^t)
  double inv_sqrt_bc2 = 1;  ///< 1 / sqrt(1 - beta2^t)
  double l2 = 0;            ///< Adam's weight decay, added to the gradient
  double decay = 1;         ///< AdamW's 1 - lr * weight_decay, multiplying the parameter
  /// The coefficients at step t (>= 1); `decoupled` selects AdamW's weight decay.
  static AdamStep at(std::int64_t t, double lr, double beta1, double beta2, double epsilon,
                     double weight_decay, bool decoupled);
};

/// The Adam/AdamW kernel: one fused SIMD pass over (param, grad, exp_avg, exp_avg_sq[,
/// max_exp_avg_sq]), OpenMP-parallel above simd::kParallelGrain elements. Pass
/// max_exp_avg_sq = nullptr without AMSGrad. Public so that benchmarks can time it alone.
template <class T>
void adam_update(std::size_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq,
                 T* max_exp_avg_sq, const AdamStep& c);

}  // namespace tapir::optim
