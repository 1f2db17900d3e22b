#include "gemm_skinny.hpp"

#include <algorithm>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "gemm_driver.hpp"

namespace tapir::kernels {

namespace {

template <class T> inline T combine(T alpha, T sum, T beta, const T& c) {
  return beta == T(0) ? alpha * sum : alpha * sum + beta * c;
}

// op(A) rows contiguous along k: C[i, j] is a dot product of A's row i with column j of op(B),
// which is first laid out contiguously (bt[j * K + k]).
template <class T>
void dot_rows(bool trans_b, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A, std::size_t lda,
              const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
  using V = xsimd::batch<T>;
  constexpr std::size_t W = V::size;
  std::vector<T> bt(N * K);
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t j = 0; j < N; ++j) bt[j * K + k] = trans_b ? B[j * ldb + k] : B[k * ldb + j];
  const std::ptrdiff_t rows = static_cast<std::ptrdiff_t>(M);
#pragma omp parallel for schedule(static) num_threads(gemm_threads(M, N, K))
  for (std::ptrdiff_t i = 0; i < rows; ++i) {
    const T* a = A + static_cast<std::size_t>(i) * lda;
    for (std::size_t j = 0; j < N; ++j) {
      const T* b = bt.data() + j * K;
      V s0(T(0)), s1(T(0));  // two chains: the FMA latency, not its throughput, bounds one
      std::size_t k = 0;
      for (; k + 2 * W <= K; k += 2 * W) {
        s0 = xsimd::fma(V::load_unaligned(a + k), V::load_unaligned(b + k), s0);
        s1 = xsimd::fma(V::load_unaligned(a + k + W), V::load_unaligned(b + k + W), s1);
      }
      for (; k + W <= K; k += W) s0 = xsimd::fma(V::load_unaligned(a + k), V::load_unaligned(b + k), s0);
      alignas(64) T lanes[W];
      (s0 + s1).store_aligned(lanes);
      T sum = T(0);
      for (std::size_t l = 0; l < W; ++l) sum += lanes[l];
      for (; k < K; ++k) sum += a[k] * b[k];
      T& c = C[static_cast<std::size_t>(i) * ldc + j];
      c = combine(alpha, sum, beta, c);
    }
  }
}

// op(A) = A^T, contiguous along i: W rows of C at a time, one vector accumulator per column,
// updated by every k in order.
template <class T>
void axpy_columns(bool trans_b, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A, std::size_t lda,
                  const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
  using V = xsimd::batch<T>;
  constexpr std::size_t W = V::size;
  const std::ptrdiff_t blocks = static_cast<std::ptrdiff_t>((M + W - 1) / W);
#pragma omp parallel for schedule(static) num_threads(gemm_threads(M, N, K))
  for (std::ptrdiff_t blk = 0; blk < blocks; ++blk) {
    const std::size_t i0 = static_cast<std::size_t>(blk) * W, m = std::min(W, M - i0);
    alignas(64) T sums[kSkinnyColumns][W];
    if (m == W) {
      V acc[kSkinnyColumns] = {V(T(0)), V(T(0)), V(T(0)), V(T(0))};
      for (std::size_t k = 0; k < K; ++k) {
        const V a = V::load_unaligned(A + k * lda + i0);
        for (std::size_t j = 0; j < N; ++j) acc[j] = xsimd::fma(a, V(trans_b ? B[j * ldb + k] : B[k * ldb + j]), acc[j]);
      }
      for (std::size_t j = 0; j < N; ++j) acc[j].store_aligned(sums[j]);
    } else {  // the last rows: the same terms in the same order, one lane at a time
      for (std::size_t j = 0; j < N; ++j)
        for (std::size_t i = 0; i < m; ++i) {
          T s = T(0);
          for (std::size_t k = 0; k < K; ++k) s += A[k * lda + i0 + i] * (trans_b ? B[j * ldb + k] : B[k * ldb + j]);
          sums[j][i] = s;
        }
    }
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < N; ++j) {
        T& c = C[(i0 + i) * ldc + j];
        c = combine(alpha, sums[j][i], beta, c);
      }
  }
}

}  // namespace

template <class T>
void skinny_gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
                 std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
  if (trans_a)
    axpy_columns(trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  else
    dot_rows(trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template void skinny_gemm<float>(bool, bool, std::size_t, std::size_t, std::size_t, float, const float*, std::size_t,
                                 const float*, std::size_t, float, float*, std::size_t);
template void skinny_gemm<double>(bool, bool, std::size_t, std::size_t, std::size_t, double, const double*,
                                  std::size_t, const double*, std::size_t, double, double*, std::size_t);

}  // namespace tapir::kernels
