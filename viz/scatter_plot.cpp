#include <tapir/viz/scatter_plot.hpp>

#include <plplot/plplot.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <tapir/core/error.hpp>

#include "axes.hpp"
#include <tapir/viz/palette.hpp>

namespace tapir::viz {

Image scatter_plot(const Tensor& points, const std::vector<int>& labels, const ScatterOptions& o) {
  if (!points.defined()) throw ValueError("scatter_plot: 'points' is an undefined tensor");
  if (points.ndim() != 2 || points.dim(1) != 2)
    throw ShapeError("scatter_plot: points must be [N, 2], got " + shape_str(points.shape()));
  const std::size_t n = points.dim(0);
  if (n == 0) throw ValueError("scatter_plot: no points (shape " + shape_str(points.shape()) + ")");
  if (labels.size() != n)
    throw ShapeError("scatter_plot: points " + shape_str(points.shape()) + " but " + std::to_string(labels.size()) +
                     " labels");
  if (!(o.point_radius() > 0) || !std::isfinite(o.point_radius()) || !(o.alpha() > 0 && o.alpha() <= 1))
    throw ValueError("scatter_plot: need point_radius > 0 and alpha in (0, 1], got point_radius=" +
                     std::to_string(o.point_radius()) + ", alpha=" + std::to_string(o.alpha()));
  const std::vector<double> p = points.astype(DType::float64).to_vector<double>();
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  std::map<int, std::vector<std::size_t>> by_class;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(p[2 * i]) || !std::isfinite(p[2 * i + 1]))
      throw ValueError("scatter_plot: point " + std::to_string(i) + " of " + shape_str(points.shape()) +
                       " is not finite (" + std::to_string(p[2 * i]) + ", " + std::to_string(p[2 * i + 1]) + ")");
    if (labels[i] < 0)
      throw ValueError("scatter_plot: label " + std::to_string(i) + " is " + std::to_string(labels[i]) + ", must be >= 0");
    if (!o.class_names().empty() && static_cast<std::size_t>(labels[i]) >= o.class_names().size())
      throw ValueError("scatter_plot: label " + std::to_string(i) + " is " + std::to_string(labels[i]) + " but only " +
                       std::to_string(o.class_names().size()) + " class names were given");
    xmin = std::min(xmin, p[2 * i]); xmax = std::max(xmax, p[2 * i]);
    ymin = std::min(ymin, p[2 * i + 1]); ymax = std::max(ymax, p[2 * i + 1]);
    by_class[labels[i]].push_back(i);
  }
  std::vector<std::string> names;
  for (const auto& entry : by_class)
    names.push_back(o.class_names().empty() ? std::to_string(entry.first) : o.class_names()[entry.first]);
  const int legend_px = o.legend() ? detail::legend_width_px(names) + 16 : 0;
  const auto [x0, x1] = detail::padded_range(xmin, xmax, 0.05);
  const auto [y0, y1] = detail::padded_range(ymin, ymax, 0.05);
  const double x_tick = detail::nice_tick(x0, x1), y_tick = detail::nice_tick(y0, y1);
  const double y_offset = detail::y_label_offset(detail::tick_label_width_px(y0, y1, y_tick));
  const int left = static_cast<int>(std::ceil((y_offset + 1.2) * detail::kCharHeightPx * detail::kTextScale)) + 6;
  const detail::Margins m{left, 24 + legend_px, o.title().empty() ? 20 : 44, o.x_label().empty() ? 40 : 56};
  detail::check_size("scatter_plot", o.width(), o.height(), m.left + m.right + 100, m.top + m.bottom + 80);

  detail::PlplotCanvas canvas("scatter_plot", o.width(), o.height());
  detail::set_viewport(canvas, m);
  plwind(x0, x1, y0, y1);
  detail::draw_grid(canvas);
  // Radii in data units that make round markers of point_radius pixels on this viewport.
  const double rx = o.point_radius() * (x1 - x0) / (o.width() - m.left - m.right);
  const double ry = o.point_radius() * (y1 - y0) / (o.height() - m.top - m.bottom);
  std::vector<detail::LegendEntry> legend;
  std::size_t k = 0;
  for (const auto& [label, members] : by_class) {
    canvas.use(canvas.color(palette()[label % 10], o.alpha()));
    for (std::size_t i : members) plarc(p[2 * i], p[2 * i + 1], rx, ry, 0, 360, 0, /*fill=*/1);
    legend.push_back({names[k++], canvas.color(palette()[label % 10])});  // legend marks opaque
  }
  detail::draw_frame(canvas, true, x_tick, y_tick);
  detail::draw_labels(o.x_label(), o.y_label(), o.title(), y_offset);
  if (o.legend()) detail::draw_legend(legend, detail::LegendMark::dot, detail::LegendPlace::outside_right);
  return canvas.finish();
}

}  // namespace tapir::viz
