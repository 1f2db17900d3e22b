// Public SIMD building blocks for modules and users that write their own fused elementwise
// kernels (the optimizers' updates, the spike-and-slab log-density, a user's custom op):
//
//   TAPIR_DISPATCH(t.dtype(), T, body)   runs body with T = float or double, t's element type
//   simd::map(n, out, f, in0, in1, ...)  out[i] = f(in0[i], in1[i], ...) over contiguous arrays,
//                                        f written once for xsimd batches (the tail goes through
//                                        a padded batch, so f needs no scalar overload); OpenMP
//                                        over fixed chunks from simd::kParallelGrain elements on
//   simd::map_costly(n, out, f, in...)   the same for an f that costs about a transcendental
//                                        function per element (log, softplus): OpenMP from
//                                        simd::kCostlyGrain elements on
//   simd::map_with_grain(grain, n, ...)  the same from `grain` elements on
//   simd::map_outputs(grain, n, {out0, out1, ...}, f, in...)
//                                        K outputs from one pass: f returns std::array<batch, K>;
//                                        a null out_k is not written (a value and its
//                                        derivative, or several partial derivatives sharing work)
//   simd::kParallelGrain                 below this many elements a loop stays on one thread
//   simd::parallel_for(parallel, n, body) body(i) for i < n, split over the OpenMP threads when
//                                        `parallel`, else a plain loop that never enters the
//                                        OpenMP runtime; parallel_for(parallel, n, threads,
//                                        body) on at most `threads` (see simd::team_for)
//
//   TAPIR_DISPATCH(x.dtype(), T, tapir::simd::map(x.size(), y.data<T>(),
//       [](auto v) { return v * v; }, x.data<T>()));
//
// Results do not depend on the thread count: every element is computed by the same batch code.
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include <xsimd/xsimd.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <tapir/core/tensor.hpp>

#define TAPIR_DISPATCH(dtype, T, ...)            \
  do {                                           \
    if ((dtype) == ::tapir::DType::float32) {    \
      using T = float;                           \
      __VA_ARGS__;                               \
    } else {                                     \
      using T = double;                          \
      __VA_ARGS__;                               \
    }                                            \
  } while (0)

namespace tapir::simd {

/// Below this many elements a loop runs on one thread: forking costs more than it saves.
constexpr std::size_t kParallelGrain = 1 << 15;
/// The same for loops whose elements each cost a transcendental function (softplus, log,
/// sigmoid): a fork and join of two threads costs 1.5-2 µs, which a softplus recovers from
/// about 8K floats on (4.8 -> 4.1-4.4 µs at 8192, 9 -> 6.4 at 16384; a loss at 4096), an add
/// only from 32K (measured at 1 and 2 threads). exp alone is cheap enough for the default.
constexpr std::size_t kCostlyGrain = 1 << 13;

template <class T> using Batch = xsimd::batch<T>;

/// Threads worth waking for a loop of `elements` whose grain is `grain`: one per half grain (two
/// at the grain), at most the OpenMP maximum — so that a loop just over its grain does not fork
/// a whole many-core team for a few batches per thread.
inline int team_for(std::size_t elements, std::size_t grain) {
#ifdef _OPENMP
  const std::size_t wanted = std::max<std::size_t>(2, elements / std::max<std::size_t>(1, grain / 2));
  return static_cast<int>(std::min<std::size_t>(wanted, static_cast<std::size_t>(omp_get_max_threads())));
#else
  (void)elements;
  (void)grain;
  return 1;
#endif
}

/// body(i) for every i < n: split statically over the OpenMP threads when `parallel`, else a
/// plain loop on this thread. Deciding before the region (not with an `if` clause) keeps a
/// serial loop out of the OpenMP runtime, where a region that stays on one thread still costs
/// 0.2 µs, and about 1 µs while a team of two exists (measured): a training step runs hundreds
/// of loops over small weight tensors.
/// This form uses at most `threads` threads (the other, all of them).
template <class Body>
void parallel_for(bool parallel, std::ptrdiff_t n, int threads, Body&& body) {
  if (parallel && n > 1 && threads > 1) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::ptrdiff_t i = 0; i < n; ++i) body(i);
  } else {
    for (std::ptrdiff_t i = 0; i < n; ++i) body(i);
  }
}

template <class Body>
void parallel_for(bool parallel, std::ptrdiff_t n, Body&& body) {
#ifdef _OPENMP
  parallel_for(parallel, n, omp_get_max_threads(), std::forward<Body>(body));
#else
  parallel_for(parallel, n, 1, std::forward<Body>(body));
#endif
}

/// out[i] = f(in0[i], ...) over every element, K outputs from one pass: f returns
/// std::array<Batch<T>, K>; a null outs[k] is skipped. The threads are used from `grain`
/// elements on (team_for(n, grain) of them).
template <class T, std::size_t K, class F, class... In>
void map_outputs(std::size_t grain, std::size_t n, const std::array<T*, K>& outs, F f, const In*... in) {
  constexpr std::size_t W = Batch<T>::size;
  const std::size_t body = n - n % W;
  const bool parallel = n >= grain;
  parallel_for(parallel, static_cast<std::ptrdiff_t>(body / W), parallel ? team_for(n, grain) : 1, [&](std::ptrdiff_t b) {
    const std::size_t i = static_cast<std::size_t>(b) * W;
    const std::array<Batch<T>, K> r = f(Batch<T>::load_unaligned(in + i)...);
    for (std::size_t k = 0; k < K; ++k)
      if (outs[k]) r[k].store_unaligned(outs[k] + i);
  });
  if (body < n) {
    const std::size_t rest = n - body;
    auto padded = [&](const T* p) {
      alignas(64) T tmp[W] = {};
      std::copy(p + body, p + n, tmp);
      return Batch<T>::load_aligned(tmp);
    };
    const std::array<Batch<T>, K> r = f(padded(in)...);
    for (std::size_t k = 0; k < K; ++k) {
      if (!outs[k]) continue;
      alignas(64) T res[W];
      r[k].store_aligned(res);
      std::copy(res, res + rest, outs[k] + body);
    }
  }
}

/// map() with the threads used from `grain` elements on: map_outputs with one output.
template <class T, class F, class... In>
void map_with_grain(std::size_t grain, std::size_t n, T* out, F f, const In*... in) {
  map_outputs<T, 1>(grain, n, {out}, [&f](auto... x) { return std::array<Batch<T>, 1>{f(x...)}; }, in...);
}

template <class T, class F, class... In>
void map(std::size_t n, T* out, F f, const In*... in) {
  map_with_grain(kParallelGrain, n, out, f, in...);
}

template <class T, class F, class... In>
void map_costly(std::size_t n, T* out, F f, const In*... in) {
  map_with_grain(kCostlyGrain, n, out, f, in...);
}

}  // namespace tapir::simd
