#include <tapir/distributions/special.hpp>

#include <cmath>

#include <tapir/core/simd.hpp>

namespace tapir::distributions::special {

namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kHalfLog2Pi = 0.91893853320467274178;

double ndtr_scalar(double z) { return 0.5 * std::erfc(-z * kInvSqrt2); }

double log_ndtr_scalar(double z) {
  if (z > 0) return std::log1p(-ndtr_scalar(-z));
  if (z > -20) return std::log(ndtr_scalar(z));
  // log Φ(z) = -z²/2 - log(-z) - log √(2π) + log(1 - 1/z² + 3/z⁴ - 15/z⁶ + 105/z⁸ - ...)
  const double w = 1.0 / (z * z);
  const double series = 1.0 - w * (1.0 - 3.0 * w * (1.0 - 5.0 * w * (1.0 - 7.0 * w)));
  return -0.5 * z * z - std::log(-z) - kHalfLog2Pi + std::log(series);
}

double log_normal_pdf(double z) { return -0.5 * z * z - kHalfLog2Pi; }

// y[i] = f(x[i]) computed in double, stored in x's dtype.
template <class F> Tensor map_double(const Tensor& x, F f) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  TAPIR_DISPATCH(x.dtype(), T, {
    const T* p = x.data<T>();
    T* o = out.data<T>();
    for (std::size_t i = 0; i < x.size(); ++i) o[i] = static_cast<T>(f(static_cast<double>(p[i])));
  });
  return out;
}

// g * h(x) elementwise, h in double.
template <class F> Tensor scaled_derivative(const Tensor& g, const Tensor& x, F h) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  TAPIR_DISPATCH(x.dtype(), T, {
    const T* p = x.data<T>();
    const T* gp = g.data<T>();
    T* o = out.data<T>();
    for (std::size_t i = 0; i < x.size(); ++i)
      o[i] = static_cast<T>(static_cast<double>(gp[i]) * h(static_cast<double>(p[i])));
  });
  return out;
}

}  // namespace

Var ndtr(const Var& z) {
  const Tensor x = z.value();
  return custom_op("ndtr", map_double(x, ndtr_scalar), {z}, [x](const Tensor& g) {
    return std::vector<Tensor>{scaled_derivative(g, x, [](double v) { return std::exp(log_normal_pdf(v)); })};
  });
}

Var log_ndtr(const Var& z) {
  const Tensor x = z.value();
  return custom_op("log_ndtr", map_double(x, log_ndtr_scalar), {z}, [x](const Tensor& g) {
    return std::vector<Tensor>{scaled_derivative(
        g, x, [](double v) { return std::exp(log_normal_pdf(v) - log_ndtr_scalar(v)); })};
  });
}

}  // namespace tapir::distributions::special
