// The packed GEMM kernel against a plain triple loop: every transpose combination, edge sizes
// around the register tile, alpha/beta, and thread-count independence.
#include "../testing.hpp"

#include <tapir/core/kernels/gemm.hpp>

using namespace tapir;

namespace {
template <class T>
void check_gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, T alpha, T beta) {
  const Tensor a = testing::random_tensor({M * K}, M * 7 + K).astype(dtype_of<T>());
  const Tensor b = testing::random_tensor({K * N}, N * 13 + K).astype(dtype_of<T>());
  Tensor c = testing::random_tensor({M * N}, 99).astype(dtype_of<T>());
  std::vector<double> ref(M * N);
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < N; ++j) {
      double s = 0;
      for (std::size_t k = 0; k < K; ++k)
        s += a.at(ta ? k * M + i : i * K + k) * b.at(tb ? j * K + k : k * N + j);
      ref[i * N + j] = alpha * s + beta * c.at(i * N + j);
    }
  kernels::gemm<T>(ta, tb, M, N, K, alpha, a.data<T>(), ta ? M : K, b.data<T>(), tb ? K : N, beta,
                   c.data<T>(), N);
  const double tol = sizeof(T) == 4 ? 1e-4 : 1e-11;
  double worst = 0;
  for (std::size_t i = 0; i < M * N; ++i)
    worst = std::max(worst, std::fabs(c.at(i) - ref[i]) / (1 + std::fabs(ref[i])));
  CAPTURE(ta); CAPTURE(tb); CAPTURE(M); CAPTURE(N); CAPTURE(K);
  CHECK(worst < tol);
}
}  // namespace

TEST_SUITE("core/kernels/gemm") {

TEST_CASE("matches the triple loop on edge sizes and transposes") {
  const std::size_t sizes[][3] = {{1, 1, 1}, {12, 32, 7}, {13, 33, 1}, {11, 31, 385}, {25, 17, 3},
                                  {100, 70, 50}, {481, 65, 20}, {37, 3100, 5},
                                  // matmul's 6-row, four-vector tile: full, and a last panel whose
                                  // second vector pair is partly filled (n = 36 and 63 of 64)
                                  {6, 64, 9}, {7, 100, 260}, {19, 127, 33},
                                  // the skinny path (N <= 4): lane remainders along K and M
                                  {32, 2, 6272}, {6272, 2, 32}, {33, 4, 47}, {17, 1, 31}, {5, 3, 0}, {40, 4, 1}};
  for (auto& s : sizes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check_gemm<float>(ta, tb, s[0], s[1], s[2], 1.0f, 0.0f);
        check_gemm<double>(ta, tb, s[0], s[1], s[2], 0.5, 2.0);
      }
}

TEST_CASE("beta = 0 never reads C (NaN in C is overwritten)") {
  std::vector<float> a(4 * 3, 1.f), b(3 * 5, 2.f), c(4 * 5, NAN);
  kernels::gemm<float>(false, false, 4, 5, 3, 1.f, a.data(), 3, b.data(), 5, 0.f, c.data(), 5);
  for (float v : c) CHECK(v == 6.f);
}

TEST_CASE("beta = 0 never reads C on the skinny path either") {
  for (bool ta : {false, true}) {
    std::vector<float> a(40 * 3, 1.f), b(3 * 2, 2.f), c(40 * 2, NAN);
    kernels::gemm<float>(ta, false, 40, 2, 3, 1.f, a.data(), ta ? 40 : 3, b.data(), 2, 0.f, c.data(), 2);
    for (float v : c) CHECK(v == 6.f);
  }
}

TEST_CASE("bit-identical at 1 and 2 threads") {
  auto check = [](bool ta, std::size_t M, std::size_t N, std::size_t K) {
    const Tensor a = testing::random_tensor({M * K}, 1).astype(DType::float32);
    const Tensor b = testing::random_tensor({K * N}, 2).astype(DType::float32);
    std::vector<float> c1(M * N), c2(M * N);
    const int saved = num_threads();
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      kernels::gemm<float>(ta, false, M, N, K, 1.f, a.data<float>(), ta ? M : K, b.data<float>(), N, 0.f,
                           (threads == 1 ? c1 : c2).data(), N);
    }
    set_num_threads(saved);
    CAPTURE(ta); CAPTURE(M); CAPTURE(N); CAPTURE(K);
    CHECK(c1 == c2);
  };
  check(false, 700, 300, 500);  // the packed register tiles
  check(false, 3000, 3, 400);   // the skinny path, both of its kernels
  check(true, 3000, 3, 400);
}

}
