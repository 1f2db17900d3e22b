// The four benchmark shapes (conv-transpose view, SAME padding): the peers' comparison shapes a-d.
#pragma once
#include <cstddef>

namespace bench {

struct Shape4 {
  std::size_t n, h, c_in, c_out, k, stride;
  double flops() const { return 2.0 * n * h * h * c_in * c_out * k * k; }
};

inline constexpr Shape4 kShapeA{32, 7, 64, 32, 5, 2};
inline constexpr Shape4 kShapeB{32, 14, 32, 16, 5, 2};
inline constexpr Shape4 kShapeC{32, 28, 16, 1, 5, 1};
inline constexpr Shape4 kShapeD{64, 16, 128, 64, 3, 2};

}  // namespace bench
