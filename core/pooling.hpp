// Pooling, rank 1, 2 and 3, channels-last, TF/Keras semantics: input `B + spatial + [channels]`
// with any leading batch shape B; each channel is pooled on its own over windows of
// `pool_size` taken every `strides` (unset: the pool size, as Keras). Padding "VALID" keeps whole
// windows only; "SAME" gives ceil(in / stride) outputs with the padding split as for convolution
// (docs/semantics/convolution.md), and padded positions take no part: max ignores them, average
// divides by the number of real elements in the window (TF's count_include_pad=False).
//
//   Var y = tapir::max_pool(x, 2, tapir::PoolOptions().strides(2).padding("SAME"));   // rank from pool_size
//   Var y = tapir::avg_pool(x, {3, 3});
//   Var g = tapir::global_avg_pool(x, 2);    // mean over the 2 spatial dims: [B..., channels]
//
// max_pool's gradient goes to the first maximum of each window (in tap order), as in TF.
#pragma once
#include <string>

#include <tapir/core/conv.hpp>
#include <tapir/core/options.hpp>

namespace tapir {

struct PoolOptions {
  TAPIR_OPTIONAL_ARG(IntOrList, strides);  ///< unset: pool_size
  TAPIR_ARG(std::string, padding) = "VALID";
  TAPIR_ARG(int, rank) = 0;  ///< spatial dims; 0: the length of pool_size, or 2 for a single int

 public:
};

/// Validates pool_size and options (ValueError naming `who` and the argument) and returns them
/// as the convolution arguments a pool is computed with; layers call it at construction.
ConvSpec pool_spec(const IntOrList& pool_size, const PoolOptions& options, const char* who = "pool");

Var max_pool(const Var& x, const IntOrList& pool_size, const PoolOptions& options = {});
Var avg_pool(const Var& x, const IntOrList& pool_size, const PoolOptions& options = {});
/// Mean over the `rank` spatial dims before the channel dim: B + spatial + [c] -> B + [c].
Var global_avg_pool(const Var& x, int rank = 2);

}  // namespace tapir
