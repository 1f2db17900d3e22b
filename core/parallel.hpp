// Thread control. tapir parallelises with OpenMP inside its kernels; users choose the thread
// count once (e.g. from a --threads flag). Results never depend on it beyond float rounding
// order where documented (GEMM splits work without changing any summation order).
#pragma once
#include <cstddef>

namespace tapir {

/// Number of threads tapir's kernels use (OpenMP's, unless set).
int num_threads();
/// Sets the thread count for tapir's kernels (>= 1).
void set_num_threads(int n);

}  // namespace tapir
