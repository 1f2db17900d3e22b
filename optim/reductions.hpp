// Internal reductions over gradients (not installed): the finiteness check every step() runs and
// the sums of squares behind the global gradient norm.
#pragma once
#include <cstddef>
#include <optional>

#include <tapir/core/tensor.hpp>

namespace tapir::optim::detail {

/// True if no element of `t` is NaN or ±inf (one read-only SIMD pass).
bool all_finite(const Tensor& t);
/// Flat index of the first NaN/±inf element, if any (a slow scan, for error messages).
std::optional<std::size_t> first_nonfinite(const Tensor& t);
/// Sum of squares in double. Fixed-size blocks are summed in a fixed order, so the result does
/// not depend on the thread count (needed for bit-identical resumed runs).
double sum_of_squares(const Tensor& t);

}  // namespace tapir::optim::detail
