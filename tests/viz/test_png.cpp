#include "../testing.hpp"

#include <tapir/viz/png.hpp>

#include <stb/stb_image.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include <dirent.h>
#include <unistd.h>

using namespace tapir;
using viz::Image;
using viz::Rgb;

namespace {
const std::string kPngSignature("\x89PNG\r\n\x1a\n", 8);

struct Decoded {
  int w = 0, h = 0, c = 0;
  std::vector<unsigned char> px;
};
Decoded decode(const std::string& bytes) {
  Decoded d;
  unsigned char* p = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                                           static_cast<int>(bytes.size()), &d.w, &d.h, &d.c, 0);
  REQUIRE(p != nullptr);
  d.px.assign(p, p + std::size_t(d.w) * d.h * d.c);
  stbi_image_free(p);
  return d;
}
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_SUITE("viz/png") {

TEST_CASE("image pixels: set, read back, clip outside, gray luma") {
  Image rgb(4, 3, 3);
  CHECK(rgb.data().size() == 36);
  CHECK(rgb.rgb(0, 0) == Rgb{255, 255, 255});
  rgb.set(3, 2, Rgb{10, 20, 30});
  CHECK(rgb.at(3, 2, 0) == 10);
  CHECK(rgb.at(3, 2, 2) == 30);
  CHECK(rgb.data()[(2 * 4 + 3) * 3 + 1] == 20);  // row-major, interleaved
  rgb.set(-1, 0, Rgb{});                          // clipped, no throw
  rgb.set(4, 0, Rgb{});
  CHECK_THROWS_WITH_AS(rgb.at(4, 0), doctest::Contains("outside the 4x3x3 image"), ValueError);
  Image gray(2, 2, 1, 0);
  gray.set(1, 1, Rgb{255, 255, 255});
  CHECK(gray.at(1, 1) == 255);
  gray.set(0, 1, Rgb{255, 0, 0});
  CHECK(gray.at(0, 1) == 76);  // 0.299 * 255
  CHECK_THROWS_AS(Image(2, 2, 2), ValueError);
  CHECK_THROWS_AS(Image(-1, 2, 1), ValueError);
}

TEST_CASE("encode_png: PNG signature, decodes to the same size and pixels") {
  Image img(5, 3, 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) img.set(x, y, Rgb{std::uint8_t(x * 50), std::uint8_t(y * 100), 7});
  const std::string png = viz::encode_png(img);
  CHECK(png.substr(0, 8) == kPngSignature);
  const Decoded d = decode(png);
  CHECK(d.w == 5);
  CHECK(d.h == 3);
  CHECK(d.c == 3);
  CHECK(d.px == img.data());
  Image gray(3, 2, 1, 9);
  const Decoded g = decode(viz::encode_png(gray));
  CHECK(g.c == 1);
  CHECK(g.px == gray.data());
  CHECK_THROWS_AS(viz::encode_png(Image()), ValueError);
}

TEST_CASE("write_png writes atomically and the file decodes") {
  char tmpl[] = "/tmp/tapir_png_XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl, path = dir + "/out.png";
  Image img(7, 4, 1, 128);
  viz::write_png(path, img);
  const std::string bytes = read_all(path);
  CHECK(bytes.substr(0, 8) == kPngSignature);
  const Decoded d = decode(bytes);
  CHECK(d.w == 7);
  CHECK(d.h == 4);
  // nothing but the picture is left in the folder (the temp file was renamed)
  int entries = 0;
  DIR* dd = ::opendir(dir.c_str());
  while (dirent* e = ::readdir(dd)) entries += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
  ::closedir(dd);
  CHECK(entries == 1);
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
  CHECK_THROWS_WITH_AS(viz::write_png("/nonexistent/dir/x.png", img), doctest::Contains("/nonexistent/dir/x.png"),
                       IOError);
}

TEST_CASE("to_image maps [lo, hi] to 0..255") {
  const Tensor t = Tensor::from_vector<double>({2, 2}, {0.0, 1.0, 0.5, 2.0});
  const Image img = viz::to_image(t);
  CHECK(img.width() == 2);
  CHECK(img.channels() == 1);
  CHECK(img.at(0, 0) == 0);
  CHECK(img.at(1, 0) == 255);
  CHECK(img.at(0, 1) == 128);
  CHECK(img.at(1, 1) == 255);  // beyond hi saturates
  CHECK(viz::to_image(t, -1.0, 1.0).at(0, 0) == 128);
  CHECK(viz::to_image(Tensor::zeros({2, 3, 3}, DType::float32)).channels() == 3);
  CHECK_THROWS_AS(viz::to_image(t, 1.0, 1.0), ValueError);
  CHECK_THROWS_WITH_AS(viz::to_image(Tensor::zeros({2, 2, 2}, DType::float32)), doctest::Contains("[2,2,2]"),
                       ShapeError);
  CHECK_THROWS_AS(viz::to_image(Tensor::full({1, 1}, DType::float64, NAN)), ValueError);
}

}
