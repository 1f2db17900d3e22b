// Plots for training programs and notebooks, drawn straight into an Image (no plotting
// library): image grids, class-coloured scatter plots, training curves and reliability
// diagrams. Text uses draw.hpp's small pixel font; legends are colour swatches with names.
//
//   tapir::viz::write_png("samples.png", tapir::viz::image_grid(x, tapir::viz::GridOptions().columns(8)));
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tapir/core/tensor.hpp>
#include <tapir/metrics/predictive.hpp>

#include <tapir/viz/png.hpp>

namespace tapir::viz {

/// Matplotlib's "tab10" colours; class c is drawn in palette()[c % 10].
const std::array<Rgb, 10>& palette();

// ---- image grid -------------------------------------------------------------------------
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

// ---- scatter plot -----------------------------------------------------------------------
class ScatterOptions {
 public:
  ScatterOptions& width(int v) { width_ = v; return *this; }   ///< default 480
  int width() const { return width_; }
  ScatterOptions& height(int v) { height_ = v; return *this; } ///< default 480
  int height() const { return height_; }
  ScatterOptions& point_radius(int v) { radius_ = v; return *this; }  ///< default 2
  int point_radius() const { return radius_; }
  ScatterOptions& title(std::string v) { title_ = std::move(v); return *this; }
  const std::string& title() const { return title_; }
  /// Legend text per class (default: the class number).
  ScatterOptions& class_names(std::vector<std::string> v) { names_ = std::move(v); return *this; }
  const std::vector<std::string>& class_names() const { return names_; }
  ScatterOptions& legend(bool v) { legend_ = v; return *this; }  ///< default true
  bool legend() const { return legend_; }

 private:
  int width_ = 480, height_ = 480, radius_ = 2;
  std::string title_;
  std::vector<std::string> names_;
  bool legend_ = true;
};

/// 2-D points [N, 2] coloured by class (labels >= 0), inside an axes box whose ranges fit the
/// data; the corner values are printed. ValueError for non-finite points or negative labels.
Image scatter_plot(const Tensor& points, const std::vector<int>& labels,
                   const ScatterOptions& options = ScatterOptions());

// ---- line plot --------------------------------------------------------------------------
struct Series {
  std::string name;
  std::vector<double> y;
  std::vector<double> x;      ///< empty: 0, 1, 2, ...
  std::optional<Rgb> color;   ///< default: palette()[series index % 10]
};

class LineOptions {
 public:
  LineOptions& width(int v) { width_ = v; return *this; }    ///< default 640
  int width() const { return width_; }
  LineOptions& height(int v) { height_ = v; return *this; }  ///< default 360
  int height() const { return height_; }
  LineOptions& line_width(int v) { line_width_ = v; return *this; }  ///< default 2
  int line_width() const { return line_width_; }
  LineOptions& title(std::string v) { title_ = std::move(v); return *this; }
  const std::string& title() const { return title_; }
  LineOptions& legend(bool v) { legend_ = v; return *this; }  ///< default true
  bool legend() const { return legend_; }

 private:
  int width_ = 640, height_ = 360, line_width_ = 2;
  std::string title_;
  bool legend_ = true;
};

/// Curves (e.g. ELBO, NLL and KL per step) on shared axes fitted to all finite values. A
/// non-finite value (a diverged step) breaks its curve there, as in matplotlib. ShapeError when
/// a series' x and y lengths differ; ValueError for no series.
Image line_plot(const std::vector<Series>& series, const LineOptions& options = LineOptions());

// ---- reliability diagram ----------------------------------------------------------------
class ReliabilityOptions {
 public:
  ReliabilityOptions& width(int v) { width_ = v; return *this; }    ///< default 400
  int width() const { return width_; }
  ReliabilityOptions& height(int v) { height_ = v; return *this; }  ///< default 400
  int height() const { return height_; }
  ReliabilityOptions& title(std::string v) { title_ = std::move(v); return *this; }
  const std::string& title() const { return title_; }
  /// Outline the gap between each bar's accuracy and its mean confidence (default true).
  ReliabilityOptions& show_gap(bool v) { show_gap_ = v; return *this; }
  bool show_gap() const { return show_gap_; }

 private:
  int width_ = 400, height_ = 400;
  std::string title_;
  bool show_gap_ = true;
};

/// Accuracy per confidence bin as bars over [lower, upper] (empty bins drawn as nothing), the
/// diagonal of perfect calibration dashed, and optionally the gap to each bin's mean
/// confidence outlined in red. ValueError for no bins.
Image reliability_diagram(const std::vector<metrics::ReliabilityBin>& bins,
                          const ReliabilityOptions& options = ReliabilityOptions());

}  // namespace tapir::viz
