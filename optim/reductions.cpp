#include "reductions.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <tapir/core/simd.hpp>
#include "update_loop.hpp"

namespace tapir::optim::detail {

namespace {

// x - x is 0 for finite x and NaN for NaN or ±inf, so the sum of (x - x) over a block is NaN
// exactly when the block holds a non-finite value — no compares or masks in the loop.
template <class T>
bool all_finite_impl(const T* x, std::size_t n) {
  constexpr std::size_t W = Batch<T>::size;
  constexpr std::size_t kBlock = 4096;
  const std::ptrdiff_t blocks = static_cast<std::ptrdiff_t>((n + kBlock - 1) / kBlock);
  thread_local std::vector<unsigned char> bad_blocks;  // per block; reused: no allocation once grown
  bad_blocks.assign(static_cast<std::size_t>(blocks), 0);
  unsigned char* bad = bad_blocks.data();  // (a thread_local name in the loop would be the worker's own)
  simd::parallel_for(n >= simd::kParallelGrain, blocks, [&](std::ptrdiff_t b) {
    const std::size_t begin = static_cast<std::size_t>(b) * kBlock;
    const std::size_t end = std::min(n, begin + kBlock);
    Batch<T> acc(T(0));
    std::size_t i = begin;
    for (; i + W <= end; i += W) {
      const Batch<T> v = Batch<T>::load_unaligned(x + i);
      acc += v - v;
    }
    T tail = 0;
    for (; i < end; ++i) tail += x[i] - x[i];
    bad[static_cast<std::size_t>(b)] = !std::isfinite(xsimd::hadd(acc) + tail);
  });
  return std::none_of(bad, bad + blocks, [](unsigned char b) { return b != 0; });
}

// Squares are summed in T within 256-element runs (small enough for float32 to stay accurate),
// each run is added in double, and chunks of 64 Ki elements are combined in chunk order.
template <class T>
double sum_of_squares_impl(const T* x, std::size_t n) {
  constexpr std::size_t W = Batch<T>::size;
  constexpr std::size_t kRun = 256;
  constexpr std::size_t kChunk = std::size_t(1) << 16;
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  thread_local std::vector<double> partial;  // reused: no allocation once grown
  partial.assign(chunks, 0.0);
  double* out = partial.data();
  simd::parallel_for(n >= simd::kParallelGrain, static_cast<std::ptrdiff_t>(chunks), [&](std::ptrdiff_t c) {
    const std::size_t begin = static_cast<std::size_t>(c) * kChunk;
    const std::size_t end = std::min(n, begin + kChunk);
    double chunk_sum = 0;
    for (std::size_t r = begin; r < end; r += kRun) {
      const std::size_t run_end = std::min(end, r + kRun);
      Batch<T> acc(T(0));
      std::size_t i = r;
      for (; i + W <= run_end; i += W) {
        const Batch<T> v = Batch<T>::load_unaligned(x + i);
        acc = xsimd::fma(v, v, acc);
      }
      double run_sum = static_cast<double>(xsimd::hadd(acc));
      for (; i < run_end; ++i) run_sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
      chunk_sum += run_sum;
    }
    out[c] = chunk_sum;
  });
  double total = 0;
  for (std::size_t c = 0; c < chunks; ++c) total += out[c];
  return total;
}

}  // namespace

bool all_finite(const Tensor& t) {
  bool ok = true;
  TAPIR_DISPATCH(t.dtype(), T, ok = all_finite_impl(t.data<T>(), t.size()));
  return ok;
}

std::optional<std::size_t> first_nonfinite(const Tensor& t) {
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(t.at(i))) return i;
  return std::nullopt;
}

double sum_of_squares(const Tensor& t) {
  double s = 0;
  TAPIR_DISPATCH(t.dtype(), T, s = sum_of_squares_impl(t.data<T>(), t.size()));
  return s;
}

}  // namespace tapir::optim::detail
