#include <tapir/viz/line_plot.hpp>

#include <plplot/plplot.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <tapir/core/error.hpp>

#include "axes.hpp"
#include <tapir/viz/palette.hpp>

namespace tapir::viz {

namespace {

double x_at(const Series& s, std::size_t i) { return s.x.empty() ? static_cast<double>(i) : s.x[i]; }

// Every check before PLplot is touched: PLplot itself would plot NaN as garbage or abort.
void validate(const std::vector<Panel>& panels, const LineOptions& o) {
  if (panels.empty()) throw ValueError("panel_plot: no panels given");
  if (!(o.line_width() > 0) || !std::isfinite(o.line_width()))
    throw ValueError("panel_plot: line_width must be > 0, got " + std::to_string(o.line_width()));
  for (std::size_t p = 0; p < panels.size(); ++p) {
    if (panels[p].series.empty())
      throw ValueError("panel_plot: panel " + std::to_string(p) + " ('" + panels[p].y_label + "') has no series");
    for (const Series& s : panels[p].series) {
      if (s.y.empty()) throw ValueError("panel_plot: series '" + s.name + "' is empty");
      if (!s.x.empty() && s.x.size() != s.y.size())
        throw ShapeError("panel_plot: series '" + s.name + "' has " + std::to_string(s.x.size()) +
                         " x values and " + std::to_string(s.y.size()) + " y values");
      for (std::size_t i = 0; i < s.y.size(); ++i)
        if (!std::isfinite(s.y[i]) || !std::isfinite(x_at(s, i)))
          throw ValueError("panel_plot: series '" + s.name + "' value " + std::to_string(i) + " is not finite (x " +
                           std::to_string(x_at(s, i)) + ", y " + std::to_string(s.y[i]) + ")");
    }
  }
}

}  // namespace

Image panel_plot(const std::vector<Panel>& panels, const LineOptions& o) {
  validate(panels, o);
  const int n = static_cast<int>(panels.size());
  const int height = o.height() > 0 ? o.height() : 300 + 200 * (n - 1);

  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  for (const Panel& p : panels)
    for (const Series& s : p.series)
      for (std::size_t i = 0; i < s.y.size(); ++i) {
        xmin = std::min(xmin, x_at(s, i));
        xmax = std::max(xmax, x_at(s, i));
      }
  const auto [x0, x1] = detail::padded_range(xmin, xmax, 0.02);

  // Each panel's y range and ticks first: the widest tick number sets the common left margin.
  struct Axis { double y0, y1, tick; };
  std::vector<Axis> axes;
  int widest_label = 0;
  for (const Panel& panel : panels) {
    double ymin = std::numeric_limits<double>::infinity(), ymax = -ymin;
    for (const Series& s : panel.series)
      for (double y : s.y) { ymin = std::min(ymin, y); ymax = std::max(ymax, y); }
    const auto [y0, y1] = detail::padded_range(ymin, ymax, 0.05);
    axes.push_back({y0, y1, detail::nice_tick(y0, y1)});
    widest_label = std::max(widest_label, detail::tick_label_width_px(y0, y1, axes.back().tick));
  }
  const double y_offset = detail::y_label_offset(widest_label);
  const int left = static_cast<int>(std::ceil((y_offset + 1.2) * detail::kCharHeightPx * detail::kTextScale)) + 6;
  const int right = 28, top = o.title().empty() ? 20 : 44, bottom = 56, gap = 14;
  detail::check_size("panel_plot", o.width(), height, left + right + 120, top + bottom + n * 60);

  detail::PlplotCanvas canvas("panel_plot", o.width(), height);
  const double panel_h = static_cast<double>(height - top - bottom - gap * (n - 1)) / n;
  const double x_tick = detail::nice_tick(x0, x1);
  int series_index = 0;
  for (int p = 0; p < n; ++p) {
    const Panel& panel = panels[p];
    const Axis& axis = axes[p];
    const int panel_top = top + static_cast<int>(std::lround(p * (panel_h + gap)));
    const int panel_bottom = height - panel_top - static_cast<int>(std::lround(panel_h));
    detail::set_viewport(canvas, {left, right, panel_top, panel_bottom});
    plwind(x0, x1, axis.y0, axis.y1);
    const bool last = p == n - 1;
    detail::draw_grid(canvas);

    std::vector<detail::LegendEntry> legend;
    std::vector<double> all_x, all_y;  // for the legend's placement
    for (const Series& s : panel.series) {
      const int c = canvas.color(s.color.value_or(palette()[series_index++ % 10]));
      canvas.use(c);
      plwidth(o.line_width());
      std::vector<double> xs(s.y.size());
      for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = x_at(s, i);
      if (xs.size() == 1) {  // a lone point has no line: mark it
        plschr(0, 1.0);
        plstring(1, xs.data(), s.y.data(), "•");
      } else {
        plline(static_cast<PLINT>(xs.size()), xs.data(), s.y.data());
      }
      legend.push_back({s.name, c});
      all_x.insert(all_x.end(), xs.begin(), xs.end());
      all_y.insert(all_y.end(), s.y.begin(), s.y.end());
    }
    plwidth(1.0);
    detail::draw_frame(canvas, last, x_tick, axis.tick);
    detail::draw_labels(last ? o.x_label() : "", panel.y_label, p == 0 ? o.title() : "", y_offset);
    if (o.legend())
      detail::draw_legend(legend, detail::LegendMark::line,
                          detail::emptiest_corner(all_x, all_y, x0, x1, axis.y0, axis.y1));
  }
  return canvas.finish();
}

Image line_plot(const std::vector<Series>& series, const LineOptions& o) {
  if (series.empty()) throw ValueError("line_plot: no series given");
  return panel_plot({Panel{o.y_label(), series}}, o);
}

}  // namespace tapir::viz
