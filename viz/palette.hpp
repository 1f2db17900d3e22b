// The colours tapir's plots draw with: matplotlib's "tab10" cycle, so a figure reads like one
// a Python user would make. Class c (or series c) is drawn in palette()[c % 10].
#pragma once
#include <array>

#include <tapir/viz/png.hpp>

namespace tapir::viz {

inline const std::array<Rgb, 10>& palette() {
  static const std::array<Rgb, 10> p = {{{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                         {214, 39, 40}, {148, 103, 189}, {140, 86, 75},
                                         {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                                         {23, 190, 207}}};
  return p;
}

}  // namespace tapir::viz
