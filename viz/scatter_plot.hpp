// Scatter plots (PLplot): 2-D points coloured by class, with a legend of class names beside the
// axes — e.g. an autoencoder's latent space of the test set.
//
//   viz::write_png("latent.png", viz::scatter_plot(z, labels,
//       viz::ScatterOptions().class_names(tapir::data::fashion_mnist_class_names())));
#pragma once
#include <array>
#include <string>
#include <utility>
#include <vector>

#include <tapir/core/tensor.hpp>

#include <tapir/viz/png.hpp>

namespace tapir::viz {

class ScatterOptions {
 public:
  ScatterOptions& width(int v) { width_ = v; return *this; }   ///< default 720
  int width() const { return width_; }
  ScatterOptions& height(int v) { height_ = v; return *this; } ///< default 540
  int height() const { return height_; }
  /// Marker radius in pixels (default 2.5); markers are drawn at `alpha` opacity (default 0.6)
  /// so dense clusters show their density.
  ScatterOptions& point_radius(double v) { radius_ = v; return *this; }
  double point_radius() const { return radius_; }
  ScatterOptions& alpha(double v) { alpha_ = v; return *this; }
  double alpha() const { return alpha_; }
  ScatterOptions& title(std::string v) { title_ = std::move(v); return *this; }
  const std::string& title() const { return title_; }
  ScatterOptions& x_label(std::string v) { x_label_ = std::move(v); return *this; }
  const std::string& x_label() const { return x_label_; }
  ScatterOptions& y_label(std::string v) { y_label_ = std::move(v); return *this; }
  const std::string& y_label() const { return y_label_; }
  /// Legend text per class label; when given, every label must have a name. Default: the number.
  ScatterOptions& class_names(std::vector<std::string> v) { names_ = std::move(v); return *this; }
  template <std::size_t N>
  ScatterOptions& class_names(const std::array<const char*, N>& v) { names_.assign(v.begin(), v.end()); return *this; }
  const std::vector<std::string>& class_names() const { return names_; }
  ScatterOptions& legend(bool v) { legend_ = v; return *this; }  ///< default true
  bool legend() const { return legend_; }

 private:
  int width_ = 720, height_ = 540;
  double radius_ = 2.5, alpha_ = 0.6;
  std::string title_, x_label_, y_label_;
  std::vector<std::string> names_;
  bool legend_ = true;
};

/// Points [N, 2] (N >= 1) coloured by class (labels >= 0, palette()[label % 10]), axes fitted
/// to the data, legend outside the axes on the right. ShapeError for another shape or a label
/// count != N; ValueError for non-finite points, negative labels, a label without a class name,
/// bad options or a size too small for the text.
Image scatter_plot(const Tensor& points, const std::vector<int>& labels,
                   const ScatterOptions& options = ScatterOptions());

}  // namespace tapir::viz
