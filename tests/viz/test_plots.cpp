#include "../testing.hpp"

#include <stb/stb_image.h>

using namespace tapir;
using viz::Image;
using viz::Rgb;

namespace {
// Centroid and count of the pixels of exactly `c`.
struct Blob { double x = 0, y = 0; int n = 0; };
Blob find(const Image& img, Rgb c, int x_end = -1) {
  Blob b;
  if (x_end < 0) x_end = img.width();
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < x_end; ++x)
      if (img.rgb(x, y) == c) { b.x += x; b.y += y; ++b.n; }
  if (b.n) { b.x /= b.n; b.y /= b.n; }
  return b;
}
}  // namespace

TEST_SUITE("viz/plots") {

TEST_CASE("image grid: tiles and padding are where they should be") {
  // three 2x2 images with values 0.0/0.2/0.4/0.6 + image index, in [0, 1] after / 4
  std::vector<double> v;
  for (int i = 0; i < 3; ++i)
    for (int p = 0; p < 4; ++p) v.push_back((0.2 * p + i) / 4.0);
  const Tensor images = Tensor::from_vector<double>({3, 2, 2, 1}, v);
  const Image g = viz::image_grid(images, viz::GridOptions().columns(2).padding(1).pad_value(77));
  // 2 columns x 2 rows of 2x2 tiles with 1-pixel padding: 2*2 + 3 = 7 pixels each way
  CHECK(g.width() == 7);
  CHECK(g.height() == 7);
  CHECK(g.channels() == 1);
  auto byte = [](double x) { return static_cast<int>(std::lround(255.0 * x)); };
  // tile 0 at (1, 1), tile 1 at (4, 1), tile 2 at (1, 4)
  CHECK(g.at(1, 1) == byte(0.0));
  CHECK(g.at(2, 1) == byte(0.05));
  CHECK(g.at(1, 2) == byte(0.1));
  CHECK(g.at(2, 2) == byte(0.15));
  CHECK(g.at(4, 1) == byte(0.25));
  CHECK(g.at(5, 2) == byte(0.25 + 0.15));
  CHECK(g.at(1, 4) == byte(0.5));
  CHECK(g.at(2, 5) == byte(0.5 + 0.15));
  // padding rows/columns and the empty fourth cell
  for (int k = 0; k < 7; ++k) {
    CHECK(g.at(k, 0) == 77);
    CHECK(g.at(0, k) == 77);
    CHECK(g.at(3, k) == 77);
    CHECK(g.at(k, 6) == 77);
  }
  CHECK(g.at(4, 4) == 77);
  CHECK(g.at(5, 5) == 77);

  // zoom 2: each pixel becomes a 2x2 block
  const Image z = viz::image_grid(images, viz::GridOptions().columns(3).padding(0).zoom(2));
  CHECK(z.width() == 12);
  CHECK(z.height() == 4);
  CHECK(z.at(2, 0) == byte(0.05));
  CHECK(z.at(3, 1) == byte(0.05));
  CHECK(z.at(4, 0) == byte(0.25));

  // default columns: ceil(sqrt(3)) = 2
  CHECK(viz::image_grid(images).width() == 2 * 2 + 3 * 2);
}

TEST_CASE("image grid: per-tile scaling, value range and RGB tiles") {
  const Tensor t = Tensor::from_vector<double>({2, 1, 2}, {-3, 5, 10, 10});
  const Image s = viz::image_grid(t, viz::GridOptions().columns(2).padding(0).per_tile_scaling(true));
  CHECK(s.at(0, 0) == 0);
  CHECK(s.at(1, 0) == 255);
  CHECK(s.at(2, 0) == 0);  // a constant tile becomes 0
  const Image r = viz::image_grid(t, viz::GridOptions().columns(2).padding(0).value_range(-3, 5));
  CHECK(r.at(0, 0) == 0);
  CHECK(r.at(1, 0) == 255);
  CHECK(r.at(3, 0) == 255);  // beyond hi saturates
  const Tensor rgb = Tensor::from_vector<float>({1, 1, 1, 3}, {1.0f, 0.0f, 0.5f});
  const Image c = viz::image_grid(rgb, viz::GridOptions().padding(0));
  CHECK(c.channels() == 3);
  CHECK(c.rgb(0, 0) == Rgb{255, 0, 128});
  CHECK_THROWS_WITH_AS(viz::image_grid(Tensor::zeros({2, 2}, DType::float32)), doctest::Contains("[2,2]"),
                       ShapeError);
  CHECK_THROWS_AS(viz::image_grid(Tensor::zeros({0, 2, 2}, DType::float32)), ValueError);
  CHECK_THROWS_AS(viz::image_grid(t, viz::GridOptions().value_range(1, 1)), ValueError);
}

TEST_CASE("scatter plot: classes in their palette colours, positions follow the data") {
  const Tensor pts = Tensor::from_vector<double>({4, 2}, {0, 0, 0.1, 0.1, 1, 1, 0.9, 0.95});
  const Image img = viz::scatter_plot(pts, {0, 0, 3, 3}, viz::ScatterOptions().width(200).height(160).legend(false));
  CHECK(img.width() == 200);
  CHECK(img.height() == 160);
  CHECK(img.channels() == 3);
  const Blob a = find(img, viz::palette()[0]), b = find(img, viz::palette()[3]);
  CHECK(a.n > 0);
  CHECK(b.n > 0);
  CHECK(find(img, viz::palette()[1]).n == 0);
  CHECK(a.x < b.x);  // class 0 sits lower left
  CHECK(a.y > b.y);
  // with a legend, swatches appear right of the axes
  const Image leg = viz::scatter_plot(pts, {0, 0, 3, 3},
                                      viz::ScatterOptions().width(300).height(200).class_names({"a", "b", "c", "boot"}));
  CHECK(find(leg, viz::palette()[3]).x > find(img, viz::palette()[3]).x);
  CHECK_THROWS_WITH_AS(viz::scatter_plot(pts, {0, 1}), doctest::Contains("points [4,2] but 2 labels"), ShapeError);
  CHECK_THROWS_AS(viz::scatter_plot(Tensor::zeros({3, 3}, DType::float32), {0, 0, 0}), ShapeError);
  const Tensor bad = Tensor::from_vector<double>({1, 2}, {NAN, 0});
  CHECK_THROWS_WITH_AS(viz::scatter_plot(bad, {0}), doctest::Contains("point 0"), ValueError);
}

TEST_CASE("line plot: a rising curve rises; non-finite values break it; lengths are checked") {
  viz::Series up{"elbo", {0, 1, 2, 3, 4}, {}, Rgb{200, 0, 0}};
  viz::Series down{"kl", {4, 3, NAN, 1, 0}, {}, std::nullopt};
  const Image img = viz::line_plot({up, down}, viz::LineOptions().width(300).height(200).legend(false).title("Loss"));
  CHECK(img.width() == 300);
  const Blob red = find(img, Rgb{200, 0, 0});
  REQUIRE(red.n > 0);
  // leftmost red pixel is lower in the picture than the rightmost one
  int lx = img.width(), ly = 0, rx = -1, ry = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x)
      if (img.rgb(x, y) == Rgb{200, 0, 0}) {
        if (x < lx) { lx = x; ly = y; }
        if (x > rx) { rx = x; ry = y; }
      }
  CHECK(ly > ry);
  CHECK(find(img, viz::palette()[1]).n > 0);  // the second series takes palette colour 1
  viz::Series bad{"x", {1, 2}, {0, 1, 2}, std::nullopt};
  CHECK_THROWS_WITH_AS(viz::line_plot({bad}), doctest::Contains("series 'x' has 3 x values and 2 y values"),
                       ShapeError);
  CHECK_THROWS_AS(viz::line_plot({}), ValueError);
}

TEST_CASE("reliability diagram: bars where bins have examples") {
  std::vector<metrics::ReliabilityBin> bins(10);
  for (int b = 0; b < 10; ++b) { bins[b].lower = b / 10.0; bins[b].upper = (b + 1) / 10.0; }
  bins[9].count = 5; bins[9].accuracy = 1.0; bins[9].mean_confidence = 0.95;
  bins[4].count = 5; bins[4].accuracy = 0.2; bins[4].mean_confidence = 0.45;
  const Image img = viz::reliability_diagram(bins, viz::ReliabilityOptions().title("ECE 0.1"));
  CHECK(img.width() == 400);
  const Rgb bar{31, 119, 180}, gap{214, 39, 40};
  const Blob blue = find(img, bar);
  REQUIRE(blue.n > 0);
  // bars only over bins 4 and 9: nothing blue in the left 40% of the picture's axes
  CHECK(find(img, bar, img.width() * 2 / 5).n == 0);
  CHECK(find(img, gap).n > 0);
  CHECK(find(viz::reliability_diagram(bins, viz::ReliabilityOptions().show_gap(false)), gap).n == 0);
  CHECK_THROWS_AS(viz::reliability_diagram({}), ValueError);
  // it encodes and decodes at its size
  const std::string png = viz::encode_png(img);
  int w = 0, h = 0, c = 0;
  unsigned char* p = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()),
                                           int(png.size()), &w, &h, &c, 0);
  REQUIRE(p != nullptr);
  stbi_image_free(p);
  CHECK(w == 400);
  CHECK(h == 400);
}

}
