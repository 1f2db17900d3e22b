#include <tapir/distributions/categorical.hpp>

#include <cmath>
#include <limits>

#include <tapir/core/ops.hpp>
#include "internal.hpp"

namespace tapir::distributions {

namespace {
Shape drop_last(const Shape& s) { return Shape(s.begin(), s.end() - 1); }
}  // namespace

Categorical::Categorical(Logits logits, bool validate_args, std::string name)
    : Distribution(std::move(name), validate_args), parameter_(std::move(logits.value)), from_logits_(true) {
  if (!parameter_.defined()) throw ValueError(label() + ": logits must be defined");
  if (parameter_.shape().empty() || parameter_.shape().back() == 0)
    throw ShapeError(label() + ": logits need a last dim of at least one class; got shape " +
                     shape_str(parameter_.shape()));
  num_categories_ = parameter_.shape().back();
  batch_shape_ = drop_last(parameter_.shape());
}

Categorical::Categorical(Probs probs, bool validate_args, std::string name)
    : Distribution(std::move(name), validate_args), parameter_(std::move(probs.value)), from_logits_(false) {
  if (!parameter_.defined()) throw ValueError(label() + ": probs must be defined");
  if (parameter_.shape().empty() || parameter_.shape().back() == 0)
    throw ShapeError(label() + ": probs need a last dim of at least one class; got shape " +
                     shape_str(parameter_.shape()));
  num_categories_ = parameter_.shape().back();
  batch_shape_ = drop_last(parameter_.shape());
  if (validate_args) checked_parameter();
}

Var Categorical::checked_parameter() const {
  Var p = parameter_.get();
  if (validate_args() && !from_logits_) {
    internal::check_elements(label(), "probs", p.value(), [](double v) { return v >= 0 && v <= 1; },
                             "in [0, 1]");
    const double tol = std::sqrt(dtype() == DType::float32 ? std::numeric_limits<float>::epsilon()
                                                           : std::numeric_limits<double>::epsilon());
    Tensor sums;
    {
      NoGradGuard no_grad;
      sums = sum(constant(p.value().astype(DType::float64)), {-1}).value();
    }
    internal::check_elements(label(), "sum(probs, axis=-1)", sums,
                             [tol](double s) { return std::fabs(s - 1.0) <= tol; },
                             ("1 (within " + std::to_string(tol) + ")").c_str());
  }
  return p;
}

Var Categorical::logits() const {
  const Var p = checked_parameter();
  return from_logits_ ? p : log(p);
}

Var Categorical::log_probs() const {
  const Var p = checked_parameter();
  return from_logits_ ? p - logsumexp(p, {-1}, true) : log(p) - log(sum(p, {-1}, true));
}

Var Categorical::probs() const {
  if (from_logits_) return exp(log_probs());
  return checked_parameter();
}

Var Categorical::log_prob(const Var& value) const {
  check_value(value, "log_prob");
  const Var selector = constant(internal::one_hot(label(), value.value(), num_categories_));
  if (from_logits_) return sum(selector * log_probs(), {-1});
  // probs: pick p_k before the log, so that a zero probability elsewhere cannot make 0 * log 0
  const Var p = checked_parameter();
  return log(sum(selector * p, {-1})) - log(sum(p, {-1}));
}

Var Categorical::entropy() const {
  if (from_logits_) {
    const Var lp = log_probs();
    return -sum(exp(lp) * lp, {-1});
  }
  const Var p = checked_parameter();
  const Var q = p / sum(p, {-1}, true);
  // 0 log 0 = 0: take the log of 1 where q is 0, so neither the value nor the gradient is NaN
  const Var positive = constant(internal::mask(q.value(), [](double v) { return v > 0; }));
  const Var safe_q = where(positive, q, internal::scalar(1.0, dtype()));
  return -sum(q * log(safe_q), {-1});
}

Var Categorical::sample(const Shape& sample_shape, const RandomStream& stream) const {
  Tensor p;
  {
    NoGradGuard no_grad;
    p = probs().value().astype(DType::float64);
  }
  const Shape out_shape = concat_shapes(sample_shape, batch_shape_);
  const Tensor u = random::uniform(out_shape, DType::float64, stream);
  const std::size_t k_count = num_categories_;
  const std::size_t rows = numel(batch_shape_);
  const double* pp = p.data<double>();
  const double* up = u.data<double>();
  std::vector<double> out(u.size());
  std::vector<double> cumulative(k_count);
  for (std::size_t i = 0; i < u.size(); ++i) {
    const double* row = pp + (i % rows) * k_count;  // the batch index is the fastest-moving part
    double total = 0;
    for (std::size_t k = 0; k < k_count; ++k) cumulative[k] = total += row[k];
    // the first class whose cumulative probability exceeds u * total; zero-probability classes
    // are never chosen because their cumulative value equals their predecessor's
    const double threshold = up[i] * total;
    std::size_t k = 0;
    while (k + 1 < k_count && !(cumulative[k] > threshold)) ++k;
    while (k > 0 && row[k] == 0) --k;  // rounding at the top end must not pick an impossible class
    out[i] = static_cast<double>(k);
  }
  return constant(Tensor::from_vector<double>(out_shape, out).astype(dtype()));
}

}  // namespace tapir::distributions
