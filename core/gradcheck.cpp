#include <tapir/core/gradcheck.hpp>

#include <cmath>
#include <sstream>

#include <tapir/core/ops.hpp>

namespace tapir {

namespace {
// Deterministic weights in [0.5, 1.5) with alternating sign: no element is weighted zero.
Tensor probe_weights(const Shape& shape) {
  Tensor w = Tensor::empty(shape, DType::float64);
  double* p = w.data<double>();
  std::uint64_t s = 0x9E3779B97F4A7C15ull;
  for (std::size_t i = 0; i < w.size(); ++i) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    const double u = static_cast<double>(s >> 11) / 9007199254740992.0;
    p[i] = (i % 2 ? -1.0 : 1.0) * (0.5 + u);
  }
  return w;
}

double weighted_sum(const Tensor& y, const Tensor& w) {
  const double* a = y.data<double>();
  const double* b = w.data<double>();
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += a[i] * b[i];
  return s;
}
}  // namespace

GradcheckResult gradcheck(const std::function<Var(const std::vector<Var>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].dtype() != DType::float64)
      throw TypeError("gradcheck: input " + std::to_string(i) + " " + shape_str(inputs[i].shape()) +
                      " is " + dtype_name(inputs[i].dtype()) + "; gradcheck needs float64");
  auto wants = [&](std::size_t i) { return options.check().empty() || options.check().at(i); };

  // analytic: one backward pass with the probe weights as seed
  std::vector<Var> params;
  for (const auto& t : inputs) params.push_back(parameter(t));
  Var y = f(params);
  if (y.dtype() != DType::float64)
    throw TypeError("gradcheck: f returned " + std::string(dtype_name(y.dtype())) + "; expected float64");
  const Tensor w = probe_weights(y.shape());
  if (y.requires_grad()) backward(y, w);

  auto evaluate = [&](const std::vector<Tensor>& xs) {
    NoGradGuard no_grad;
    std::vector<Var> cs;
    for (const auto& t : xs) cs.push_back(constant(t));
    return weighted_sum(f(cs).value(), w);
  };

  GradcheckResult result;
  std::vector<Tensor> xs;
  for (const auto& t : inputs) xs.push_back(t.clone());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!wants(i)) continue;
    const Tensor& g = params[i].grad();
    double* x = xs[i].data<double>();
    for (std::size_t j = 0; j < inputs[i].size(); ++j) {
      const double orig = x[j];
      x[j] = orig + options.eps();
      const double up = evaluate(xs);
      x[j] = orig - options.eps();
      const double down = evaluate(xs);
      x[j] = orig;
      const double numeric = (up - down) / (2 * options.eps());
      const double analytic = g.defined() ? g.data<double>()[j] : 0.0;
      const double err = std::fabs(analytic - numeric);
      const double ratio = err / (options.atol() + options.rtol() * std::fabs(numeric));
      ++result.checked;
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (!(ratio <= result.worst_ratio) || result.worst.empty()) {  // NaN counts as worst
        if (!(ratio <= result.worst_ratio)) result.worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
        std::ostringstream os;
        os.precision(10);
        os << "input " << i << " " << shape_str(inputs[i].shape()) << " element " << j
           << ": analytic " << analytic << ", numeric " << numeric;
        result.worst = os.str();
      }
    }
  }
  result.ok = result.worst_ratio <= 1.0;
  return result;
}

}  // namespace tapir
