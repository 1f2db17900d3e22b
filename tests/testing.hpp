// Shared helpers for the doctest suites.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <tapir/tapir.hpp>

namespace testing {

/// Deterministic pseudo-random tensor with values in [lo, hi).
inline tapir::Tensor random_tensor(const tapir::Shape& shape, std::uint64_t seed, double lo = -1.0,
                                   double hi = 1.0, tapir::DType dtype = tapir::DType::float64) {
  tapir::Tensor t = tapir::Tensor::empty(shape, tapir::DType::float64);
  double* p = t.data<double>();
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 12345;
  for (std::size_t i = 0; i < t.size(); ++i) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    p[i] = lo + (hi - lo) * (static_cast<double>(s >> 11) / 9007199254740992.0);
  }
  return dtype == tapir::DType::float64 ? t : t.astype(dtype);
}

/// Largest |a - b| over all elements (shapes must match).
inline double max_abs_diff(const tapir::Tensor& a, const tapir::Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a.at(i) - b.at(i)));
  return m;
}

/// gradcheck with a doctest report of the worst element on failure.
#define CHECK_GRADCHECK(fn, inputs)                                          \
  do {                                                                       \
    const auto gc_result_ = tapir::gradcheck(fn, inputs);                    \
    INFO("worst: " << gc_result_.worst << " (ratio " << gc_result_.worst_ratio << ")"); \
    CHECK(gc_result_.ok);                                                    \
    CHECK(gc_result_.checked > 0);                                           \
  } while (0)

}  // namespace testing
