#include <tapir/viz/plots.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include <tapir/core/error.hpp>

#include <tapir/viz/draw.hpp>

namespace tapir::viz {

namespace {

const Rgb kWhite{255, 255, 255};
const Rgb kFrame{40, 40, 40};
const Rgb kText{20, 20, 20};
const Rgb kGrid{170, 170, 170};
constexpr int kTextScale = 2;  // the 3x5 font doubled: 10 px tall, legible at 1:1

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

void check_size(const char* fn, int width, int height, int min_size) {
  if (width < min_size || height < min_size)
    throw ValueError(std::string(fn) + ": width and height must be >= " + std::to_string(min_size) +
                     ", got " + std::to_string(width) + "x" + std::to_string(height));
}

// Range [lo, hi] widened by `pad` of its span; a single value gets a unit-wide range.
std::pair<double, double> padded(double lo, double hi, double pad) {
  if (!(lo <= hi)) return {0.0, 1.0};  // no finite data
  if (hi == lo) return {lo - 0.5, hi + 0.5};
  const double d = (hi - lo) * pad;
  return {lo - d, hi + d};
}

// A data rectangle mapped onto the pixel box [left, right] x [top, bottom].
struct Axes {
  int left, top, right, bottom;
  double x0, x1, y0, y1;
  int px(double x) const { return left + static_cast<int>(std::lround((x - x0) / (x1 - x0) * (right - left))); }
  int py(double y) const { return bottom - static_cast<int>(std::lround((y - y0) / (y1 - y0) * (bottom - top))); }
};

// Title, frame and the data range's end values at the corners.
void draw_axes(Image& img, const Axes& a, const std::string& title, const std::vector<double>& xticks,
               const std::vector<double>& yticks) {
  if (!title.empty())
    draw_text(img, (img.width() - text_width(title, kTextScale)) / 2, 6, title, kText, kTextScale);
  draw_rect(img, a.left, a.top, a.right, a.bottom, kFrame);
  for (double x : xticks) {
    const std::string s = fmt(x);
    const int px = a.px(x);
    draw_line(img, px, a.bottom, px, a.bottom + 3, kFrame);
    int tx = px - text_width(s, kTextScale) / 2;
    tx = std::clamp(tx, 0, std::max(0, img.width() - text_width(s, kTextScale)));
    draw_text(img, tx, a.bottom + 8, s, kText, kTextScale);
  }
  for (double y : yticks) {
    const std::string s = fmt(y);
    const int py = a.py(y);
    draw_line(img, a.left - 3, py, a.left, py, kFrame);
    draw_text(img, std::max(0, a.left - 6 - text_width(s, kTextScale)), py - text_height(kTextScale) / 2,
              s, kText, kTextScale);
  }
}

int tick_label_width(const std::vector<double>& ticks) {
  int w = 0;
  for (double t : ticks) w = std::max(w, text_width(fmt(t), kTextScale));
  return w;
}

// Swatch + name rows down the right margin, starting at `top`.
void draw_legend(Image& img, int left, int top, const std::vector<std::pair<std::string, Rgb>>& entries) {
  int y = top;
  for (const auto& [name, color] : entries) {
    fill_rect(img, left, y, left + 9, y + 9, color);
    draw_text(img, left + 14, y, name, kText, kTextScale);
    y += 16;
  }
}

int legend_width(const std::vector<std::pair<std::string, Rgb>>& entries) {
  int w = 0;
  for (const auto& e : entries) w = std::max(w, 14 + text_width(e.first, kTextScale));
  return w;
}

}  // namespace

const std::array<Rgb, 10>& palette() {
  static const std::array<Rgb, 10> p = {{{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                         {214, 39, 40}, {148, 103, 189}, {140, 86, 75},
                                         {227, 119, 194}, {127, 127, 127}, {188, 189, 34},
                                         {23, 190, 207}}};
  return p;
}

Image image_grid(const Tensor& images, const GridOptions& o) {
  if (!images.defined()) throw ValueError("image_grid: 'images' is an undefined tensor");
  const bool gray3 = images.ndim() == 3;
  const bool ok = gray3 || (images.ndim() == 4 && (images.dim(3) == 1 || images.dim(3) == 3));
  if (!ok)
    throw ShapeError("image_grid: images must be [N, H, W], [N, H, W, 1] or [N, H, W, 3], got " +
                     shape_str(images.shape()));
  const std::size_t n = images.dim(0);
  if (n == 0) throw ValueError("image_grid: no images (shape " + shape_str(images.shape()) + ")");
  if (o.columns() < 0 || o.padding() < 0 || o.zoom() < 1)
    throw ValueError("image_grid: need columns >= 0, padding >= 0, zoom >= 1; got columns=" +
                     std::to_string(o.columns()) + ", padding=" + std::to_string(o.padding()) +
                     ", zoom=" + std::to_string(o.zoom()));
  if (!o.per_tile_scaling() && !(o.hi() > o.lo()))
    throw ValueError("image_grid: value_range needs hi > lo, got [" + fmt(o.lo()) + ", " + fmt(o.hi()) + "]");

  const int h = static_cast<int>(images.dim(1)), w = static_cast<int>(images.dim(2));
  const int c = gray3 ? 1 : static_cast<int>(images.dim(3));
  const int cols = o.columns() > 0 ? std::min<int>(o.columns(), static_cast<int>(n))
                                   : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n))));
  const int rows = static_cast<int>((n + cols - 1) / cols);
  const int tw = w * o.zoom(), th = h * o.zoom(), pad = o.padding();
  Image img(cols * tw + (cols + 1) * pad, rows * th + (rows + 1) * pad, c, o.pad_value());

  const std::vector<double> v = images.astype(DType::float64).to_vector<double>();
  const std::size_t tile = static_cast<std::size_t>(h) * w * c;
  for (std::size_t i = 0; i < n; ++i) {
    const double* src = v.data() + i * tile;
    double lo = o.lo(), hi = o.hi();
    for (std::size_t j = 0; j < tile; ++j)
      if (std::isnan(src[j]))
        throw ValueError("image_grid: image " + std::to_string(i) + " of " + shape_str(images.shape()) +
                         " holds NaN");
    if (o.per_tile_scaling()) {
      const auto mm = std::minmax_element(src, src + tile);
      lo = *mm.first;
      hi = *mm.second;
    }
    const double span = hi - lo;
    const int ox = pad + static_cast<int>(i % cols) * (tw + pad);
    const int oy = pad + static_cast<int>(i / cols) * (th + pad);
    for (int y = 0; y < th; ++y)
      for (int x = 0; x < tw; ++x)
        for (int ch = 0; ch < c; ++ch) {
          const double val = src[(static_cast<std::size_t>(y / o.zoom()) * w + x / o.zoom()) * c + ch];
          const double s = span > 0 ? std::round(255.0 * (val - lo) / span) : 0.0;
          img.data()[(static_cast<std::size_t>(oy + y) * img.width() + ox + x) * c + ch] =
              static_cast<std::uint8_t>(std::clamp(s, 0.0, 255.0));
        }
  }
  return img;
}

namespace {
// The plot area of a scatter or line plot: room for the y labels on the left, the title on top and
// the legend (if any) on the right; ValueError naming `who` if nothing is left for the axes.
Axes axes_beside_legend(const char* who, int width, int height, const std::string& title, double x0, double x1,
                        double y0, double y1, const std::vector<std::pair<std::string, Rgb>>& legend) {
  const Axes a{tick_label_width({y0, y1}) + 12, title.empty() ? 10 : 24,
               width - 10 - (legend.empty() ? 0 : legend_width(legend) + 10), height - 26, x0, x1, y0, y1};
  if (a.right - a.left < 16 || a.bottom - a.top < 16)
    throw ValueError(std::string(who) + ": " + std::to_string(width) + "x" + std::to_string(height) +
                     " leaves no room for the axes beside the legend");
  return a;
}
}  // namespace

Image scatter_plot(const Tensor& points, const std::vector<int>& labels, const ScatterOptions& o) {
  if (!points.defined()) throw ValueError("scatter_plot: 'points' is an undefined tensor");
  if (points.ndim() != 2 || points.dim(1) != 2)
    throw ShapeError("scatter_plot: points must be [N, 2], got " + shape_str(points.shape()));
  const std::size_t n = points.dim(0);
  if (labels.size() != n)
    throw ShapeError("scatter_plot: points " + shape_str(points.shape()) + " but " +
                     std::to_string(labels.size()) + " labels");
  check_size("scatter_plot", o.width(), o.height(), 64);
  if (o.point_radius() < 0) throw ValueError("scatter_plot: point_radius must be >= 0, got " + std::to_string(o.point_radius()));
  const std::vector<double> p = points.astype(DType::float64).to_vector<double>();
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  std::set<int> classes;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(p[2 * i]) || !std::isfinite(p[2 * i + 1]))
      throw ValueError("scatter_plot: point " + std::to_string(i) + " of " + shape_str(points.shape()) +
                       " is not finite (" + fmt(p[2 * i]) + ", " + fmt(p[2 * i + 1]) + ")");
    if (labels[i] < 0)
      throw ValueError("scatter_plot: label " + std::to_string(i) + " is " + std::to_string(labels[i]) + ", must be >= 0");
    xmin = std::min(xmin, p[2 * i]); xmax = std::max(xmax, p[2 * i]);
    ymin = std::min(ymin, p[2 * i + 1]); ymax = std::max(ymax, p[2 * i + 1]);
    classes.insert(labels[i]);
  }
  const auto [x0, x1] = padded(xmin, xmax, 0.05);
  const auto [y0, y1] = padded(ymin, ymax, 0.05);

  std::vector<std::pair<std::string, Rgb>> legend;
  if (o.legend())
    for (int c : classes)
      legend.emplace_back(static_cast<std::size_t>(c) < o.class_names().size() ? o.class_names()[c] : std::to_string(c),
                          palette()[c % 10]);

  Image img(o.width(), o.height(), 3);
  const std::vector<double> xt = {x0, x1}, yt = {y0, y1};
  const Axes a = axes_beside_legend("scatter_plot", o.width(), o.height(), o.title(), x0, x1, y0, y1, legend);
  for (std::size_t i = 0; i < n; ++i)
    fill_circle(img, a.px(p[2 * i]), a.py(p[2 * i + 1]), o.point_radius(), palette()[labels[i] % 10]);
  draw_axes(img, a, o.title(), xt, yt);
  draw_legend(img, a.right + 10, a.top, legend);
  return img;
}

Image line_plot(const std::vector<Series>& series, const LineOptions& o) {
  if (series.empty()) throw ValueError("line_plot: no series given");
  check_size("line_plot", o.width(), o.height(), 64);
  if (o.line_width() < 1) throw ValueError("line_plot: line_width must be >= 1, got " + std::to_string(o.line_width()));
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const Series& s : series) {
    if (!s.x.empty() && s.x.size() != s.y.size())
      throw ShapeError("line_plot: series '" + s.name + "' has " + std::to_string(s.x.size()) +
                       " x values and " + std::to_string(s.y.size()) + " y values");
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = s.x.empty() ? static_cast<double>(i) : s.x[i];
      if (!std::isfinite(x) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, x); xmax = std::max(xmax, x);
      ymin = std::min(ymin, s.y[i]); ymax = std::max(ymax, s.y[i]);
    }
  }
  const auto [x0, x1] = padded(xmin, xmax, 0.0);
  const auto [y0, y1] = padded(ymin, ymax, 0.05);

  std::vector<std::pair<std::string, Rgb>> legend;
  if (o.legend())
    for (std::size_t k = 0; k < series.size(); ++k)
      legend.emplace_back(series[k].name, series[k].color.value_or(palette()[k % 10]));

  Image img(o.width(), o.height(), 3);
  const std::vector<double> xt = {x0, x1}, yt = {y0, y1};
  const Axes a = axes_beside_legend("line_plot", o.width(), o.height(), o.title(), x0, x1, y0, y1, legend);
  if (y0 < 0 && y1 > 0) draw_dashed_line(img, a.left, a.py(0), a.right, a.py(0), kGrid);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const Rgb color = s.color.value_or(palette()[k % 10]);
    bool have_prev = false;
    int px = 0, py = 0;
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = s.x.empty() ? static_cast<double>(i) : s.x[i];
      if (!std::isfinite(x) || !std::isfinite(s.y[i])) { have_prev = false; continue; }
      const int cx = a.px(x), cy = a.py(s.y[i]);
      if (have_prev) draw_line(img, px, py, cx, cy, color, o.line_width());
      else draw_line(img, cx, cy, cx, cy, color, o.line_width());  // a lone point stays visible
      px = cx; py = cy; have_prev = true;
    }
  }
  draw_axes(img, a, o.title(), xt, yt);
  draw_legend(img, a.right + 10, a.top, legend);
  return img;
}

Image reliability_diagram(const std::vector<metrics::ReliabilityBin>& bins,
                          const ReliabilityOptions& o) {
  if (bins.empty()) throw ValueError("reliability_diagram: no bins given");
  check_size("reliability_diagram", o.width(), o.height(), 64);
  const Rgb bar{31, 119, 180}, gap{214, 39, 40};
  Image img(o.width(), o.height(), 3);
  const std::vector<double> ticks = {0.0, 0.5, 1.0};
  Axes a{tick_label_width(ticks) + 12, o.title().empty() ? 10 : 24, o.width() - 12, o.height() - 26,
         0.0, 1.0, 0.0, 1.0};
  for (const auto& b : bins) {
    if (b.count == 0) continue;
    const int l = a.px(b.lower) + 1, r = std::max(a.px(b.upper) - 1, a.px(b.lower) + 1);
    fill_rect(img, l, a.py(b.accuracy), r, a.bottom, bar);
    if (o.show_gap() && a.py(b.mean_confidence) != a.py(b.accuracy))
      draw_rect(img, l, a.py(b.mean_confidence), r, a.py(b.accuracy), gap);
  }
  draw_dashed_line(img, a.px(0), a.py(0), a.px(1), a.py(1), kFrame, 4);
  draw_axes(img, a, o.title(), ticks, ticks);
  return img;
}

}  // namespace tapir::viz
