#include <tapir/core/kernels/gemm.hpp>

#include "gemm_driver.hpp"
#include "gemm_skinny.hpp"

namespace tapir::kernels {

template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, T alpha,
          const T* A, std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
  if (N <= kSkinnyColumns && N > 0 && M > 0) {
    skinny_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  using S = MatmulShape<T>;
  // op(A)(i, k) = A[i*lda + k] or A[k*lda + i]; op(B)(k, j) likewise.
  const std::size_t a_rs = trans_a ? 1 : lda, a_cs = trans_a ? lda : 1;
  const std::size_t b_rs = trans_b ? 1 : ldb, b_cs = trans_b ? ldb : 1;
  auto pack_b = [&](T* dst, std::size_t j0, std::size_t n, std::size_t k0, std::size_t kc) {
    pack_b_strided<T, S>(dst, B, b_rs, b_cs, j0, n, k0, kc);
  };
  auto c_row = [&](std::size_t i) { return C + i * ldc; };
  if (trans_a) {  // A's columns are contiguous: k-major panels
    gemm_driver<T, APanel::k_major, BPack::panels, S>(
        M, N, K, alpha, beta,
        [&](T* dst, std::size_t i0, std::size_t m, std::size_t k0, std::size_t kc) {
          pack_a_strided<T, S>(dst, A, a_rs, a_cs, i0, m, k0, kc);
        },
        pack_b, c_row);
  } else {  // A's rows are contiguous: row panels, packed by copying
    gemm_driver<T, APanel::rows, BPack::panels, S>(
        M, N, K, alpha, beta,
        [&](T* dst, std::size_t i0, std::size_t m, std::size_t k0, std::size_t kc) {
          pack_a_rows<T, S>(dst, A, lda, i0, m, k0, kc);
        },
        pack_b, c_row);
  }
}

template void gemm<float>(bool, bool, std::size_t, std::size_t, std::size_t, float, const float*,
                          std::size_t, const float*, std::size_t, float, float*, std::size_t);
template void gemm<double>(bool, bool, std::size_t, std::size_t, std::size_t, double,
                           const double*, std::size_t, const double*, std::size_t, double, double*,
                           std::size_t);

}  // namespace tapir::kernels
