// tapir's pictures, all in one include: image grids (pixels, stb) and the PLplot figures —
// scatter plots, line and panel plots, reliability diagrams. They live in the separate library
// tapir-viz (pkg-config tapir-viz, CMake tapir::viz), so programs that draw nothing do not pull
// in PLplot.
//
//   #include <tapir/viz/plots.hpp>   // g++ ... $(pkg-config --cflags --libs tapir-viz)
#pragma once

#include <tapir/viz/image_grid.hpp>
#include <tapir/viz/line_plot.hpp>
#include <tapir/viz/palette.hpp>
#include <tapir/viz/png.hpp>
#include <tapir/viz/reliability_diagram.hpp>
#include <tapir/viz/scatter_plot.hpp>
