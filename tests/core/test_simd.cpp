// The public SIMD building blocks (tapir/core/simd.hpp) that user kernels build on: every element
// through the batch code (tails included), outputs skipped where asked, the same bits at any
// thread count.
#include "../testing.hpp"

#include <tapir/core/simd.hpp>

#include <array>
#include <cstring>
#include <vector>

using namespace tapir;

TEST_SUITE("core/simd") {

TEST_CASE("map_outputs writes each output from one pass, tails included, and skips a null output") {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{37}, std::size_t{64}, std::size_t{1000}}) {
    CAPTURE(n);
    std::vector<double> x(n), y(n), sum(n, -7.0), product(n, -7.0);
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = 0.25 * static_cast<double>(i) - 3.0;
      y[i] = 1.0 + static_cast<double>(i % 5);
    }
    simd::map_outputs<double, 3>(simd::kParallelGrain, n, {sum.data(), nullptr, product.data()},
                                 [](auto a, auto b) {
      using B = decltype(a);
      return std::array<B, 3>{a + b, a - b, a * b};
    }, x.data(), y.data());
    bool right = true;
    for (std::size_t i = 0; i < n; ++i) right = right && sum[i] == x[i] + y[i] && product[i] == x[i] * y[i];
    CHECK(right);  // (the null second output is not written: a store through it would fault)
  }
}

TEST_CASE("map_outputs gives the same bits at 1 and 2 threads above its grain") {
  const int before = num_threads();
  const std::size_t n = (std::size_t{1} << 14) + 5;  // above a grain of 8K, with a tail
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = 0.001f * static_cast<float>(i) - 4.0f;
  std::vector<float> value[2], slope[2];
  for (int t : {1, 2}) {
    set_num_threads(t);
    auto& v = value[t - 1];
    auto& s = slope[t - 1];
    v.assign(n, 0.0f);
    s.assign(n, 0.0f);
    simd::map_outputs<float, 2>(simd::kCostlyGrain, n, {v.data(), s.data()}, [](auto a) {
      using B = decltype(a);
      const B e = xsimd::exp(a);
      return std::array<B, 2>{xsimd::log1p(e), e / (B(1.0f) + e)};  // softplus and its derivative
    }, x.data());
  }
  set_num_threads(before);
  CHECK(std::memcmp(value[0].data(), value[1].data(), n * sizeof(float)) == 0);
  CHECK(std::memcmp(slope[0].data(), slope[1].data(), n * sizeof(float)) == 0);
  CHECK(value[0][n - 1] == doctest::Approx(std::log1p(std::exp(x[n - 1]))).epsilon(1e-6));
  CHECK(slope[0][0] == doctest::Approx(1.0 / (1.0 + std::exp(4.0))).epsilon(1e-5));
}

}  // TEST_SUITE
