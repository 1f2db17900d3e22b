// Core's internal elementwise machinery (not installed): map() and the dtype dispatch are the
// public <tapir/core/simd.hpp>; here are what only core's ops use:
//  - StridedLoop: NumPy-style broadcasting over up to 3 operands with dims coalesced, so the
//             common cases (same shape, bias over rows, scalar) become one long inner loop.
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <vector>

#include <xsimd/xsimd.hpp>

#include <tapir/core/simd.hpp>
#include <tapir/core/tensor.hpp>

#include "activation.hpp"
#include "sign_bits.hpp"

namespace tapir::kernels {

using simd::Batch;
using simd::kParallelGrain;
using simd::map;

/// y += a * x
template <class T> void axpy(std::size_t n, T a, const T* x, T* y) {
  map(n, y, [a](auto xv, auto yv) { return xsimd::fma(decltype(xv)(a), xv, yv); }, x, y);
}

/// acc[begin..end) += the partial sums of runs 1 .. runs - 1 (run g's at partial + (g - 1) *
/// stride), in run order: how the row sums and the kernel gradients that sum a batch's rows in
/// runs combine them — per element in a fixed order, so the same bits at any thread count.
template <class T>
void add_runs_in_order(T* acc, const T* partial, std::size_t runs, std::size_t stride, std::size_t begin,
                       std::size_t end) {
  for (std::size_t g = 1; g < runs; ++g) {
    const T* p = partial + (g - 1) * stride;
#pragma omp simd
    for (std::size_t e = begin; e < end; ++e) acc[e] += p[e];
  }
}

/// Broadcasting geometry for one output and up to two inputs, with dims coalesced.
struct StridedLoop {
  std::vector<std::size_t> shape;                        // coalesced output shape
  std::vector<std::array<std::ptrdiff_t, 3>> strides;    // per dim: out, in0, in1 (elements)
  std::size_t inner() const { return shape.empty() ? 1 : shape.back(); }
  std::array<std::ptrdiff_t, 3> inner_strides() const {
    return shape.empty() ? std::array<std::ptrdiff_t, 3>{0, 0, 0} : strides.back();
  }
  std::size_t outer() const {
    std::size_t n = 1;
    for (std::size_t d = 0; d + 1 < shape.size(); ++d) n *= shape[d];
    return n;
  }
  /// Offsets of outer iteration `o` (row-major over all dims but the last).
  std::array<std::ptrdiff_t, 3> offsets(std::size_t o) const {
    std::array<std::ptrdiff_t, 3> off{0, 0, 0};
    if (shape.size() < 2) return off;
    for (std::size_t d = shape.size() - 1; d-- > 0;) {
      const std::size_t idx = o % shape[d];
      o /= shape[d];
      for (int k = 0; k < 3; ++k) off[k] += static_cast<std::ptrdiff_t>(idx) * strides[d][k];
    }
    return off;
  }
};

/// Strides of `in` broadcast to `out` (0 where broadcast), contiguous row-major input.
std::vector<std::ptrdiff_t> broadcast_strides(const Shape& in, const Shape& out);
/// Builds a coalesced loop over `out`; operands given by their (broadcast) strides.
StridedLoop make_loop(const Shape& out, const std::vector<std::ptrdiff_t>& s0,
                      const std::vector<std::ptrdiff_t>& s1, const std::vector<std::ptrdiff_t>& s2);

/// out = f(a, b) with NumPy broadcasting (out has the broadcast shape, contiguous).
template <class T, class F>
void binary_broadcast(const Tensor& a, const Tensor& b, Tensor& out, F f) {
  const Shape& os = out.shape();
  std::vector<std::ptrdiff_t> so(os.size());
  std::ptrdiff_t st = 1;
  for (std::size_t d = os.size(); d-- > 0;) { so[d] = st; st *= static_cast<std::ptrdiff_t>(os[d]); }
  if (a.shape() == os && b.shape() == os) {
    map(out.size(), out.template data<T>(), f, a.template data<T>(), b.template data<T>());
    return;
  }
  const StridedLoop loop = make_loop(os, so, broadcast_strides(a.shape(), os),
                                     broadcast_strides(b.shape(), os));
  const T* pa = a.template data<T>();
  const T* pb = b.template data<T>();
  T* po = out.template data<T>();
  const std::size_t inner_all = loop.inner();
  const auto is = loop.inner_strides();
  const std::size_t outer = loop.outer();
  constexpr std::size_t W = Batch<T>::size;
  // a row of its own per thread at least: with one operand a single value the loop coalesces to
  // one row, which would run on the calling thread alone — split such rows into pieces
  constexpr std::size_t kPiece = std::size_t{1} << 15;  // a multiple of W
  const bool parallel = out.size() >= kParallelGrain;
  const std::size_t pieces = parallel && outer < 8 ? (inner_all + kPiece - 1) / kPiece : 1;
  const std::size_t piece_size = pieces > 1 ? kPiece : inner_all;
  simd::parallel_for(parallel, static_cast<std::ptrdiff_t>(outer * pieces), [&](std::ptrdiff_t item) {
    const std::size_t o = static_cast<std::size_t>(item) / pieces, first = static_cast<std::size_t>(item) % pieces * piece_size;
    const std::size_t inner = std::min(piece_size, inner_all - first);
    const auto off = loop.offsets(o);
    T* y = po + off[0] + static_cast<std::ptrdiff_t>(first) * is[0];
    const T* x0 = pa + off[1] + static_cast<std::ptrdiff_t>(first) * is[1];
    const T* x1 = pb + off[2] + static_cast<std::ptrdiff_t>(first) * is[2];
    std::size_t i = 0;
    if (is[1] == 1 && is[2] == 1) {
      for (; i + W <= inner; i += W)
        f(Batch<T>::load_unaligned(x0 + i), Batch<T>::load_unaligned(x1 + i)).store_unaligned(y + i);
    } else if (is[1] == 1 && is[2] == 0) {
      const Batch<T> c(*x1);
      for (; i + W <= inner; i += W) f(Batch<T>::load_unaligned(x0 + i), c).store_unaligned(y + i);
    } else if (is[1] == 0 && is[2] == 1) {
      const Batch<T> c(*x0);
      for (; i + W <= inner; i += W) f(c, Batch<T>::load_unaligned(x1 + i)).store_unaligned(y + i);
    }
    for (; i < inner; ++i) {  // tail, or both operands broadcast along the inner dim
      alignas(64) T r[W];
      f(Batch<T>(x0[i * is[1]]), Batch<T>(x1[i * is[2]])).store_aligned(r);
      y[i] = r[0];
    }
  });
}

/// out (shape `out.shape()`, broadcastable to in) = sum of `in` over the broadcast dims.
template <class T> void sum_to(const Tensor& in, Tensor& out);
/// out[i] = s_i * x[i] for n values, s_i = ±1 from bit signs.lead + i (out may be x).
template <class T> void apply_signs(const T* x, SignRun signs, T* out, std::size_t n);
/// out = act((a + s ⊙ b) + bias) for `rows` rows of `cols` values (bias: one per column, or
/// none; s: ±1 from bit signs.lead + i; out may be a) — Flipout's two products joined, with the
/// bits of the separate ops (s ⊙ b, + a, + bias, act), over the threads for long arrays.
template <class T>
void join_signed(const T* a, const T* b, SignRun signs, const T* bias, std::size_t rows, std::size_t cols,
                 const Activation& act, T* out);
/// dz = g ⊙ act'(z) for y = act(z), from y (activation_grad), over the threads for long arrays.
template <class T> void apply_activation_grad(const Activation& act, const T* g, const T* y, T* dz, std::size_t n);
/// One pass over `rows` rows of `cols` values: out = s ⊙ x (as apply_signs) and sums[j] = the
/// sum of x's column j — the bias gradient beside Flipout's sign-scaled output gradient, with the
/// bits that sum_to gives for the sum (the same runs of rows, in the same order). Returns false,
/// writing nothing, where sum_to would sum another way (fewer than 8 columns or 64 rows).
template <class T>
bool apply_signs_and_sum_rows(const T* x, SignRun signs, T* out, std::size_t rows, std::size_t cols, T* sums);
/// The same for the gradient through an activation y = act(z): one pass over `rows` rows of g
/// and y writes dz = g ⊙ act'(z) (activation_grad), out = s ⊙ dz and sums[j] = the sum of dz's
/// column j (sum_to's runs and order: its bits). False, with nothing written, where sum_to would
/// not take the many-row path (fewer than 64 rows or 8 columns).
template <class T>
bool activation_grad_signs_and_sum_rows(const Activation& act, const T* g, const T* y, SignRun signs, T* dz, T* out,
                                        std::size_t rows, std::size_t cols, T* sums);
/// out = max of `in` over the broadcast dims (NaN propagates).
template <class T> void max_to(const Tensor& in, Tensor& out);
/// out = in broadcast to out.shape().
template <class T> void broadcast_copy(const Tensor& in, Tensor& out);
/// out[0..n) = value (over the threads from kParallelGrain values)
template <class T> void fill_value(T* out, std::size_t n, T value);

}  // namespace tapir::kernels
