// ConvGeometry as the kernels use it (internal header): padded to 3 spatial dims, plain numbers.
// "small" is the conv output / conv-T input side, "big" the conv input / conv-T output side,
// related by p = o*s + t*d - P (big position p, small position o, tap t).
#pragma once
#include <array>

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

}  // namespace tapir::kernels
