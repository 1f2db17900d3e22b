// Line plots (PLplot): curves on one axes, or stacked panels that share the x axis and give
// each quantity its own y scale — training curves whose values differ by orders of magnitude
// (an NLL near -1900 nats beside a KL near 6) stay readable that way.
//
//   viz::write_png("curves.png", viz::panel_plot({{"NLL (nats)", {{"NLL", nll}}}, {"KL/N (nats)", {{"KL/N", kl}}}},
//                                                viz::LineOptions().title("Training").x_label("step")));
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tapir/viz/png.hpp>

namespace tapir::viz {

struct Series {
  std::string name;
  std::vector<double> y;
  std::vector<double> x;      ///< empty: 0, 1, 2, ...
  std::optional<Rgb> color;   ///< default: palette()[series index over the figure % 10]
};

/// One axes of a panel plot: its y label and its curves.
struct Panel {
  std::string y_label;
  std::vector<Series> series;
};

class LineOptions {
 public:
  LineOptions& width(int v) { width_ = v; return *this; }    ///< default 720
  int width() const { return width_; }
  /// Default 0: 300 pixels for one panel, 200 more per further panel.
  LineOptions& height(int v) { height_ = v; return *this; }
  int height() const { return height_; }
  LineOptions& line_width(double v) { line_width_ = v; return *this; }  ///< default 1.5
  double line_width() const { return line_width_; }
  LineOptions& title(std::string v) { title_ = std::move(v); return *this; }
  const std::string& title() const { return title_; }
  LineOptions& x_label(std::string v) { x_label_ = std::move(v); return *this; }  ///< default "step"
  const std::string& x_label() const { return x_label_; }
  /// y label of line_plot's single axes (panel_plot takes one per panel).
  LineOptions& y_label(std::string v) { y_label_ = std::move(v); return *this; }
  const std::string& y_label() const { return y_label_; }
  LineOptions& legend(bool v) { legend_ = v; return *this; }  ///< a legend per axes; default true
  bool legend() const { return legend_; }

 private:
  int width_ = 720, height_ = 0;
  double line_width_ = 1.5;
  std::string title_, x_label_ = "step", y_label_;
  bool legend_ = true;
};

/// Panels stacked top to bottom, sharing the x range (numbered under the bottom one); each
/// panel's y range fits its own series. ValueError for no panels, a panel without series, an
/// empty series, a non-finite value (naming series and index) or a size too small for the
/// text; ShapeError when a series' x and y lengths differ.
Image panel_plot(const std::vector<Panel>& panels, const LineOptions& options = LineOptions());

/// All series on one axes (options.y_label() labels it); the checks of panel_plot.
Image line_plot(const std::vector<Series>& series, const LineOptions& options = LineOptions());

}  // namespace tapir::viz
