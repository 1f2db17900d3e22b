// Internal: the one SIMD/OpenMP loop every optimizer update runs in (not installed).
//
// fused_loop<T>(n, f, a0, a1, ...) loads one xsimd batch from each array at each position,
// calls f(b0, b1, ...) on them by reference, and stores back the arrays passed as `T*` (those
// passed as `const T*` are only read). So an update rule is written once, as its formula, and
// runs as a single pass over all its arrays. The tail goes through zero-padded batches, so every
// element is computed by the same instructions: results depend neither on where an element sits
// nor on the thread count.
#pragma once
#include <algorithm>
#include <array>
#include <cstddef>
#include <tuple>
#include <utility>
#include <xsimd/xsimd.hpp>

#include <tapir/core/simd.hpp>

namespace tapir::optim::detail {

template <class T>
using Batch = xsimd::batch<T>;

template <class T>
inline void store_back(T* p, const Batch<T>& b) {
  b.store_unaligned(p);
}
template <class T>
inline void store_back(const T*, const Batch<T>&) {}

template <class T>
inline void store_tail(T* p, const Batch<T>& b, std::size_t count) {
  alignas(64) T tmp[Batch<T>::size];
  b.store_aligned(tmp);
  std::copy(tmp, tmp + count, p);
}
template <class T>
inline void store_tail(const T*, const Batch<T>&, std::size_t) {}

template <class T, class F, class Ptrs, std::size_t... I>
inline void apply_batch(F& f, const Ptrs& ptrs, std::size_t i, std::index_sequence<I...>) {
  std::array<Batch<T>, sizeof...(I)> b{Batch<T>::load_unaligned(std::get<I>(ptrs) + i)...};
  f(b[I]...);
  (store_back(std::get<I>(ptrs) + i, b[I]), ...);
}

template <class T, class F, class Ptrs, std::size_t... I>
inline void apply_tail(F& f, const Ptrs& ptrs, std::size_t begin, std::size_t count,
                       std::index_sequence<I...>) {
  constexpr std::size_t W = Batch<T>::size;
  alignas(64) T padded[sizeof...(I)][W] = {};
  (std::copy(std::get<I>(ptrs) + begin, std::get<I>(ptrs) + begin + count, padded[I]), ...);
  std::array<Batch<T>, sizeof...(I)> b{Batch<T>::load_aligned(padded[I])...};
  f(b[I]...);
  (store_tail(std::get<I>(ptrs) + begin, b[I], count), ...);
}

template <class T, class F, class... P>
void fused_loop(std::size_t n, F f, P*... arrays) {
  constexpr std::size_t W = Batch<T>::size;
  const auto ptrs = std::make_tuple(arrays...);
  const auto idx = std::index_sequence_for<P...>{};
  const std::size_t body = n - n % W;
  simd::parallel_for(n >= simd::kParallelGrain, static_cast<std::ptrdiff_t>(body / W), [&](std::ptrdiff_t b) {
    apply_batch<T>(f, ptrs, static_cast<std::size_t>(b) * W, idx);
  });
  if (body < n) apply_tail<T>(f, ptrs, body, n - body, idx);
}

}  // namespace tapir::optim::detail
