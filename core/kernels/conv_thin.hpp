// Direct kernels for convolutions where one side has very few channels ("thin", e.g. the
// c_out = 1 image head of a decoder). There a GEMM degenerates: with N = 1 it wastes the
// register tile. These kernels put the wide channel axis on the SIMD lanes instead (internal
// header).
//
// Weights are passed as Wt[tap, thin, wide] (wide contiguous). With p = o*s + t*d - P:
//   gather_to_small: small[o, w]  = sum_{t, h} big[p(o,t), h] * Wt[t, h, w]
//   gather_to_big:   big[p, h]    = sum_{(t,o) reaching p} sum_w small[o, w] * Wt[t, h, w]
//   weight_grad:     dWt[t, h, w] = sum_o big[p(o,t), h] * small[o, w]
// convolution (thin c_in):   y = gather_to_small(x),  dx = gather_to_big(dy),  dW = weight_grad
// conv_transpose (thin c_out): y = gather_to_big(x),  dx = gather_to_small(dy), dW = weight_grad
// weight_grad sums over fixed-size row blocks, then adds the blocks in order, so its result does
// not depend on the thread count.
#pragma once
#include "conv_geo3.hpp"

namespace tapir::kernels {

/// Channel counts up to which (inclusive) the direct kernels beat a GEMM.
constexpr long kThinChannels = 4;

template <class T>
void gather_to_small(const T* big, const T* wt, const Geo3& g, long images, long thin, long wide, T* small);
template <class T>
void gather_to_big(const T* small, const T* wt, const Geo3& g, long images, long thin, long wide, T* big);
template <class T>
void weight_grad(const T* big, const T* small, const Geo3& g, long images, long thin, long wide, T* dwt);

}  // namespace tapir::kernels
