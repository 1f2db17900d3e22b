// Statistical checks shared by the distribution suites. Thresholds are "4 standard errors" for
// moments and the 0.1% critical value for Kolmogorov–Smirnov: with fixed seeds a test either
// always passes or always fails, and a wrong sampler moves these statistics by far more.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "../testing.hpp"

namespace stats {

inline std::vector<double> to_doubles(const tapir::Tensor& t) {
  return t.dtype() == tapir::DType::float64 ? t.to_vector<double>()
                                            : t.astype(tapir::DType::float64).to_vector<double>();
}

inline double mean(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v;
  return s / static_cast<double>(x.size());
}

/// Unbiased sample variance.
inline double variance(const std::vector<double>& x) {
  const double m = mean(x);
  double s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return s / static_cast<double>(x.size() - 1);
}

/// Sample central moment of order k.
inline double central_moment(const std::vector<double>& x, int k) {
  const double m = mean(x);
  double s = 0;
  for (double v : x) s += std::pow(v - m, k);
  return s / static_cast<double>(x.size());
}

/// Standard error of the sample variance: sqrt((mu4 - sigma^4) / n), from the sample itself.
inline double variance_standard_error(const std::vector<double>& x) {
  const double m2 = central_moment(x, 2), m4 = central_moment(x, 4);
  return std::sqrt((m4 - m2 * m2) / static_cast<double>(x.size()));
}

/// Kolmogorov–Smirnov statistic sup |F_n - F| of the sample against the cdf F.
inline double ks_statistic(std::vector<double> x, const std::function<double(double)>& cdf) {
  std::sort(x.begin(), x.end());
  const double n = static_cast<double>(x.size());
  double d = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(x[i]);
    d = std::max({d, static_cast<double>(i + 1) / n - f, f - static_cast<double>(i) / n});
  }
  return d;
}

/// The KS critical value at significance 0.001 (asymptotic: 1.949 / sqrt(n)).
inline double ks_critical(std::size_t n) { return 1.949 / std::sqrt(static_cast<double>(n)); }

inline double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace stats
