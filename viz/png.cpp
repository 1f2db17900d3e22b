#include <tapir/viz/png.hpp>

#include <stb/stb_image_write.h>

#include <cmath>

#include <tapir/core/error.hpp>
#include <tapir/core/npz.hpp>

namespace tapir::viz {

Image::Image(int width, int height, int channels, std::uint8_t fill)
    : width_(width), height_(height), channels_(channels) {
  if (width < 0 || height < 0)
    throw ValueError("Image: size must be >= 0, got " + std::to_string(width) + "x" +
                     std::to_string(height));
  if (channels != 1 && channels != 3 && channels != 4)
    throw ValueError("Image: channels must be 1, 3 or 4, got " + std::to_string(channels));
  pixels_.assign(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) *
                     static_cast<std::size_t>(channels),
                 fill);
}

std::uint8_t Image::at(int x, int y, int c) const {
  if (!contains(x, y) || c < 0 || c >= channels_)
    throw ValueError("Image::at: (" + std::to_string(x) + ", " + std::to_string(y) + ", " +
                     std::to_string(c) + ") is outside the " + std::to_string(width_) + "x" +
                     std::to_string(height_) + "x" + std::to_string(channels_) + " image");
  return pixels_[(static_cast<std::size_t>(y) * width_ + x) * channels_ + c];
}

Rgb Image::rgb(int x, int y) const {
  if (channels_ == 1) {
    const std::uint8_t v = at(x, y);
    return {v, v, v};
  }
  return {at(x, y, 0), at(x, y, 1), at(x, y, 2)};
}

void Image::set(int x, int y, Rgb color) {
  if (!contains(x, y)) return;
  std::uint8_t* p = &pixels_[(static_cast<std::size_t>(y) * width_ + x) * channels_];
  if (channels_ == 1) {
    // Rec. 601 luma, the usual gray conversion.
    p[0] = static_cast<std::uint8_t>(std::lround(0.299 * color.r + 0.587 * color.g + 0.114 * color.b));
    return;
  }
  p[0] = color.r;
  p[1] = color.g;
  p[2] = color.b;
  if (channels_ == 4) p[3] = 255;
}

namespace {
void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                             static_cast<std::size_t>(size));
}
}  // namespace

std::string encode_png(const Image& image) {
  if (image.empty())
    throw ValueError("encode_png: the image is empty (" + std::to_string(image.width()) + "x" +
                     std::to_string(image.height()) + ")");
  std::string out;
  const int ok = stbi_write_png_to_func(append_bytes, &out, image.width(), image.height(),
                                        image.channels(), image.data().data(),
                                        image.width() * image.channels());
  if (!ok) throw IOError("encode_png: stb_image_write failed to encode the image");
  return out;
}

void write_png(const std::string& path, const Image& image) {
  io::write_file_atomic(path, encode_png(image));
}

Image to_image(const Tensor& t, double lo, double hi) {
  if (!t.defined()) throw ValueError("to_image: the tensor is undefined");
  const bool ok_rank = t.ndim() == 2 || (t.ndim() == 3 && (t.dim(2) == 1 || t.dim(2) == 3));
  if (!ok_rank)
    throw ShapeError("to_image: expected [H, W], [H, W, 1] or [H, W, 3], got " + shape_str(t.shape()));
  if (!(hi > lo))
    throw ValueError("to_image: value range needs hi > lo, got [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  const int h = static_cast<int>(t.dim(0)), w = static_cast<int>(t.dim(1));
  const int c = t.ndim() == 3 ? static_cast<int>(t.dim(2)) : 1;
  Image img(w, h, c);
  const std::vector<double> v = t.astype(DType::float64).to_vector<double>();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) throw ValueError("to_image: tensor " + shape_str(t.shape()) + " holds NaN at flat index " + std::to_string(i));
    const double s = std::round(255.0 * (v[i] - lo) / (hi - lo));
    img.data()[i] = static_cast<std::uint8_t>(s < 0 ? 0 : s > 255 ? 255 : s);
  }
  return img;
}

}  // namespace tapir::viz
