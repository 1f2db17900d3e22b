#include <tapir/distributions/bernoulli.hpp>

#include <tapir/core/ops.hpp>
#include "internal.hpp"

namespace tapir::distributions {

Bernoulli::Bernoulli(Logits logits, bool validate_args, std::string name)
    : Distribution(std::move(name), validate_args), parameter_(std::move(logits.value)), from_logits_(true) {
  if (!parameter_.defined()) throw ValueError(label() + ": logits must be defined");
}

Bernoulli::Bernoulli(Probs probs, bool validate_args, std::string name)
    : Distribution(std::move(name), validate_args), parameter_(std::move(probs.value)), from_logits_(false) {
  if (!parameter_.defined()) throw ValueError(label() + ": probs must be defined");
  if (validate_args) checked_parameter();
}

Var Bernoulli::checked_parameter() const {
  Var p = parameter_.get();
  if (validate_args() && !from_logits_)
    internal::check_elements(label(), "probs", p.value(), [](double v) { return v >= 0 && v <= 1; }, "in [0, 1]");
  return p;
}

Var Bernoulli::logits() const {
  const Var p = checked_parameter();
  return from_logits_ ? p : log(p) - log1p(-p);
}

Var Bernoulli::probs() const {
  const Var p = checked_parameter();
  return from_logits_ ? sigmoid(p) : p;
}

Var Bernoulli::log_prob(const Var& value) const {
  check_value(value, "log_prob");
  if (validate_args())
    internal::check_elements(label(), "value", value.value(), [](double v) { return v == 0 || v == 1; },
                             "0 or 1");
  const Var p = checked_parameter();
  if (from_logits_) {
    // log σ(l) = -softplus(-l), log(1 - σ(l)) = -softplus(l): exact in both tails
    return -(value * softplus(-p) + (1.0 - value) * softplus(p));
  }
  // TFP's multiply_no_nan: a term whose weight x or 1 - x is 0 is 0, even where its log is -inf
  // (p in {0, 1}); the log is then taken at a harmless point, so the gradient is not NaN either.
  const Shape shape = broadcast_shapes(value.shape(), p.shape(), "Bernoulli.log_prob");
  const Var x = broadcast_to(value, shape), pb = broadcast_to(p, shape);
  const Var zero = internal::scalar(0.0, dtype()), half = internal::scalar(0.5, dtype());
  const Var x_positive = constant(internal::mask(x.value(), [](double v) { return v != 0; }));
  const Var x_below_one = constant(internal::mask(x.value(), [](double v) { return v != 1; }));
  const Var log_p = log(where(x_positive, pb, half)), log_1mp = log1p(-where(x_below_one, pb, half));
  return where(x_positive, x * log_p, zero) + where(x_below_one, (1.0 - x) * log_1mp, zero);
}

Var Bernoulli::cdf(const Var& value) const {
  check_value(value, "cdf");
  // P(X <= x) = 0 below 0, 1 - p on [0, 1), 1 from 1 on
  const Var below = constant(internal::mask(value.value(), [](double v) { return v < 0; }));
  const Var above = constant(internal::mask(value.value(), [](double v) { return v >= 1; }));
  const Var zero = internal::scalar(0.0, dtype()), one = internal::scalar(1.0, dtype());
  const Var q = 1.0 - probs();
  return where(below, zero, where(above, one, q));
}

Var Bernoulli::mean() const { return probs(); }

Var Bernoulli::variance() const {
  const Var p = probs();
  return p * (1.0 - p);
}

Var Bernoulli::entropy() const {
  const Var p = checked_parameter();
  if (from_logits_) return softplus(p) - sigmoid(p) * p;  // = -p log p - (1-p) log(1-p) in logits
  // 0 log 0 = 0 at p in {0, 1}: evaluate the logs at a harmless point there
  const Var interior = constant(internal::mask(p.value(), [](double v) { return v > 0 && v < 1; }));
  const Var safe = where(interior, p, internal::scalar(0.5, dtype()));
  return where(interior, -(safe * log(safe) + (1.0 - safe) * log1p(-safe)), internal::scalar(0.0, dtype()));
}

Var Bernoulli::sample(const Shape& sample_shape, const RandomStream& stream) const {
  Tensor p;
  {
    NoGradGuard no_grad;
    p = broadcast_to(probs(), concat_shapes(sample_shape, batch_shape())).value().astype(DType::float64);
  }
  const Tensor u = random::uniform(p.shape(), DType::float64, stream);
  Tensor out = Tensor::empty(p.shape(), DType::float64);
  const double* pp = p.data<double>();
  const double* up = u.data<double>();
  double* o = out.data<double>();
  for (std::size_t i = 0; i < out.size(); ++i) o[i] = up[i] < pp[i] ? 1.0 : 0.0;
  return constant(out.astype(dtype()));
}

}  // namespace tapir::distributions
