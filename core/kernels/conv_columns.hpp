// Column (im2col) machinery shared by convolution and conv-transpose (internal header).
//
//   im2col: cols[(n, o), (tap, c)] = big[n, o*s + tap*d - P, c]   (zero outside the image)
//   col2im: big[n, p, c] = sum over (o, tap) with p = o*s + tap*d - P of cols[(n, o), (tap, c)]
// "small" is the conv output / conv-T input side, "big" the conv input / conv-T output side.
#pragma once
#include <array>
#include <utility>
#include <vector>

#include <tapir/core/conv.hpp>

namespace tapir::kernels {

/// ConvGeometry padded to 3 spatial dims (leading dims of size 1), as plain numbers.
struct Geo3 {
  std::array<long, 3> small{1, 1, 1}, big{1, 1, 1}, filter{1, 1, 1}, stride{1, 1, 1}, dil{1, 1, 1}, pad{0, 0, 0};
  long small_pixels() const { return small[0] * small[1] * small[2]; }
  long big_pixels() const { return big[0] * big[1] * big[2]; }
  long taps() const { return filter[0] * filter[1] * filter[2]; }
};

Geo3 to_geo3(const ConvGeometry& g);

/// For one spatial dim: the (tap, small position) pairs that reach big position p
/// (p = o*s + t*d - P), CSR-style, so gathers need no division.
struct Reach {
  std::vector<long> begin;                   // pairs of p are [begin[p], begin[p + 1])
  std::vector<std::pair<long, long>> pairs;  // (tap, o)
};
Reach reach_table(long big, long small, long filter, long stride, long dil, long pad);

template <class T> void im2col(const T* big, const Geo3& g, long images, long channels, T* cols);
template <class T> void col2im(const T* cols, const Geo3& g, long images, long channels, T* big);

}  // namespace tapir::kernels
