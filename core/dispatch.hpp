// Runs `...` with `T` bound to the C++ type of a runtime dtype (internal helper).
#pragma once
#include "tensor.hpp"

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
