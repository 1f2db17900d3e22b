// 8-bit raster images and PNG output — what tapir's plotting helpers draw into. PNG encoding is
// stb_image_write's (Debian: libstb-dev); files are written atomically, so a reader (or a
// crashed training run) never sees half a picture.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tapir/core/tensor.hpp>

namespace tapir::viz {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
};
inline bool operator==(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
inline bool operator!=(Rgb a, Rgb b) { return !(a == b); }

/// Row-major, interleaved pixels with 1 (gray), 3 (RGB) or 4 (RGBA) channels.
class Image {
 public:
  Image() = default;
  /// Every byte set to `fill` (255: white). ValueError for a negative size or other channels.
  Image(int width, int height, int channels, std::uint8_t fill = 255);

  int width() const { return width_; }
  int height() const { return height_; }
  int channels() const { return channels_; }
  bool empty() const { return pixels_.empty(); }
  const std::vector<std::uint8_t>& data() const { return pixels_; }
  std::vector<std::uint8_t>& data() { return pixels_; }

  /// Channel `c` of pixel (x, y); x grows right, y grows down. Throws ValueError outside.
  std::uint8_t at(int x, int y, int c = 0) const;
  /// The pixel as a colour (gray images give r = g = b).
  Rgb rgb(int x, int y) const;
  /// Sets a pixel; gray images take the colour's luma, RGBA ones get alpha 255. Coordinates
  /// outside the image are skipped: drawing primitives clip lines and shapes this way.
  void set(int x, int y, Rgb color);
  bool contains(int x, int y) const { return x >= 0 && y >= 0 && x < width_ && y < height_; }

 private:
  int width_ = 0, height_ = 0, channels_ = 0;
  std::vector<std::uint8_t> pixels_;
};

/// The PNG file's bytes. ValueError for an empty image.
std::string encode_png(const Image& image);
/// Encodes and writes `path` atomically (temp file + rename); IOError naming the path.
void write_png(const std::string& path, const Image& image);

/// One picture from a Tensor [H, W], [H, W, 1] or [H, W, 3]: values in [lo, hi] map linearly
/// to 0..255 (values beyond saturate, as any display would). ValueError if hi <= lo or a value
/// is NaN; ShapeError for other shapes.
Image to_image(const Tensor& t, double lo = 0.0, double hi = 1.0);

}  // namespace tapir::viz
