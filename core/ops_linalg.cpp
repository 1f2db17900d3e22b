// Batched matrix product on the packed GEMM kernel.
#include <tapir/core/ops.hpp>
#include <tapir/core/tensor_ops.hpp>

namespace tapir {

namespace to = tensor_ops;

Var matmul(const Var& a, const Var& b) {
  const Tensor va = a.value(), vb = b.value();
  const Tensor out = to::matmul(va, vb);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return custom_op("matmul", out, {a, b}, [=](const Tensor& g) {
    Tensor ga, gb;
    // dA = G B^T, dB = A^T G, each summed over the batch dims its operand was broadcast along
    if (need_a) ga = to::sum_to(to::matmul(g, vb, false, true), va.shape());
    if (need_b) {
      if (vb.ndim() == 2 && va.ndim() > 2) {
        // shared B: fold the batch of A and G into the reduction dimension, one GEMM
        const std::size_t k = va.shape().back(), n = g.shape().back();
        gb = to::matmul(va.reshape({va.size() / k, k}), g.reshape({g.size() / n, n}), true, false);
      } else {
        gb = to::sum_to(to::matmul(va, g, true, false), vb.shape());
      }
    }
    return std::vector<Tensor>{ga, gb};
  });
}

}  // namespace tapir
