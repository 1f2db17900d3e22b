// General matrix multiply, row-major: C = alpha * op(A) * op(B) + beta * C, where
// op(A) is M x K (A^T if trans_a), op(B) is K x N (B^T if trans_b).
//
// Goto/BLIS design: B is packed into KC x NR row panels (shared by the threads), A into MR x KC
// column panels (one buffer per thread), and an xsimd register-blocked micro-kernel performs
// KC rank-1 updates of an MR x NR tile held in registers. Transposes are absorbed by packing.
// Products with at most 4 columns (a dense layer down to a few units) take a skinny path instead:
// dot products along K, or SIMD over M for A^T (kernels/gemm_skinny.hpp).
// Each C element is summed in the same order whatever the thread count: results are
// bit-identical at 1 and N threads. beta == 0 never reads C (it may hold garbage or NaN).
#pragma once
#include <cstddef>

namespace tapir::kernels {

template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, T alpha,
          const T* A, std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc);

}  // namespace tapir::kernels
