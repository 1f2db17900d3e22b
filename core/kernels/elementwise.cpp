#include "elementwise.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include <xsimd/xsimd.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace tapir::kernels {

std::vector<std::ptrdiff_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<std::ptrdiff_t> s(out.size(), 0);
  std::ptrdiff_t st = 1;
  const std::size_t lead = out.size() - in.size();
  for (std::size_t d = in.size(); d-- > 0;) {
    s[lead + d] = in[d] == 1 ? 0 : st;
    st *= static_cast<std::ptrdiff_t>(in[d]);
  }
  return s;
}

StridedLoop make_loop(const Shape& out, const std::vector<std::ptrdiff_t>& s0,
                      const std::vector<std::ptrdiff_t>& s1, const std::vector<std::ptrdiff_t>& s2) {
  StridedLoop loop;
  for (std::size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;  // size-1 dims contribute nothing
    const std::array<std::ptrdiff_t, 3> st{s0[d], s1.empty() ? 0 : s1[d], s2.empty() ? 0 : s2[d]};
    if (!loop.shape.empty()) {
      // merge with the previous dim when every operand walks both dims as one
      auto& prev = loop.strides.back();
      const auto n = static_cast<std::ptrdiff_t>(out[d]);
      if (prev[0] == st[0] * n && prev[1] == st[1] * n && prev[2] == st[2] * n) {
        loop.shape.back() *= out[d];
        prev = st;
        continue;
      }
    }
    loop.shape.push_back(out[d]);
    loop.strides.push_back(st);
  }
  return loop;
}

namespace {
// out = fold of `in` over the dims where out has size 1 (out broadcasts to in).
template <class T, class Combine>
void reduce_to(const Tensor& in, Tensor& out, T init, Combine combine) {
  const Shape& is = in.shape();
  // walk the input; the output's strides are 0 along the reduced dims
  std::vector<std::ptrdiff_t> si(is.size());
  std::ptrdiff_t st = 1;
  for (std::size_t d = is.size(); d-- > 0;) { si[d] = st; st *= static_cast<std::ptrdiff_t>(is[d]); }
  const StridedLoop loop = make_loop(is, si, broadcast_strides(out.shape(), is), {});
  const T* x = in.template data<T>();
  T* y = out.template data<T>();
  std::fill(y, y + out.size(), init);
  if (in.size() == 0) return;
  const std::size_t inner = loop.inner();
  const auto s = loop.inner_strides();
  const std::size_t outer = loop.outer();
  for (std::size_t o = 0; o < outer; ++o) {
    const auto off = loop.offsets(o);
    const T* xi = x + off[0];
    T* yo = y + off[1];
    if (s[1] == 0) {  // fold the inner run into one value
      T acc = *yo;
      for (std::size_t i = 0; i < inner; ++i) acc = combine(acc, xi[i * s[0]]);
      *yo = acc;
    } else {
      for (std::size_t i = 0; i < inner; ++i) yo[i * s[1]] = combine(yo[i * s[1]], xi[i * s[0]]);
    }
  }
}
// The sum of n contiguous values in a fixed order: chunks of kSumChunk values, each summed in
// 4 SIMD accumulators (lane-wise, then the lanes in order), the chunk sums added in chunk order —
// the same bits at any thread count, without the latency chain of one scalar accumulator.
constexpr std::size_t kSumChunk = 1 << 14;

template <class T> T chunk_sum(const T* x, std::size_t n) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = B::size;
  B acc[4] = {B(T(0)), B(T(0)), B(T(0)), B(T(0))};
  std::size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W)
    for (std::size_t a = 0; a < 4; ++a) acc[a] += B::load_unaligned(x + i + a * W);
  alignas(64) T lanes[W];
  ((acc[0] + acc[1]) + (acc[2] + acc[3])).store_aligned(lanes);
  T s = T(0);
  for (std::size_t l = 0; l < W; ++l) s += lanes[l];
  for (; i < n; ++i) s += x[i];
  return s;
}

// A many-row sum (at least kFewRows rows of at least 8 columns): runs of consecutive rows (at
// least kSumChunk values each; a count from the sizes alone), each run's columns added in row
// order, the runs' sums added in run order — the same bits at any thread count, and each thread
// reads the rows (the images) that the element-wise ops before it had that thread write.
// visit_row(i) runs on each row just before it is added (a pass that also reads the rows).
constexpr std::size_t kFewRows = 64;
template <class T, class VisitRow>
void sum_rows_in_runs(const T* x, std::size_t rows, std::size_t cols, T* sums, VisitRow visit_row) {
  constexpr std::size_t kMaxRuns = 16;
  const std::size_t size = rows * cols, runs = std::clamp<std::size_t>(size / kSumChunk, 1, kMaxRuns);
  std::vector<T> partial((runs - 1) * cols);
  simd::parallel_for(size >= kParallelGrain, static_cast<std::ptrdiff_t>(runs), [&](std::ptrdiff_t r) {
    const std::size_t r0 = rows * static_cast<std::size_t>(r) / runs;
    const std::size_t r1 = rows * static_cast<std::size_t>(r + 1) / runs;
    T* acc = r == 0 ? sums : partial.data() + (static_cast<std::size_t>(r) - 1) * cols;
    for (std::size_t i = r0; i < r1; ++i) {
      const T* xr = x + i * cols;
      visit_row(i);
      if (i == r0) {
        std::copy(xr, xr + cols, acc);
      } else {
#pragma omp simd
        for (std::size_t j = 0; j < cols; ++j) acc[j] += xr[j];
      }
    }
  });
  add_runs_in_order(sums, partial.data(), runs, cols, 0, cols);
}

// o[j] = s_j * x[j] for n values, s_j from bit b + j
template <class T>
inline void signed_values(const T* x, const std::uint16_t* words, std::size_t b, T* o, std::size_t n) {
  constexpr std::size_t W = Batch<T>::size;
  std::size_t j = 0;
  for (; j + W <= n; j += W) (Batch<T>::load_unaligned(x + j) * sign_batch<T>(words, b + j)).store_unaligned(o + j);
  for (; j < n; ++j) o[j] = sign_positive(words, b + j) ? x[j] * T(1) : x[j] * T(-1);
}

template <class T> T total_sum(const T* x, std::size_t n) {
  const std::size_t chunks = (n + kSumChunk - 1) / kSumChunk;
  std::vector<T> partial(chunks);
  simd::parallel_for(n >= 4 * kSumChunk, static_cast<std::ptrdiff_t>(chunks), [&](std::ptrdiff_t c) {
    const std::size_t begin = static_cast<std::size_t>(c) * kSumChunk;
    partial[static_cast<std::size_t>(c)] = chunk_sum(x + begin, std::min(kSumChunk, n - begin));
  });
  T s = T(0);
  for (T p : partial) s += p;
  return s;
}

}  // namespace

template <class T> void sum_to(const Tensor& in, Tensor& out) {
  const std::size_t n = out.size();
  if (in.size() == 0) {  // a sum over no rows (an empty batch's bias gradient): zeros
    std::fill_n(out.template data<T>(), n, T(0));
    return;
  }
  if (n == 1) {  // a total: vectorised, in a fixed order
    *out.template data<T>() = total_sum(in.template data<T>(), in.size());
    return;
  }
  if (n >= 8 && in.size() % n == 0 && in.ndim() >= out.ndim()) {
    // The bias-gradient pattern: out's shape is a suffix of in's (after leading 1s), so `in` is
    // rows of length n summed into one row; add whole rows with SIMD, in row order.
    bool rows = true;
    const std::size_t lead = in.ndim() - out.ndim();
    std::size_t row = 1;
    for (std::size_t d = 0; d < out.ndim(); ++d) {
      rows = rows && (out.shape()[d] == in.shape()[lead + d] || (row == 1 && out.shape()[d] == 1));
      row *= out.shape()[d];
    }
    if (rows && row == n) {
      const T* x = in.template data<T>();
      T* y = out.template data<T>();
      const std::size_t rows_count = in.size() / n;
      const bool parallel = in.size() >= kParallelGrain;
      if (rows_count >= kFewRows) {  // many rows (a batch of pixels)
        sum_rows_in_runs(x, rows_count, n, y, [](std::size_t) {});
        return;
      }
      // Few long rows: each thread takes one contiguous range of whole cache lines of columns,
      // and each column adds its rows in row order. Ranges share no line of y.
      constexpr std::size_t line = 64 / sizeof(T);
      const std::size_t lines = (n + line - 1) / line;
      int threads = 1;
#ifdef _OPENMP
      if (parallel) threads = static_cast<int>(std::min<std::size_t>(omp_get_max_threads(), lines));
#endif
      simd::parallel_for(threads > 1, threads, [&](std::ptrdiff_t t) {
        const std::size_t tt = static_cast<std::size_t>(t), nt = static_cast<std::size_t>(threads);
        const std::size_t j0 = lines * tt / nt * line, j1 = std::min(n, lines * (tt + 1) / nt * line);
        std::copy(x + j0, x + j1, y + j0);
        for (std::size_t r = 1; r < rows_count; ++r) {
          const T* xr = x + r * n;
#pragma omp simd
          for (std::size_t j = j0; j < j1; ++j) y[j] += xr[j];
        }
      });
      return;
    }
  }
  reduce_to<T>(in, out, T(0), [](T a, T b) { return a + b; });
}

template <class T> void max_to(const Tensor& in, Tensor& out) {
  reduce_to<T>(in, out, -std::numeric_limits<T>::infinity(),
               [](T a, T b) { return (b > a || b != b) ? b : a; });  // NaN propagates
}

// out[0..n) = value, over the threads from kParallelGrain values in one piece per thread (a
// sum's gradient broadcast to an output's shape was one std::fill on the calling thread: the
// coalesced loop has a single row). Equal pieces, whole cache lines, so that each thread fills
// what it will read next when the consumer splits the rows alike (blocks of 64K values split a
// 100K-value gradient 64:36). Streaming stores were tried for fills past 4 MiB and lost (1
// thread 1.17 -> 1.24 ms for a sum's fwd+bwd over 4.2M floats; the gradient's reader follows
// at once).
template <class T> void fill_value(T* out, std::size_t n, T value) {
  constexpr std::size_t kLine = 64 / sizeof(T);
#ifdef _OPENMP
  const std::size_t pieces = n >= kParallelGrain ? static_cast<std::size_t>(omp_get_max_threads()) : 1;
#else
  const std::size_t pieces = 1;
#endif
  const std::size_t piece = (n / pieces + kLine) / kLine * kLine;  // (>= n / pieces, whole lines)
  simd::parallel_for(pieces > 1, static_cast<std::ptrdiff_t>(pieces), [&](std::ptrdiff_t c) {
    const std::size_t i0 = std::min(n, static_cast<std::size_t>(c) * piece);
    std::fill(out + i0, out + std::min(n, i0 + piece), value);
  });
}

template <class T> void broadcast_copy(const Tensor& in, Tensor& out) {
  if (in.size() == 1) {  // one value everywhere (a sum's or mean's gradient): a fill
    fill_value(out.template data<T>(), out.size(), in.template data<T>()[0]);
    return;
  }
  const Shape& os = out.shape();
  std::vector<std::ptrdiff_t> so(os.size());
  std::ptrdiff_t st = 1;
  for (std::size_t d = os.size(); d-- > 0;) { so[d] = st; st *= static_cast<std::ptrdiff_t>(os[d]); }
  const StridedLoop loop = make_loop(os, so, broadcast_strides(in.shape(), os), {});
  const T* x = in.template data<T>();
  T* y = out.template data<T>();
  const std::size_t inner = loop.inner();
  const auto s = loop.inner_strides();
  const std::size_t outer = loop.outer();
  simd::parallel_for(out.size() >= kParallelGrain, static_cast<std::ptrdiff_t>(outer), [&](std::ptrdiff_t o) {
    const auto off = loop.offsets(static_cast<std::size_t>(o));
    T* yo = y + off[0];
    const T* xi = x + off[1];
    if (s[1] == 1) std::memcpy(yo, xi, inner * sizeof(T));
    else std::fill(yo, yo + inner, *xi);
  });
}

// body(i0, count) over [0, n) in blocks of 4096 values, over the threads from kParallelGrain
template <class Body> void in_blocks(std::size_t n, Body body) {
  constexpr std::size_t kBlock = 4096;
  simd::parallel_for(n >= kParallelGrain, static_cast<std::ptrdiff_t>((n + kBlock - 1) / kBlock), [&](std::ptrdiff_t c) {
    const std::size_t i0 = static_cast<std::size_t>(c) * kBlock;
    body(i0, std::min(kBlock, n - i0));
  });
}

template <class T> void apply_signs(const T* x, SignRun signs, T* out, std::size_t n) {
  in_blocks(n, [&](std::size_t i0, std::size_t count) { signed_values(x + i0, signs.words, signs.lead + i0, out + i0, count); });
}

template <class T>
void join_signed(const T* a, const T* b, SignRun signs, const T* bias, std::size_t rows, std::size_t cols,
                 const Activation& act, T* out) {
  using B = Batch<T>;
  constexpr std::size_t W = B::size;
  const std::size_t rows_per_block = std::max<std::size_t>(1, 4096 / std::max<std::size_t>(1, cols));
  const std::size_t blocks = (rows + rows_per_block - 1) / rows_per_block;
  // out[i0 .. i1) for whole rows (i0 a multiple of cols): a vector of values at a time, then
  // one by one; bias_at(k) gives the bias lanes of the vector k values into the run
  auto join_run = [&](std::size_t i0, std::size_t i1, auto bias_at) {
    std::size_t i = i0;
    for (; i + W <= i1; i += W) {
      B v = B::load_unaligned(a + i) + B::load_unaligned(b + i) * sign_batch<T>(signs.words, signs.lead + i);
      if (bias) v = v + bias_at(i - i0);
      v.store_unaligned(out + i);
    }
    for (; i < i1; ++i) {
      T v = a[i] + (sign_positive(signs.words, signs.lead + i) ? b[i] * T(1) : b[i] * T(-1));
      if (bias) v = v + bias[(i - i0) % cols];
      out[i] = v;
    }
    if (act) activate(act, out + i0, i1 - i0);
  };
  // Rows narrower than a vector whose width divides it (a one-channel output: cols 1) go as one
  // run per block: a block starts at a multiple of 4096 values, so lane l is always column
  // l % cols and the bias is one repeating vector. Row by row they took the scalar tail for
  // every value (the joins were 12 % of a 32 x 28 x 28 -> 1-channel Flipout conv-T's samples).
  const bool flat = cols > 0 && cols < W && W % cols == 0;
  alignas(64) T bias_lanes[W];
  if (flat)
    for (std::size_t l = 0; l < W; ++l) bias_lanes[l] = bias ? bias[l % cols] : T(0);
  simd::parallel_for(rows * cols >= kParallelGrain, static_cast<std::ptrdiff_t>(blocks), [&](std::ptrdiff_t blk) {
    const std::size_t r0 = static_cast<std::size_t>(blk) * rows_per_block, r1 = std::min(rows, r0 + rows_per_block);
    if (flat) {
      const B bias_vector = B::load_aligned(bias_lanes);
      join_run(r0 * cols, r1 * cols, [&](std::size_t) { return bias_vector; });
      return;
    }
    for (std::size_t r = r0; r < r1; ++r)
      join_run(r * cols, (r + 1) * cols, [&](std::size_t j) { return B::load_unaligned(bias + j); });
  });
}

template <class T>
void apply_activation_grad(const Activation& act, const T* g, const T* y, T* dz, std::size_t n) {
  in_blocks(n, [&](std::size_t i0, std::size_t count) { activation_grad(act, g + i0, y + i0, dz + i0, count); });
}

template <class T>
bool apply_signs_and_sum_rows(const T* x, SignRun signs, T* out, std::size_t rows, std::size_t cols, T* sums) {
  if (cols < 8 || rows < kFewRows) return false;
  sum_rows_in_runs(x, rows, cols, sums, [&](std::size_t i) {
    signed_values(x + i * cols, signs.words, signs.lead + i * cols, out + i * cols, cols);
  });
  return true;
}

template <class T>
bool activation_grad_signs_and_sum_rows(const Activation& act, const T* g, const T* y, SignRun signs, T* dz, T* out,
                                        std::size_t rows, std::size_t cols, T* sums) {
  if (cols < 8 || rows < kFewRows) return false;
  // sum_rows_in_runs visits row i before it reads dz's row i
  sum_rows_in_runs(static_cast<const T*>(dz), rows, cols, sums, [&](std::size_t i) {
    activation_grad(act, g + i * cols, y + i * cols, dz + i * cols, cols);
    signed_values(dz + i * cols, signs.words, signs.lead + i * cols, out + i * cols, cols);
  });
  return true;
}

template void apply_signs<float>(const float*, SignRun, float*, std::size_t);
template void apply_signs<double>(const double*, SignRun, double*, std::size_t);
template void join_signed<float>(const float*, const float*, SignRun, const float*, std::size_t, std::size_t,
                                 const Activation&, float*);
template void join_signed<double>(const double*, const double*, SignRun, const double*, std::size_t, std::size_t,
                                  const Activation&, double*);
template void apply_activation_grad<float>(const Activation&, const float*, const float*, float*, std::size_t);
template void apply_activation_grad<double>(const Activation&, const double*, const double*, double*, std::size_t);
template bool apply_signs_and_sum_rows<float>(const float*, SignRun, float*, std::size_t, std::size_t, float*);
template bool apply_signs_and_sum_rows<double>(const double*, SignRun, double*, std::size_t, std::size_t, double*);
template bool activation_grad_signs_and_sum_rows<float>(const Activation&, const float*, const float*, SignRun, float*,
                                                        float*, std::size_t, std::size_t, float*);
template bool activation_grad_signs_and_sum_rows<double>(const Activation&, const double*, const double*, SignRun,
                                                         double*, double*, std::size_t, std::size_t, double*);
template void sum_to<float>(const Tensor&, Tensor&);
template void sum_to<double>(const Tensor&, Tensor&);
template void max_to<float>(const Tensor&, Tensor&);
template void max_to<double>(const Tensor&, Tensor&);
template void fill_value<float>(float*, std::size_t, float);
template void fill_value<double>(double*, std::size_t, double);
template void broadcast_copy<float>(const Tensor&, Tensor&);
template void broadcast_copy<double>(const Tensor&, Tensor&);

}  // namespace tapir::kernels
