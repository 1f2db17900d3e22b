// The activations that a fused product applies to its output while the output is in cache
// (internal header): relu and leaky relu, computed with the batch arithmetic of tapir::relu and
// tapir::leaky_relu (a tail goes through the same batch code, padded), so a fused op gives the
// bits of the op followed by the activation.
//
// The gradient is taken from the activation's output y instead of its input z: for relu and for
// leaky relu with a slope >= 0, y > 0 exactly where z > 0 (a NaN z gives y = NaN for leaky relu
// and y = 0 for relu, as _mm512_max_ps returns its second operand: not > 0 either way), so
// g ⊙ act'(z) needs no tensor of z.
#pragma once
#include <algorithm>
#include <cstddef>

#include <xsimd/xsimd.hpp>

namespace tapir::kernels {

struct Activation {
  enum class Kind { none, relu, leaky_relu };
  Kind kind = Kind::none;
  double negative_slope = 0;  // leaky_relu: >= 0
  explicit operator bool() const { return kind != Kind::none; }
};

namespace activation_detail {
// o[0..n) = f(x[0..n)) (and of a second input), a tail as one zero-padded batch
template <class T, class F>
inline void apply(std::size_t n, T* o, F f, const T* x, const T* x2 = nullptr) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = B::size;
  std::size_t j = 0;
  for (; j + W <= n; j += W)
    f(B::load_unaligned(x + j), x2 ? B::load_unaligned(x2 + j) : B(T(0))).store_unaligned(o + j);
  if (j < n) {
    alignas(64) T a[W] = {}, b[W] = {}, r[W];
    std::copy(x + j, x + n, a);
    if (x2) std::copy(x2 + j, x2 + n, b);
    f(B::load_aligned(a), B::load_aligned(b)).store_aligned(r);
    std::copy(r, r + (n - j), o + j);
  }
}
}  // namespace activation_detail

/// v[0..n) = act(v[0..n)), in place.
template <class T>
inline void activate(const Activation& act, T* v, std::size_t n) {
  using B = xsimd::batch<T>;
  if (act.kind == Activation::Kind::relu) {
    activation_detail::apply(n, v, [](B z, B) { return xsimd::max(z, B(T(0))); }, v);
  } else if (act.kind == Activation::Kind::leaky_relu) {
    const T slope = static_cast<T>(act.negative_slope);
    activation_detail::apply(n, v, [slope](B z, B) { return xsimd::select(z > B(T(0)), z, z * B(slope)); }, v);
  }
}

/// dz[0..n) = g ⊙ act'(z) for y = act(z), from y (dz may be g).
template <class T>
inline void activation_grad(const Activation& act, const T* g, const T* y, T* dz, std::size_t n) {
  using B = xsimd::batch<T>;
  if (act.kind == Activation::Kind::relu) {
    activation_detail::apply(n, dz, [](B gg, B yy) { return xsimd::select(yy > B(T(0)), gg, B(T(0))); }, g, y);
  } else if (act.kind == Activation::Kind::leaky_relu) {
    const T slope = static_cast<T>(act.negative_slope);
    activation_detail::apply(n, dz, [slope](B gg, B yy) { return xsimd::select(yy > B(T(0)), gg, gg * B(slope)); }, g, y);
  } else if (dz != g) {
    std::copy(g, g + n, dz);
  }
}

}  // namespace tapir::kernels
