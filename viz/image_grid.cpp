#include <tapir/viz/image_grid.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <tapir/core/error.hpp>

namespace tapir::viz {

namespace {
std::string fmt(double v) { return std::to_string(v); }
}  // namespace

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

}  // namespace tapir::viz
