// Non-differentiable math on Tensors: what op backward closures (and custom ops) are written
// with. Same broadcasting and dtype rules as the differentiable ops in ops.hpp.
#pragma once
#include <utility>
#include <vector>

#include <tapir/core/tensor.hpp>

namespace tapir::tensor_ops {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, double factor);
Tensor neg(const Tensor& x);

/// Sums `x` down to `shape` (which broadcasts to x.shape()): the adjoint of broadcasting.
Tensor sum_to(const Tensor& x, const Shape& shape);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Max over the dims where `shape` has 1 and x does not (keepdims result of `shape`).
Tensor max_to(const Tensor& x, const Shape& shape);

/// out.shape[i] = x.shape[perm[i]].
Tensor permute(const Tensor& x, const std::vector<std::size_t>& perm);
/// Copies the strided sub-block x[begin[d] : begin[d] + step[d]*shape[d] : step[d]].
Tensor slice(const Tensor& x, const std::vector<std::size_t>& begin,
             const std::vector<std::size_t>& step, const Shape& shape);
/// Adjoint of slice: zeros of `full_shape` with `g` written at the sliced positions.
Tensor unslice(const Tensor& g, const Shape& full_shape, const std::vector<std::size_t>& begin,
               const std::vector<std::size_t>& step);

/// Batched op(a) @ op(b) with broadcast batch dims (op = transpose of the last two axes).
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

}  // namespace tapir::tensor_ops
