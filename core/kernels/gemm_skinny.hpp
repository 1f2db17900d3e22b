// C = alpha * op(A) op(B) + beta * C for products with at most kSkinnyColumns columns
// (internal header): a dense layer down to a few units, or its kernel gradient. The register
// tile of the GEMM driver would use N of its 32 columns and pack B with one memset per row;
// here the K (or M) axis goes on the SIMD lanes instead.
#pragma once
#include <cstddef>

namespace tapir::kernels {

inline constexpr std::size_t kSkinnyColumns = 4;

/// The skinny product, N <= kSkinnyColumns. Each C element sums its terms in an order set by
/// the shapes alone, so the result is the same at any thread count; beta == 0 never reads C.
template <class T>
void skinny_gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
                 std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc);

}  // namespace tapir::kernels
