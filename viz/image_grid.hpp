// Image grids: N pictures tiled row by row into one Image (drawn pixel by pixel — a grid of
// samples needs no plotting library, and stb_image_write encodes it).
//
//   tapir::viz::write_png("samples.png", tapir::viz::image_grid(x, tapir::viz::GridOptions().columns(8)));
#pragma once
#include <cstdint>

#include <tapir/core/tensor.hpp>

#include <tapir/viz/png.hpp>

namespace tapir::viz {

class GridOptions {
 public:
  /// Tiles per row; 0 (default) picks ceil(sqrt(N)).
  GridOptions& columns(int v) { columns_ = v; return *this; }
  int columns() const { return columns_; }
  /// Pixels between tiles and around the grid (default 2).
  GridOptions& padding(int v) { padding_ = v; return *this; }
  int padding() const { return padding_; }
  /// Gray level of the padding (default 255, white: Fashion-MNIST tiles are dark).
  GridOptions& pad_value(std::uint8_t v) { pad_value_ = v; return *this; }
  std::uint8_t pad_value() const { return pad_value_; }
  /// Values lo..hi map to 0..255 (default 0..1, tapir's image scaling); values beyond saturate.
  GridOptions& value_range(double lo, double hi) { lo_ = lo; hi_ = hi; return *this; }
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  /// Scale each tile from its own min..max to 0..255 instead (for weights, gradients, latent
  /// decodings of unknown range); a constant tile becomes 0. Default false.
  GridOptions& per_tile_scaling(bool v) { per_tile_ = v; return *this; }
  bool per_tile_scaling() const { return per_tile_; }
  /// Each image pixel becomes zoom x zoom output pixels (default 1).
  GridOptions& zoom(int v) { zoom_ = v; return *this; }
  int zoom() const { return zoom_; }

 private:
  int columns_ = 0, padding_ = 2, zoom_ = 1;
  std::uint8_t pad_value_ = 255;
  double lo_ = 0.0, hi_ = 1.0;
  bool per_tile_ = false;
};

/// Tiles N images [N, H, W], [N, H, W, 1] (gray output) or [N, H, W, 3] (RGB output) row by
/// row. ShapeError for other shapes; ValueError for N = 0, NaN values or bad options.
Image image_grid(const Tensor& images, const GridOptions& options = GridOptions());

}  // namespace tapir::viz
