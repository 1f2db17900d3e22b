#include "axes.hpp"

#include <plplot/plplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <tapir/core/error.hpp>

namespace tapir::viz::detail {

void set_viewport(const PlplotCanvas& canvas, Margins m) {
  const double w = canvas.width(), h = canvas.height();
  plvpor(m.left / w, 1.0 - m.right / w, m.bottom / h, 1.0 - m.top / h);
}

std::pair<double, double> padded_range(double lo, double hi, double pad) {
  if (hi == lo) {
    const double d = lo == 0 ? 0.5 : std::fabs(lo) * 0.05;
    return {lo - d, hi + d};
  }
  const double d = (hi - lo) * pad;
  return {lo - d, hi + d};
}

void draw_grid(PlplotCanvas& canvas) {
  canvas.use(canvas.color(Rgb{225, 225, 225}));
  plwidth(0.8);
  plbox("g", 0, 0, "g", 0, 0);
}

void draw_frame(PlplotCanvas& canvas, bool x_numbers, double x_tick, double y_tick) {
  canvas.use(kInk);
  plwidth(1.0);
  plschr(0, kTextScale);
  // b/c: frame on four sides; s/t: major and minor ticks; i: ticks point out (matplotlib's way);
  // n: numbers; f: plain numbers, never a separate "x10^3" factor; v: y numbers read horizontally.
  plbox("bc", 0, 0, "bc", 0, 0);
  plbox(x_numbers ? "bnstif" : "bstif", x_tick, 0, "bnstifv", y_tick, 0);
}

void draw_labels(const std::string& x_label, const std::string& y_label, const std::string& title,
                 double y_offset) {
  plcol0(kInk);
  plschr(0, kTextScale);
  if (!x_label.empty()) plmtex("b", 3.3, 0.5, 0.5, plplot_text(x_label).c_str());
  if (!y_label.empty()) plmtex("l", y_offset, 0.5, 0.5, plplot_text(y_label).c_str());
  if (!title.empty()) {
    plschr(0, kTextScale * 1.2);
    plmtex("t", 1.2, 0.5, 0.5, plplot_text(title).c_str());
    plschr(0, kTextScale);
  }
}

void draw_legend(const std::vector<LegendEntry>& entries, LegendMark mark, LegendPlace place,
                 const std::vector<int>& box_patterns) {
  if (entries.empty()) return;
  const std::size_t n = entries.size();
  std::vector<PLINT> opt(n), text_colors(n, kInk), colors(n), patterns(n, 0), line_styles(n, 1),
      symbol_numbers(n, 1);
  std::vector<PLFLT> box_scales(n, 0.8), box_line_widths(n, 1.0), line_widths(n, 2.0), symbol_scales(n, 2.2);
  std::vector<std::string> texts(n);
  std::vector<const char*> text_ptrs(n), symbols(n, "•");
  for (std::size_t i = 0; i < n; ++i) {
    opt[i] = mark == LegendMark::line ? PL_LEGEND_LINE : mark == LegendMark::dot ? PL_LEGEND_SYMBOL : PL_LEGEND_COLOR_BOX;
    colors[i] = entries[i].color;
    if (i < box_patterns.size()) patterns[i] = box_patterns[i];
    texts[i] = plplot_text(entries[i].name);
    text_ptrs[i] = texts[i].c_str();
  }
  PLINT position = PL_POSITION_TOP;
  double x = 0.02, y = 0.02;
  switch (place) {
    case LegendPlace::inside_top_right: position |= PL_POSITION_RIGHT | PL_POSITION_INSIDE; break;
    case LegendPlace::inside_top_left: position |= PL_POSITION_LEFT | PL_POSITION_INSIDE; break;
    case LegendPlace::inside_bottom_right: position = PL_POSITION_BOTTOM | PL_POSITION_RIGHT | PL_POSITION_INSIDE; break;
    case LegendPlace::inside_bottom_left: position = PL_POSITION_BOTTOM | PL_POSITION_LEFT | PL_POSITION_INSIDE; break;
    // outside on the right, vertically centred (matplotlib: loc="center left", bbox_to_anchor=(1.02, 0.5))
    case LegendPlace::outside_right: position = PL_POSITION_RIGHT | PL_POSITION_OUTSIDE; y = 0.0; break;
  }
  PLFLT legend_w = 0, legend_h = 0;
  plschr(0, kTextScale * 0.9);
  pllegend(&legend_w, &legend_h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, position, x, y,
           /*plot_width=*/0.06, /*bg_color=*/0, /*bb_color=*/kInk, /*bb_style=*/1, 0, 0, static_cast<PLINT>(n),
           opt.data(), /*text_offset=*/0.8, /*text_scale=*/1.0, /*text_spacing=*/2.2,
           /*text_justification=*/0.0, text_colors.data(), text_ptrs.data(), colors.data(), patterns.data(),
           box_scales.data(), box_line_widths.data(), colors.data(), line_styles.data(), line_widths.data(),
           colors.data(), symbol_scales.data(), symbol_numbers.data(), symbols.data());
  plschr(0, kTextScale);
}

LegendPlace emptiest_corner(const std::vector<double>& xs, const std::vector<double>& ys, double x0, double x1,
                            double y0, double y1) {
  // corner order = preference on ties: top right first, as matplotlib's default
  const LegendPlace places[4] = {LegendPlace::inside_top_right, LegendPlace::inside_top_left,
                                 LegendPlace::inside_bottom_right, LegendPlace::inside_bottom_left};
  std::size_t counts[4] = {0, 0, 0, 0};
  const double xm = x0 + 0.55 * (x1 - x0), xl = x0 + 0.45 * (x1 - x0);
  const double ym = y0 + 0.6 * (y1 - y0), yl = y0 + 0.4 * (y1 - y0);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const bool right = xs[i] >= xm, left = xs[i] <= xl, top = ys[i] >= ym, bottom = ys[i] <= yl;
    counts[0] += right && top;
    counts[1] += left && top;
    counts[2] += right && bottom;
    counts[3] += left && bottom;
  }
  std::size_t best = 0;
  for (std::size_t k = 1; k < 4; ++k)
    if (counts[k] < counts[best]) best = k;
  return places[best];
}

double nice_tick(double lo, double hi, double ticks) {
  const double raw = (hi - lo) / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  return (r < 1.5 ? 1.0 : r < 3.0 ? 2.0 : r < 7.0 ? 5.0 : 10.0) * magnitude;
}

int tick_label_width_px(double lo, double hi, double tick) {
  // PLplot writes fixed-point numbers with as many decimals as the tick spacing needs
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(tick) + 1e-9)));
  std::size_t widest = 0;
  for (double v : {lo, hi, std::floor(lo / tick) * tick, std::ceil(hi / tick) * tick}) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    widest = std::max(widest, std::strlen(buf));
  }
  return static_cast<int>(std::ceil(kDigitWidthPx * kTextScale * static_cast<double>(widest)));
}

double y_label_offset(int label_px) {
  // numbers + tick marks and gaps (~14 px), then half a character so the label's near edge clears them
  return (label_px + 14.0) / (kCharHeightPx * kTextScale) + 0.7;
}

int legend_width_px(const std::vector<std::string>& names) {
  std::size_t longest = 0;
  for (const auto& s : names) longest = std::max(longest, s.size());
  // mark and gaps, then the names at the legend's 0.9 text scale (letters ~ as wide as digits)
  return static_cast<int>(6 * kCharHeightPx + 0.9 * kDigitWidthPx * static_cast<double>(longest));
}

void check_size(const std::string& who, int width, int height, int min_width, int min_height) {
  if (width < min_width || height < min_height)
    throw ValueError(who + ": width and height must be >= " + std::to_string(min_width) + "x" +
                     std::to_string(min_height) + ", got " + std::to_string(width) + "x" + std::to_string(height));
}

}  // namespace tapir::viz::detail
