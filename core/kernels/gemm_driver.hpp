// The GEMM loop nest behind kernels::gemm (matmul) and the packed products of the convolution
// engine (internal header).
//
// C[i, :] (+)= alpha * sum_k A(i, k) * B(k, :), with A, B and the rows of C supplied by functors:
//   pack_a(dst, i0, m, k0, kc)  writes the MR x kc micro-panel of rows i0..i0+m, rows >= m
//                               zero-filled, in one of two layouts (APanel): k_major, MR values
//                               per k (dst[k * MR + i]: for sources where A's columns are
//                               contiguous), or rows, one row of stride KCA per i (dst[i * KCA + k]:
//                               for sources where A's rows are contiguous, so packing is a copy),
//   pack_b(dst, j0, n, k0, kc)  writes the kc x NR micro-panel of columns j0..j0+n (NR values
//                               per k, columns >= n zero-filled) — or, with BPack::rows,
//   pack_b(dst, jc, nc, k0, kc, r0, r1)  writes rows r0..r1 (of kc) of every panel of the block
//                               of columns jc..jc+nc at once (panel p at dst + p * kc * NR), for
//                               sources whose rows are gathered (each read once, not per panel),
//   c_row(i)                    returns the address of row i of C (N contiguous values).
// kernels::gemm packs from strided matrices; the implicit-GEMM convolutions of
// kernels/conv_gemm.hpp pack image patches and weights straight into the panels.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "scratch.hpp"
#include "sign_bits.hpp"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace tapir::kernels {

template <class T> struct GemmShape {
  static constexpr std::size_t W = xsimd::batch<T>::size;  // SIMD lanes
  static constexpr std::size_t NV = 2;                     // tile columns: two vectors
  static constexpr std::size_t NR = NV * W;
  static constexpr std::size_t MR = W >= 4 ? 12 : 4;       // tile rows: 24 accumulators
  static constexpr std::size_t KC = 256;  // B micro-panel (KC x NR: 32 KiB float) leaves L1 room for A
  // Row stride of a rows-layout A micro-panel: one cache line more than KC, so that its MR rows
  // (read together at each k) do not fall into the same few L1 sets, as rows 1 KiB apart would.
  static constexpr std::size_t KCA = KC + 64 / sizeof(T);
  static constexpr std::size_t MC = sizeof(T) == 4 ? 480 : 240;  // A block stays in L2
  static constexpr std::size_t NC = 3072;                        // B block stays in L3
};

/// The tile of kernels::gemm (matmul): with 512-bit vectors (AVX-512, 32 vector registers), 6
/// rows of four vectors — 24 accumulators as in GemmShape's 12 x 2, but 6 broadcasts and 4
/// loads per 24 FMAs instead of 12 and 2 (SGEMM 2048 4-10 % faster, measured side by side).
/// Each element sums its K in the same order as with GemmShape, so the bits do not change.
/// Narrower vectors keep GemmShape's tile. The convolution engine's packers write GemmShape's
/// panels and keep it.
template <class T, bool wide = sizeof(T) * GemmShape<T>::W == 64> struct MatmulShape : GemmShape<T> {};
template <class T> struct MatmulShape<T, true> : GemmShape<T> {
  static constexpr std::size_t NV = 4, MR = 6;
  static constexpr std::size_t NR = NV * GemmShape<T>::W;
};

/// Threads for a product of M x N x K: one for tiny products, which are not worth waking a
/// second thread; the OpenMP maximum otherwise.
inline int gemm_threads(std::size_t M, std::size_t N, std::size_t K) {
#ifdef _OPENMP
  if (static_cast<double>(M) * N * K >= 1 << 18) return omp_get_max_threads();
#endif
  return 1;
}

/// M rows in blocks of about `mc` rows (a multiple of `mr`), as many blocks as a multiple of the
/// threads so that they spread evenly; with fewer blocks than threads the columns are split too.
struct RowBlocks {
  std::size_t size, count, column_splits;
};
inline RowBlocks row_blocks(std::size_t M, std::size_t mc, std::size_t mr, int threads) {
  const std::size_t t = static_cast<std::size_t>(threads);
  const std::size_t wanted = ((M + mc - 1) / mc + t - 1) / t * t;
  const std::size_t size = std::max(mr, ((M + wanted - 1) / wanted + mr - 1) / mr * mr);
  const std::size_t count = (M + size - 1) / size;
  return {size, count, count >= t ? 1 : t};
}

/// How pack_a lays out an A micro-panel, and how pack_b is called (see the top of this file).
enum class APanel { k_major, rows };
enum class BPack { panels, rows };

/// The scales s[i, j] of a tile's rows i, columns j (from the tile's first column on), as the
/// epilogue reads them — two kinds, chosen at compile time so that the plain products' tiles
/// carry no sign-bit code: ValueRows, none (null: s = 1) or s = rows[i][j]; SignRows,
/// Rademacher signs one bit per value, s = ±1 from bit at[i] + j of words (kernels/sign_bits.hpp).
template <class T>
struct ValueRows {
  const T* const* rows = nullptr;
  explicit operator bool() const { return rows != nullptr; }
  xsimd::batch<T> batch(std::size_t i, std::size_t j) const { return xsimd::batch<T>::load_unaligned(rows[i] + j); }
  T at(std::size_t i, std::size_t j) const { return rows[i][j]; }
};
template <class T>
struct SignRows {
  const std::uint16_t* words;
  const std::size_t* at_bit;
  explicit operator bool() const { return true; }
  xsimd::batch<T> batch(std::size_t i, std::size_t j) const { return sign_batch<T>(words, at_bit[i] + j); }
  T at(std::size_t i, std::size_t j) const { return sign_positive(words, at_bit[i] + j) ? T(1) : T(-1); }
};

/// The epilogue of a register tile: C rows i < m, columns j0..j0+n:
/// c = beta * c + s ⊙ (alpha * acc) + bias, s = 1 where s_rows is empty, bias (one value per
/// column, indexed from 0) = 0 where null; beta == 0 never reads c.
/// (Inlined into the micro-kernels: a call per tile costs 2 % of Flipout's time.)
template <class T, class Scales = ValueRows<T>>
__attribute__((always_inline)) inline void store_tile(const xsimd::batch<T>* acc0, const xsimd::batch<T>* acc1,
                                                      T alpha, T beta, T* const* c_rows, Scales s_rows,
                                                      std::size_t j0, std::size_t m, std::size_t n,
                                                      const T* bias = nullptr) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = GemmShape<T>::W;
  const B va(alpha), vb(beta);
  if (n == GemmShape<T>::NR) {
    for (std::size_t i = 0; i < m; ++i) {
      T* c = c_rows[i] + j0;
      B r0 = va * acc0[i], r1 = va * acc1[i];
      if (s_rows) {
        r0 *= s_rows.batch(i, j0);
        r1 *= s_rows.batch(i, j0 + W);
      }
      if (beta != T(0)) {
        r0 = xsimd::fma(vb, B::load_unaligned(c), r0);
        r1 = xsimd::fma(vb, B::load_unaligned(c + W), r1);
      }
      if (bias) {
        r0 += B::load_unaligned(bias + j0);
        r1 += B::load_unaligned(bias + j0 + W);
      }
      r0.store_unaligned(c);
      r1.store_unaligned(c + W);
    }
  } else if (n == W) {  // one whole vector (the one-vector tiles): the same steps on it alone
    for (std::size_t i = 0; i < m; ++i) {
      T* c = c_rows[i] + j0;
      B r0 = va * acc0[i];
      if (s_rows) r0 *= s_rows.batch(i, j0);
      if (beta != T(0)) r0 = xsimd::fma(vb, B::load_unaligned(c), r0);
      if (bias) r0 += B::load_unaligned(bias + j0);
      r0.store_unaligned(c);
    }
  } else {
    alignas(64) T tile[2 * W];
    for (std::size_t i = 0; i < m; ++i) {
      T* c = c_rows[i] + j0;
      (va * acc0[i]).store_aligned(tile);
      (va * acc1[i]).store_aligned(tile + W);
      if (s_rows)
        for (std::size_t j = 0; j < n; ++j) tile[j] *= s_rows.at(i, j0 + j);
      for (std::size_t j = 0; j < n; ++j) c[j] = beta != T(0) ? beta * c[j] + tile[j] : tile[j];
      if (bias)
        for (std::size_t j = 0; j < n; ++j) c[j] += bias[j0 + j];
    }
  }
}

/// k steps of a register tile per software prefetch issued from inside its FMA loop.
inline constexpr std::size_t kPrefetchSpacing = 4;

/// MR x NR register tile of shape S: KC rank-1 updates, then C rows (+)= alpha * tile.
template <class T, APanel L, class S = GemmShape<T>>
inline void micro_kernel(std::size_t kc, const T* __restrict a, const T* __restrict b, T alpha,
                         T beta, T* const* c_rows, std::size_t j0, std::size_t m, std::size_t n) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = S::W, MR = S::MR, NV = S::NV, KCA = S::KCA;
  static_assert(NV % 2 == 0, "store_tile writes vector pairs");
  B acc[NV][MR];
  // The C tile is written after kc steps: fetch its lines while the first steps run, so the
  // stores do not wait on memory — one line per kPrefetchSpacing steps (issued together, a
  // tile's 24-36 lines fill every fill buffer and the core waits on the prefetches themselves).
  constexpr std::size_t line = 64 / sizeof(T), lines_per_row = S::NR / line + 1;
  const T* c_lines[MR * lines_per_row];
  std::size_t lines = 0, fetched = 0;
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < S::NR; j += line) c_lines[lines++] = c_rows[i] + j0 + j;
    c_lines[lines++] = c_rows[i] + j0 + S::NR - 1;  // the last line, where the row is not aligned
  }
#pragma GCC unroll 4
  for (std::size_t v = 0; v < NV; ++v)
#pragma GCC unroll 12
    for (std::size_t i = 0; i < MR; ++i) acc[v][i] = B(T(0));
  auto step = [&](std::size_t k) __attribute__((always_inline)) {
    B bv[NV];
#pragma GCC unroll 4
    for (std::size_t v = 0; v < NV; ++v) bv[v] = B::load_aligned(b + v * W);
#pragma GCC unroll 12
    for (std::size_t i = 0; i < MR; ++i) {
      const B ai(L == APanel::rows ? a[i * KCA + k] : a[k * MR + i]);
#pragma GCC unroll 4
      for (std::size_t v = 0; v < NV; ++v) acc[v][i] = xsimd::fma(ai, bv[v], acc[v][i]);
    }
    b += S::NR;
  };
  std::size_t k = 0;
  for (; fetched < lines && k + kPrefetchSpacing <= kc; k += kPrefetchSpacing) {
    __builtin_prefetch(c_lines[fetched++], 1);
#pragma GCC unroll 4
    for (std::size_t q = 0; q < kPrefetchSpacing; ++q) step(k + q);
  }
  for (; fetched < lines; ++fetched) __builtin_prefetch(c_lines[fetched], 1);  // a short kc
#pragma GCC unroll 4
  for (; k < kc; ++k) step(k);
  for (std::size_t v = 0; v < NV && v * W < n; v += 2)  // columns j0 + v W .. in pairs of vectors
    store_tile<T>(acc[v], acc[v + 1], alpha, beta, c_rows, ValueRows<T>{}, j0 + v * W, m, std::min(n - v * W, 2 * W));
}

template <class T, APanel L = APanel::k_major, BPack BP = BPack::panels, class S = GemmShape<T>, class PackA,
          class PackB, class CRow>
void gemm_driver(std::size_t M, std::size_t N, std::size_t K, T alpha, T beta, PackA&& pack_a,
                 PackB&& pack_b, CRow&& c_row) {
  constexpr std::size_t MR = S::MR, NR = S::NR, KC = S::KC, NC = S::NC;
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta * C
    for (std::size_t i = 0; i < M; ++i) {
      T* c = c_row(i);
      for (std::size_t j = 0; j < N; ++j) c[j] = beta == T(0) ? T(0) : beta * c[j];
    }
    return;
  }
  const int threads = gemm_threads(M, N, K);
  const RowBlocks blocks = row_blocks(M, S::MC, MR, threads);
  const std::size_t MC = blocks.size, m_blocks = blocks.count, n_splits = blocks.column_splits;

  static thread_local Scratch<T> b_scratch;
  const std::size_t nc_max = std::min(NC, ((N + NR - 1) / NR) * NR);
  T* bp = b_scratch.get(KC * nc_max);

#pragma omp parallel num_threads(threads)
  {
    static thread_local Scratch<T> a_scratch;
    T* ap = a_scratch.get(MC * S::KCA);
    T* rows[MR];
    for (std::size_t jc = 0; jc < N; jc += NC) {
      const std::size_t nc = std::min(NC, N - jc);
      const std::size_t n_panels = (nc + NR - 1) / NR;
      for (std::size_t pc = 0; pc < K; pc += KC) {
        const std::size_t kc = std::min(KC, K - pc);
        const T beta_here = pc == 0 ? beta : T(1);
        if constexpr (BP == BPack::rows) {
          constexpr std::size_t rows_per_chunk = 16;
#pragma omp for schedule(static)
          for (std::ptrdiff_t r = 0; r < static_cast<std::ptrdiff_t>((kc + rows_per_chunk - 1) / rows_per_chunk); ++r)
            pack_b(bp, jc, nc, pc, kc, r * rows_per_chunk, std::min(kc, (r + 1) * rows_per_chunk));
        } else {
#pragma omp for schedule(static)
          for (std::ptrdiff_t p = 0; p < static_cast<std::ptrdiff_t>(n_panels); ++p) {
            const std::size_t j0 = jc + p * NR;
            pack_b(bp + p * kc * NR, j0, std::min(NR, jc + nc - j0), pc, kc);
          }
        }
        const std::size_t tasks = m_blocks * n_splits;
#pragma omp for schedule(static)
        for (std::ptrdiff_t t = 0; t < static_cast<std::ptrdiff_t>(tasks); ++t) {
          const std::size_t ic = (t / n_splits) * MC;
          const std::size_t split = t % n_splits;
          const std::size_t mc = std::min(MC, M - ic);
          const std::size_t p_begin = n_panels * split / n_splits;
          const std::size_t p_end = n_panels * (split + 1) / n_splits;
          if (p_begin == p_end) continue;
          for (std::size_t ir = 0; ir < mc; ir += MR)
            pack_a(ap + ir * S::KCA, ic + ir, std::min(MR, mc - ir), pc, kc);
          for (std::size_t p = p_begin; p < p_end; ++p) {
            const std::size_t j0 = jc + p * NR;
            const std::size_t n = std::min(NR, jc + nc - j0);
            for (std::size_t ir = 0; ir < mc; ir += MR) {
              const std::size_t m = std::min(MR, mc - ir);
              for (std::size_t i = 0; i < m; ++i) rows[i] = c_row(ic + ir + i);
              micro_kernel<T, L, S>(kc, ap + ir * S::KCA, bp + p * kc * NR, alpha, beta_here, rows, j0, m, n);
            }
          }
        }
      }
    }
  }
}

/// Packs an MR x kc micro-panel of a strided matrix with contiguous rows (element (i, k) at
/// a[i * rs + k]) in the rows layout.
template <class T, class S = GemmShape<T>>
inline void pack_a_rows(T* dst, const T* a, std::size_t rs, std::size_t i0, std::size_t m, std::size_t k0,
                        std::size_t kc) {
  constexpr std::size_t MR = S::MR, KCA = S::KCA;
  for (std::size_t i = 0; i < m; ++i) std::copy_n(a + (i0 + i) * rs + k0, kc, dst + i * KCA);
  for (std::size_t i = m; i < MR; ++i) std::fill_n(dst + i * KCA, kc, T(0));
}

/// Packs an MR x kc micro-panel of a strided matrix in the k_major layout: element (i, k) at a[i * rs + k * cs].
template <class T, class S = GemmShape<T>>
inline void pack_a_strided(T* dst, const T* a, std::size_t rs, std::size_t cs, std::size_t i0,
                           std::size_t m, std::size_t k0, std::size_t kc) {
  constexpr std::size_t MR = S::MR;
  if (rs == 1) {  // A^T: the m values of one k are contiguous, so read them as a run
    for (std::size_t k = 0; k < kc; ++k) {
      const T* src = a + i0 + (k0 + k) * cs;
      T* d = dst + k * MR;
      std::copy(src, src + m, d);
      std::fill(d + m, d + MR, T(0));
    }
    return;
  }
  for (std::size_t i = 0; i < m; ++i) {
    const T* src = a + (i0 + i) * rs + k0 * cs;
    for (std::size_t k = 0; k < kc; ++k) dst[k * MR + i] = src[k * cs];
  }
  for (std::size_t i = m; i < MR; ++i)
    for (std::size_t k = 0; k < kc; ++k) dst[k * MR + i] = T(0);
}

/// Packs a kc x NR micro-panel of a strided matrix: element (k, j) at b[k * rs + j * cs].
template <class T, class S = GemmShape<T>>
inline void pack_b_strided(T* dst, const T* b, std::size_t rs, std::size_t cs, std::size_t j0,
                           std::size_t n, std::size_t k0, std::size_t kc) {
  constexpr std::size_t NR = S::NR;
  for (std::size_t k = 0; k < kc; ++k) {
    const T* src = b + (k0 + k) * rs + j0 * cs;
    T* d = dst + k * NR;
    if (cs == 1 && n == NR) {  // a whole panel row: constant size, inlined (no memmove call per row)
      std::memcpy(d, src, NR * sizeof(T));
    } else if (cs == 1) {
      std::copy(src, src + n, d);
    } else {
      for (std::size_t j = 0; j < n; ++j) d[j] = src[j * cs];
    }
    std::fill(d + n, d + NR, T(0));
  }
}

}  // namespace tapir::kernels
