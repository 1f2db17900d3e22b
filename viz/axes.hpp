// Pieces every PLplot figure in viz shares (private to viz, not installed): margins in pixels,
// a matplotlib-like frame (box on four sides, outward ticks with numbers on the left and bottom)
// over a light grid, data ranges with a margin, legends, and input checks with tapir's messages.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "plplot_canvas.hpp"

namespace tapir::viz::detail {

/// The axes rectangle, in pixels from the picture's edges.
struct Margins {
  int left, right, top, bottom;
};
/// Makes `m` the current viewport (plvpor), with y measured from the top as in the picture.
void set_viewport(const PlplotCanvas& canvas, Margins m);

/// [lo, hi] widened by `pad` of its span at both ends; a single value gets +-0.5 (or +-5% of it).
std::pair<double, double> padded_range(double lo, double hi, double pad);

/// Light grid lines at the major ticks of the current window (plwind); drawn before the data.
void draw_grid(PlplotCanvas& canvas);
/// Frame, ticks and numbers for the current window; drawn after the data, so markers at the edge
/// do not hide it. `x_numbers` false leaves the x axis unnumbered (a panel stacked above another
/// that shares its x axis).
void draw_frame(PlplotCanvas& canvas, bool x_numbers, double x_tick = 0, double y_tick = 0);
/// Axis labels (the y label `y_offset` character heights left of the axis, see y_label_offset)
/// and a title above the axes when not empty.
void draw_labels(const std::string& x_label, const std::string& y_label, const std::string& title,
                 double y_offset = 5.0);

struct LegendEntry {
  std::string name;
  int color;  ///< a canvas colour index
};
enum class LegendMark { line, dot, box };
enum class LegendPlace { inside_top_right, inside_top_left, inside_bottom_right, inside_bottom_left, outside_right };
/// A legend box of named entries for the current viewport.
/// `box_patterns` (mark == box only): one PLplot fill pattern per entry, 0 = solid; empty = all solid.
void draw_legend(const std::vector<LegendEntry>& entries, LegendMark mark, LegendPlace place,
                 const std::vector<int>& box_patterns = {});
/// matplotlib's loc="best", simplified: the inside corner whose quarter of the window
/// [x0, x1] x [y0, y1] holds the fewest of the points (xs[i], ys[i]).
LegendPlace emptiest_corner(const std::vector<double>& xs, const std::vector<double>& ys, double x0, double x1,
                            double y0, double y1);

/// Major tick spacing for [lo, hi]: 1, 2 or 5 times a power of ten giving about `ticks` ticks
/// (between 2/3 and 5/3 of it). Passed to draw_frame so that the tick numbers' width is known
/// before drawing them.
double nice_tick(double lo, double hi, double ticks = 6.0);
/// Width in pixels of the widest number on an axis over [lo, hi] with ticks every `tick`.
int tick_label_width_px(double lo, double hi, double tick);
/// The y label's distance from the axis (PLplot's unit: character heights) that clears tick
/// numbers `label_px` wide.
double y_label_offset(int label_px);
/// Pixels a legend placed outside the axes needs on the right for these names.
int legend_width_px(const std::vector<std::string>& names);

/// Width of a digit of PLplot's text (Pango's default sans) in pixels at kTextScale, measured.
inline constexpr double kDigitWidthPx = 0.7 * kCharHeightPx;

/// Character height multiplier for tick numbers and labels (PLplot's default, 1, is small at the
/// sizes training programs write).
inline constexpr double kTextScale = 1.0;

/// ValueError "`who`: width and height must be >= min, got WxH".
void check_size(const std::string& who, int width, int height, int min_width, int min_height);

}  // namespace tapir::viz::detail
