#include <tapir/viz/reliability_diagram.hpp>

#include <plplot/plplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <tapir/core/error.hpp>

#include "axes.hpp"
#include <tapir/viz/palette.hpp>

namespace tapir::viz {

namespace {

constexpr int kGapPattern = 3;  // PLplot's fill pattern 3: lines at 45 degrees

bool in_unit(double v) { return v >= 0.0 && v <= 1.0; }  // false for NaN too

void validate(const std::vector<ReliabilityBin>& bins, double ece) {
  if (bins.empty()) throw ValueError("reliability_diagram: no bins given");
  if (!std::isfinite(ece) || ece < 0)
    throw ValueError("reliability_diagram: ece must be finite and >= 0, got " + std::to_string(ece));
  for (std::size_t i = 0; i < bins.size(); ++i) {
    const ReliabilityBin& b = bins[i];
    const std::string which = "reliability_diagram: bin " + std::to_string(i);
    if (!in_unit(b.lower) || !in_unit(b.upper) || !(b.lower < b.upper))
      throw ValueError(which + " must satisfy 0 <= lower < upper <= 1, got (" + std::to_string(b.lower) + ", " +
                       std::to_string(b.upper) + "]");
    if (b.count > 0 && (!in_unit(b.accuracy) || !in_unit(b.mean_confidence)))
      throw ValueError(which + " has " + std::to_string(b.count) + " examples but accuracy " +
                       std::to_string(b.accuracy) + " and mean_confidence " + std::to_string(b.mean_confidence) +
                       " (both must be in [0, 1])");
  }
}

void fill_rect(double x0, double x1, double y0, double y1) {
  PLFLT xs[4] = {x0, x1, x1, x0}, ys[4] = {y0, y0, y1, y1};
  plfill(4, xs, ys);
}

void outline_rect(double x0, double x1, double y0, double y1) {
  PLFLT xs[5] = {x0, x1, x1, x0, x0}, ys[5] = {y0, y0, y1, y1, y0};
  plline(5, xs, ys);
}

}  // namespace

Image reliability_diagram(const std::vector<ReliabilityBin>& bins, double ece, const ReliabilityOptions& o) {
  validate(bins, ece);
  detail::check_size("reliability_diagram", o.width(), o.height(), 280, 320);
  char ece_text[64];
  std::snprintf(ece_text, sizeof ece_text, "ECE %.4f", ece);
  const std::string title = o.title().empty() ? ece_text : o.title() + " — " + ece_text;

  std::size_t max_count = 1;
  for (const ReliabilityBin& b : bins) max_count = std::max(max_count, b.count);
  const double count_top = 1.25 * static_cast<double>(max_count);  // room for the numbers above the bars
  const double count_tick = std::max(1.0, detail::nice_tick(0.0, count_top, 3.0));  // a short panel: few ticks
  const double y_offset = detail::y_label_offset(std::max(detail::tick_label_width_px(0.0, 1.0, 0.2),
                                                          detail::tick_label_width_px(0.0, count_top, count_tick)));
  const int left = static_cast<int>(std::ceil((y_offset + 1.2) * detail::kCharHeightPx * detail::kTextScale)) + 6;
  const int right = 30, top = 44, bottom = 56, gap = 16;

  detail::PlplotCanvas canvas("reliability_diagram", o.width(), o.height());
  const int count_h = (o.height() - top - bottom - gap) / 4;  // the counts take a quarter
  const int reliability_bottom = bottom + count_h + gap;

  // ---- top: accuracy per bin against confidence
  detail::set_viewport(canvas, {left, right, top, reliability_bottom});
  plwind(0.0, 1.0, 0.0, 1.0);
  detail::draw_grid(canvas);
  const int bar = canvas.color(palette()[0]), bar_edge = canvas.color(Rgb{20, 70, 120});
  const int gap_color = canvas.color(palette()[3]);
  const int diagonal = canvas.color(Rgb{90, 90, 90});
  for (const ReliabilityBin& b : bins) {
    if (b.count == 0) continue;
    canvas.use(bar);
    fill_rect(b.lower, b.upper, 0.0, b.accuracy);
    canvas.use(bar_edge);
    outline_rect(b.lower, b.upper, 0.0, b.accuracy);
    if (o.show_gap() && b.mean_confidence != b.accuracy) {
      // hatched, so the gap reads the same over the bar (under-confidence) and over white
      // (over-confidence), as its legend entry shows it
      const double lo = std::min(b.accuracy, b.mean_confidence), hi = std::max(b.accuracy, b.mean_confidence);
      canvas.use(gap_color);
      plwidth(1.5);
      plpsty(kGapPattern);
      fill_rect(b.lower, b.upper, lo, hi);
      plpsty(0);
      outline_rect(b.lower, b.upper, lo, hi);
      plwidth(1.0);
    }
  }
  canvas.use(diagonal);
  pllsty(2);  // dashed
  plwidth(1.5);
  PLFLT dx[2] = {0, 1}, dy[2] = {0, 1};
  plline(2, dx, dy);
  pllsty(1);
  plwidth(1.0);
  detail::draw_frame(canvas, false, 0.2, 0.2);
  detail::draw_labels("", "accuracy", title, y_offset);
  std::vector<detail::LegendEntry> legend{{"accuracy per bin", bar}};
  if (o.show_gap()) legend.push_back({"gap to mean confidence", gap_color});
  detail::draw_legend(legend, detail::LegendMark::box, detail::LegendPlace::inside_top_left, {0, kGapPattern});

  // ---- bottom: examples per bin, the number above each bar
  detail::set_viewport(canvas, {left, right, o.height() - bottom - count_h, bottom});
  plwind(0.0, 1.0, 0.0, count_top);
  detail::draw_grid(canvas);
  const int count_bar = canvas.color(palette()[7]);
  for (const ReliabilityBin& b : bins) {
    if (b.count == 0) continue;
    canvas.use(count_bar);
    fill_rect(b.lower, b.upper, 0.0, static_cast<double>(b.count));
    canvas.use(detail::kInk);
    plschr(0, 0.7);
    const std::string number = std::to_string(b.count);
    plptex(0.5 * (b.lower + b.upper), static_cast<double>(b.count) + 0.04 * max_count, 1.0, 0.0, 0.5, number.c_str());
  }
  plschr(0, detail::kTextScale);
  detail::draw_frame(canvas, true, 0.2, count_tick);
  detail::draw_labels("confidence", "count", "", y_offset);
  return canvas.finish();
}

}  // namespace tapir::viz
