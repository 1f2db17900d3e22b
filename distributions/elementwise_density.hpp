// A log-density of x with parameters μ and σ as one differentiable op (private to the module):
// the value in one pass, the wanted gradients together in one more, where μ and σ each have
// x's shape or one element of no more dims (internal::elementwise_parameters). The caller writes the density
// and its partial derivatives for xsimd batches of x, μ and σ; a one-element parameter arrives
// as a constant batch, and its gradient is summed over x.
#pragma once
#include <array>
#include <cstddef>
#include <type_traits>
#include <vector>

#include <tapir/core/simd.hpp>
#include <tapir/core/tensor_ops.hpp>
#include <tapir/core/var.hpp>

namespace tapir::distributions::internal {

/// value(x, μ, σ) -> log p;  d_x, d_mu, d_sigma (g, x, μ, σ) -> g ∂ log p / ∂x, ∂μ, ∂σ.
template <class Value, class DX, class DMu, class DSigma>
Var elementwise_density(const char* op, const Var& x, const Var& mu, const Var& sigma, Value value, DX d_x,
                        DMu d_mu, DSigma d_sigma) {
  const Tensor xv = x.value(), mv = mu.value(), sv = sigma.value();
  const bool mu_one = mv.shape() != xv.shape(), sigma_one = sv.shape() != xv.shape();  // one element each
  // outs[k] = f(g, x, μ, σ)[k] over every element, one pass (an undefined outs[k] is not
  // written); a one-element parameter's pointer aliases x's (n elements, so its loads stay in
  // bounds) and the batch loaded through it is replaced
  auto pass = [=](const Tensor& g, auto& outs, auto f) {
    constexpr std::size_t K = std::tuple_size<std::remove_reference_t<decltype(outs)>>::value;
    TAPIR_DISPATCH(xv.dtype(), T, {
      const T m0 = mv.data<T>()[0], s0 = sv.data<T>()[0];
      const T* mp = mu_one ? xv.data<T>() : mv.data<T>();
      const T* sp = sigma_one ? xv.data<T>() : sv.data<T>();
      std::array<T*, K> out{};
      for (std::size_t k = 0; k < K; ++k) out[k] = outs[k].defined() ? outs[k].template data<T>() : nullptr;
      simd::map_outputs<T, K>(simd::kCostlyGrain, xv.size(), out, [=](auto gb, auto xb, auto mb, auto sb) {
        using B = decltype(xb);
        return f(gb, xb, mu_one ? B(m0) : mb, sigma_one ? B(s0) : sb);
      }, g.data<T>(), xv.data<T>(), mp, sp);
    });
  };
  // the value's pass has no incoming gradient: x stands in for it, unread by `value`
  std::array<Tensor, 1> lp{Tensor::empty(xv.shape(), xv.dtype())};
  pass(xv, lp, [value](auto, auto xb, auto mb, auto sb) {
    return std::array<decltype(xb), 1>{value(xb, mb, sb)};
  });
  const bool want_x = x.requires_grad(), want_mu = mu.requires_grad(), want_sigma = sigma.requires_grad();
  const Shape mu_shape = mv.shape(), sigma_shape = sv.shape();
  return custom_op(op, lp[0], {x, mu, sigma}, [=](const Tensor& g) {
    // every wanted gradient from one read of (g, x, μ, σ): the partials share their work (z and
    // its division, for the normal), and the KL terms want all three at every step
    auto wanted = [&](bool want) { return want ? Tensor::empty(xv.shape(), xv.dtype()) : Tensor(); };
    std::array<Tensor, 3> grads{wanted(want_x), wanted(want_mu), wanted(want_sigma)};
    pass(g, grads, [=](auto gb, auto xb, auto mb, auto sb) {
      return std::array<decltype(xb), 3>{d_x(gb, xb, mb, sb), d_mu(gb, xb, mb, sb), d_sigma(gb, xb, mb, sb)};
    });
    Tensor gx = grads[0], gmu = grads[1], gsigma = grads[2];
    if (mu_one && gmu.defined()) gmu = tensor_ops::sum_to(gmu, mu_shape);
    if (sigma_one && gsigma.defined()) gsigma = tensor_ops::sum_to(gsigma, sigma_shape);
    return std::vector<Tensor>{gx, gmu, gsigma};
  });
}

}  // namespace tapir::distributions::internal
