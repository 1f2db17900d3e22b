// tapir's pictures, all in one include: image grids (pixels, stb) and the PLplot figures —
// scatter plots, line and panel plots, reliability diagrams. They live in the separate library
// tapir-viz (pkg-config tapir-viz, CMake tapir::viz), so programs that draw nothing do not pull
// in PLplot.
//
//   #include <tapir/viz/plots.hpp>   // g++ ... $(pkg-config --cflags --libs tapir-viz)
#pragma once

#include "image_grid.hpp"
#include "line_plot.hpp"
#include "palette.hpp"
#include "png.hpp"
#include "reliability_diagram.hpp"
#include "scatter_plot.hpp"
