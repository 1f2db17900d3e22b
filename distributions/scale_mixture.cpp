#include <tapir/distributions/scale_mixture.hpp>

#include <cmath>
#include <type_traits>

#include <tapir/core/ops.hpp>
#include <tapir/core/simd.hpp>
#include <tapir/core/tensor_ops.hpp>
#include <tapir/distributions/normal.hpp>

namespace tapir::distributions {

namespace {
double checked_weight(double w1, double s1, double s2) {
  if (!(w1 > 0 && w1 < 1))
    throw ValueError("ScaleMixtureOfTwoNormals: w1 must be in (0, 1), got " + std::to_string(w1));
  if (!(s1 > 0) || !(s2 > 0))
    throw ValueError("ScaleMixtureOfTwoNormals: scales must be positive, got s1=" + std::to_string(s1) +
                     " s2=" + std::to_string(s2));
  return w1;
}
}  // namespace

ScaleMixtureOfTwoNormals::ScaleMixtureOfTwoNormals(DType dtype, double w1, double s1, double s2, std::string name)
    : MixtureSameFamily(
          std::make_shared<Categorical>(Probs{DeferredVar(
              constant(Tensor::from_vector<double>({2}, {checked_weight(w1, s1, s2), 1 - w1}).astype(dtype)))}),
          std::make_shared<Normal>(DeferredVar(constant(Tensor::zeros({}, dtype))),
                                   DeferredVar(constant(Tensor::from_vector<double>({2}, {s1, s2}).astype(dtype)))),
          false, std::move(name)),
      w1_(w1), s1_(s1), s2_(s2) {}

Var ScaleMixtureOfTwoNormals::log_prob(const Var& value) const {
  check_value(value, "log_prob");
  const double half_log_2pi = 0.91893853320467274178;
  const double la = std::log(w1_) - std::log(s1_) - half_log_2pi, lb = std::log1p(-w1_) - std::log(s2_) - half_log_2pi;
  const double ia = 1.0 / (s1_ * s1_), ib = 1.0 / (s2_ * s2_);
  const Tensor xv = value.value();
  Tensor lp = Tensor::empty(xv.shape(), xv.dtype());
  Tensor dlp = Tensor::empty(xv.shape(), xv.dtype());
  auto run = [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    // in T and SIMD: the KL runs over every weight at every step
    const T ta = static_cast<T>(la), tb = static_cast<T>(lb), tia = static_cast<T>(ia), tib = static_cast<T>(ib);
    // the value and its derivative from one pass (they share the exponential)
    simd::map_outputs<T, 2>(simd::kCostlyGrain, xv.size(), {lp.data<T>(), dlp.data<T>()}, [=](auto x) {
      using B = decltype(x);
      const B x2 = x * x, a = B(ta) - B(T(0.5)) * x2 * B(tia), b = B(tb) - B(T(0.5)) * x2 * B(tib);
      const B e = xsimd::exp(-xsimd::abs(a - b)), p_big = B(T(1)) / (B(T(1)) + e);
      const B pa = xsimd::select(a >= b, p_big, B(T(1)) - p_big);  // responsibility of the first component
      return std::array<B, 2>{xsimd::max(a, b) + xsimd::log1p(e),  // larger term + log(1 + smaller/larger)
                              -(pa * B(tia) + (B(T(1)) - pa) * B(tib)) * x};
    }, xv.data<T>());
  };
  if (xv.dtype() == DType::float32) run(static_cast<float*>(nullptr));
  else run(static_cast<double*>(nullptr));
  return custom_op("spike_and_slab_log_prob", lp, {value},
                   [dlp](const Tensor& g) { return std::vector<Tensor>{tensor_ops::mul(g, dlp)}; });
}

}  // namespace tapir::distributions
