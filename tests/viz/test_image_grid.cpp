#include "../testing.hpp"

#include <tapir/viz/image_grid.hpp>

using namespace tapir;
using viz::Image;
using viz::Rgb;

TEST_SUITE("viz/image_grid") {

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

}
