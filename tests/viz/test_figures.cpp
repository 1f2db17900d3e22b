// The PLplot figures: written files are PNGs of the requested size, the data lands where it
// should (each panel on its own scale), bad input is a typed error, and threads take turns.
#include "../testing.hpp"

#include <tapir/viz/plots.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <unistd.h>

#include "png_header.hpp"

using namespace tapir;
using viz::Image;
using viz::Rgb;

namespace {

bool near(Rgb a, Rgb b, int tol) {
  return std::abs(a.r - b.r) <= tol && std::abs(a.g - b.g) <= tol && std::abs(a.b - b.b) <= tol;
}

// Where the pixels within `tol` of a colour are.
struct Extent {
  int n = 0, x0 = 1 << 30, x1 = -1, y0 = 1 << 30, y1 = -1;
  double cx = 0, cy = 0;
};
Extent extent(const Image& img, Rgb c, int tol = 12, int x_begin = 0, int y_begin = 0) {
  Extent e;
  for (int y = y_begin; y < img.height(); ++y)
    for (int x = x_begin; x < img.width(); ++x)
      if (near(img.rgb(x, y), c, tol)) {
        ++e.n; e.cx += x; e.cy += y;
        e.x0 = std::min(e.x0, x); e.x1 = std::max(e.x1, x);
        e.y0 = std::min(e.y0, y); e.y1 = std::max(e.y1, y);
      }
  if (e.n) { e.cx /= e.n; e.cy /= e.n; }
  return e;
}

// Dark (text or frame) pixels in rows [y0, y1).
int ink(const Image& img, int y0, int y1) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = 0; x < img.width(); ++x) {
      const Rgb p = img.rgb(x, y);
      n += p.r < 110 && p.g < 110 && p.b < 110;
    }
  return n;
}

// Writes the picture with write_png into a fresh folder and reads the file's header back.
testing::PngHeader written_header(const Image& img) {
  char tmpl[] = "/tmp/tapir_fig_XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string path = std::string(tmpl) + "/figure.png";
  viz::write_png(path, img);
  const testing::PngHeader h = testing::png_header(testing::read_file_bytes(path));
  std::remove(path.c_str());
  ::rmdir(tmpl);
  return h;
}

const Tensor kPoints = Tensor::from_vector<double>({4, 2}, {0, 0, 0.1, 0.1, 1, 1, 0.9, 0.95});

std::vector<viz::ReliabilityBin> two_full_bins() {
  std::vector<viz::ReliabilityBin> bins(10);
  for (int b = 0; b < 10; ++b) { bins[b].lower = b / 10.0; bins[b].upper = (b + 1) / 10.0; }
  bins[9].count = 50; bins[9].accuracy = 0.97; bins[9].mean_confidence = 0.95;
  bins[4].count = 5; bins[4].accuracy = 0.2; bins[4].mean_confidence = 0.45;
  return bins;
}

}  // namespace

TEST_SUITE("viz/figures") {

TEST_CASE("every figure is written as an 8-bit RGB PNG of the requested size") {
  const std::vector<viz::Series> curve{{"loss", {3, 2, 1.5, 1.2}, {}, std::nullopt}};
  const std::vector<Image> figures = {
      viz::scatter_plot(kPoints, {0, 0, 3, 3}, viz::ScatterOptions().width(500).height(300)),
      viz::line_plot(curve, viz::LineOptions().width(420).height(260)),
      viz::panel_plot({{"a", curve}, {"b", curve}}, viz::LineOptions().width(400).height(420)),
      viz::reliability_diagram(two_full_bins(), 0.05, viz::ReliabilityOptions().width(380).height(450))};
  const int sizes[][2] = {{500, 300}, {420, 260}, {400, 420}, {380, 450}};
  for (std::size_t i = 0; i < figures.size(); ++i) {
    CAPTURE(i);
    CHECK(figures[i].width() == sizes[i][0]);
    CHECK(figures[i].height() == sizes[i][1]);
    const testing::PngHeader h = written_header(figures[i]);
    CHECK_MESSAGE(h.valid, h.problem);
    CHECK(h.width == static_cast<std::uint32_t>(sizes[i][0]));
    CHECK(h.height == static_cast<std::uint32_t>(sizes[i][1]));
    CHECK(h.bit_depth == 8);
    CHECK(h.color_type == 2);  // RGB
  }
  // the default height of a panel plot grows with the panels
  CHECK(viz::panel_plot({{"a", curve}, {"b", curve}, {"c", curve}}).height() >
        viz::panel_plot({{"a", curve}}).height());
}

TEST_CASE("the PNG header check itself rejects what is not a PNG") {
  CHECK_FALSE(testing::png_header("not a png at all, but long enough to read").valid);
  std::string png = viz::encode_png(Image(3, 2, 3));
  CHECK(testing::png_header(png).valid);
  png[20] ^= 1;  // a bit flip in the width: the CRC no longer matches
  CHECK_FALSE(testing::png_header(png).valid);
}

TEST_CASE("scatter plot: classes in their colours where the data puts them, names in the legend") {
  const Image img = viz::scatter_plot(kPoints, {0, 0, 3, 3},
                                      viz::ScatterOptions().width(400).height(300).alpha(1.0).legend(false));
  const Extent a = extent(img, viz::palette()[0], 10), b = extent(img, viz::palette()[3], 10);
  REQUIRE(a.n > 0);
  REQUIRE(b.n > 0);
  CHECK(a.cx < b.cx);  // class 0 near (0, 0): left of and below class 3 near (1, 1)
  CHECK(a.cy > b.cy);
  CHECK(extent(img, viz::palette()[1], 10).n == 0);  // no class 1
  CHECK(ink(img, 0, 14) == 0);                      // no title: nothing above the axes

  // a legend of class names sits right of the axes, in the classes' colours; a title adds ink on top
  const Image leg = viz::scatter_plot(
      kPoints, {0, 0, 3, 3},
      viz::ScatterOptions().width(560).height(300).title("Latent space").class_names({"zero", "one", "two", "Ankle boot"}));
  CHECK(extent(leg, viz::palette()[3], 10, 400).n > 0);
  CHECK(extent(leg, viz::palette()[0], 10, 400).n > 0);
  CHECK(ink(leg, 0, 30) > 20);
  CHECK(ink(leg, 0, 30) > 20);
  // the legend's text is drawn: the legend area holds dark pixels
  int legend_ink = 0;
  for (int y = 0; y < leg.height(); ++y)
    for (int x = 440; x < leg.width(); ++x) legend_ink += leg.rgb(x, y).r < 110 && leg.rgb(x, y).b < 110;
  CHECK(legend_ink > 30);
}

TEST_CASE("scatter plot: bad input is a typed error naming what is wrong") {
  CHECK_THROWS_WITH_AS(viz::scatter_plot(kPoints, {0, 1}), doctest::Contains("points [4,2] but 2 labels"), ShapeError);
  CHECK_THROWS_AS(viz::scatter_plot(Tensor::zeros({3, 3}, DType::float32), {0, 0, 0}), ShapeError);
  CHECK_THROWS_WITH_AS(viz::scatter_plot(Tensor::zeros({0, 2}, DType::float32), {}), doctest::Contains("no points"),
                       ValueError);
  const Tensor nan_point = Tensor::from_vector<double>({2, 2}, {0, 0, NAN, 1});
  CHECK_THROWS_WITH_AS(viz::scatter_plot(nan_point, {0, 0}), doctest::Contains("point 1"), ValueError);
  CHECK_THROWS_WITH_AS(viz::scatter_plot(kPoints, {0, -1, 0, 0}), doctest::Contains("label 1 is -1"), ValueError);
  CHECK_THROWS_WITH_AS(viz::scatter_plot(kPoints, {0, 0, 3, 3}, viz::ScatterOptions().class_names({"a", "b"})),
                       doctest::Contains("label 2 is 3 but only 2 class names"), ValueError);
  CHECK_THROWS_WITH_AS(viz::scatter_plot(kPoints, {0, 0, 3, 3}, viz::ScatterOptions().width(50)),
                       doctest::Contains("width and height"), ValueError);
  CHECK_THROWS_AS(viz::scatter_plot(kPoints, {0, 0, 3, 3}, viz::ScatterOptions().alpha(0)), ValueError);
}

TEST_CASE("panel plot: each panel has its own y scale, so curves far apart in value both fill theirs") {
  // a rises over [0, 1]; b falls over [-1901, -1900]: on shared axes both would be flat lines
  viz::Series a{"a", {0, 0.25, 0.5, 0.75, 1}, {}, std::nullopt};
  viz::Series b{"b", {-1900, -1900.25, -1900.5, -1900.75, -1901}, {}, std::nullopt};
  const int height = 500;
  const Image img = viz::panel_plot({{"a (nats)", {a}}, {"b (nats)", {b}}},
                                    viz::LineOptions().width(400).height(height).legend(false).line_width(2));
  const Extent ea = extent(img, viz::palette()[0]), eb = extent(img, viz::palette()[1]);
  REQUIRE(ea.n > 0);
  REQUIRE(eb.n > 0);
  CHECK(ea.y1 < eb.y0);  // a in the upper panel, b in the lower one
  const int panel_height = height / 2 - 60;
  CHECK(ea.y1 - ea.y0 > panel_height * 3 / 4);  // each spans most of its panel's height
  CHECK(eb.y1 - eb.y0 > panel_height * 3 / 4);
  // a rises: its leftmost pixels are lower in the picture than its rightmost
  int left_y = 0, right_y = 0;
  for (int y = 0; y < img.height(); ++y) {
    if (near(img.rgb(ea.x0, y), viz::palette()[0], 12)) left_y = y;
    if (near(img.rgb(ea.x1, y), viz::palette()[0], 12)) right_y = y;
  }
  CHECK(left_y > right_y);
  // with legends, each panel gains a sample of its line
  const Image with_legend = viz::panel_plot({{"a (nats)", {a}}, {"b (nats)", {b}}},
                                            viz::LineOptions().width(400).height(height).line_width(2));
  CHECK(extent(with_legend, viz::palette()[0]).n > ea.n);
}

TEST_CASE("line and panel plots: NaN, empty and mismatched series are typed errors") {
  viz::Series ok{"ok", {1, 2, 3}, {}, std::nullopt};
  viz::Series nan{"kl", {4, 3, NAN, 1}, {}, std::nullopt};
  CHECK_THROWS_WITH_AS(viz::line_plot({ok, nan}), doctest::Contains("series 'kl' value 2 is not finite"), ValueError);
  viz::Series inf_x{"x_inf", {1, 2}, {0, INFINITY}, std::nullopt};
  CHECK_THROWS_WITH_AS(viz::line_plot({inf_x}), doctest::Contains("series 'x_inf' value 1"), ValueError);
  CHECK_THROWS_WITH_AS(viz::line_plot({viz::Series{"none", {}, {}, std::nullopt}}),
                       doctest::Contains("series 'none' is empty"), ValueError);
  CHECK_THROWS_WITH_AS(viz::line_plot({viz::Series{"x", {1, 2}, {0, 1, 2}, std::nullopt}}),
                       doctest::Contains("series 'x' has 3 x values and 2 y values"), ShapeError);
  CHECK_THROWS_AS(viz::line_plot({}), ValueError);
  CHECK_THROWS_AS(viz::panel_plot({}), ValueError);
  CHECK_THROWS_WITH_AS(viz::panel_plot({{"lonely", {}}}), doctest::Contains("'lonely') has no series"), ValueError);
  CHECK_THROWS_WITH_AS(viz::line_plot({ok}, viz::LineOptions().width(100)), doctest::Contains("width and height"),
                       ValueError);
  CHECK_THROWS_AS(viz::line_plot({ok}, viz::LineOptions().line_width(0)), ValueError);
  // a single value is a visible point, not an error
  const Image one = viz::line_plot({viz::Series{"one", {5}, {}, std::nullopt}}, viz::LineOptions().legend(false));
  CHECK(extent(one, viz::palette()[0], 40).n > 0);
}

TEST_CASE("reliability diagram: bars where bins have examples, gaps shaded, counts below") {
  const auto bins = two_full_bins();
  const Image img = viz::reliability_diagram(bins, 0.05, viz::ReliabilityOptions().width(500).height(600));
  // accuracy bars only over bins 4 and 9: below the legend (y > 200) nothing blue in the left
  // 40% of the picture (bin 3, had it been drawn, would start left of that)
  const Extent blue = extent(img, viz::palette()[0], 6, 0, 200);
  REQUIRE(blue.n > 0);
  CHECK(blue.x0 > 500 * 2 / 5);
  CHECK(blue.y1 < 600 * 3 / 4);  // the accuracy panel is the upper three quarters
  // count bars (gray) in the bottom quarter: found below the accuracy panel, nowhere above
  // (antialiased text and lines pass through this gray too, so look in bin 9's column only: a gray
  // run below the accuracy panel, none in the blue bar above it)
  const int column = blue.x1 - 8;
  int gray_below = 0, gray_above = 0;
  for (int y = 110; y < 600; ++y)
    if (near(img.rgb(column, y), viz::palette()[7], 2)) (y > 600 * 3 / 4 ? gray_below : gray_above) += 1;
  CHECK(gray_below > 30);
  CHECK(gray_above < 10);  // a count bar there would be hundreds; frame lines over blue blend into a few
  // the gap's red hatching; without show_gap there is no red
  const Rgb red = viz::palette()[3];
  CHECK(extent(img, red, 40).n > 50);
  const Image no_gap = viz::reliability_diagram(bins, 0.05, viz::ReliabilityOptions().show_gap(false));
  CHECK(extent(no_gap, red, 40).n == 0);
  CHECK(ink(img, 0, 40) > 20);  // the title (with the ECE)
}

TEST_CASE("reliability diagram: bad bins and a bad ECE are typed errors") {
  CHECK_THROWS_WITH_AS(viz::reliability_diagram({}, 0.0), doctest::Contains("no bins"), ValueError);
  auto bins = two_full_bins();
  CHECK_THROWS_WITH_AS(viz::reliability_diagram(bins, NAN), doctest::Contains("ece"), ValueError);
  CHECK_THROWS_AS(viz::reliability_diagram(bins, -0.1), ValueError);
  bins[0].accuracy = NAN;  // an empty bin's accuracy is not read
  CHECK_NOTHROW(viz::reliability_diagram(bins, 0.05));
  bins[9].accuracy = NAN;
  CHECK_THROWS_WITH_AS(viz::reliability_diagram(bins, 0.05), doctest::Contains("bin 9 has 50 examples"), ValueError);
  bins = two_full_bins();
  bins[4].mean_confidence = 1.5;
  CHECK_THROWS_WITH_AS(viz::reliability_diagram(bins, 0.05), doctest::Contains("bin 4"), ValueError);
  bins = two_full_bins();
  bins[2].upper = bins[2].lower;
  CHECK_THROWS_WITH_AS(viz::reliability_diagram(bins, 0.05), doctest::Contains("lower < upper"), ValueError);
}

TEST_CASE("figures drawn from several threads at once come out as if drawn one by one") {
  const auto draw = [] {
    return viz::scatter_plot(kPoints, {0, 1, 2, 3}, viz::ScatterOptions().width(360).height(260).title("t"));
  };
  const Image expected = draw();
  std::vector<Image> got(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i) threads.emplace_back([&, i] { got[i] = draw(); });
  for (auto& t : threads) t.join();
  for (const Image& g : got) CHECK(g.data() == expected.data());
}

}
