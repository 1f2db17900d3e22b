// The PLplot canvas (private to viz): what PLplot refuses becomes a typed error instead of a
// line on stderr, and PLplot is usable again afterwards.
#include "../testing.hpp"

#include <plplot/plplot.h>

#include <tapir/viz/plots.hpp>

#include "../../viz/plplot_canvas.hpp"

using namespace tapir;

TEST_SUITE("viz/plplot_canvas") {

TEST_CASE("an operation PLplot refuses is an IOError naming the figure and PLplot's message") {
  {
    viz::detail::PlplotCanvas canvas("test_figure", 200, 150);
    pllsty(99);  // PLplot knows line styles 1..8: it aborts the operation with a message
    CHECK_THROWS_WITH_AS(canvas.finish(), doctest::Contains("test_figure: PLplot refused an operation: pllsty"),
                         IOError);
  }
  // the next figure is drawn normally
  const viz::Image img = viz::line_plot({viz::Series{"ok", {1, 2, 3}, {}, std::nullopt}});
  CHECK(img.width() == 720);
}

TEST_CASE("a canvas abandoned by an exception leaves PLplot ready for the next figure") {
  try {
    viz::detail::PlplotCanvas canvas("abandoned", 200, 150);
    plcol0(viz::detail::kInk);
    throw ValueError("the caller gave up mid-figure");
  } catch (const ValueError&) {
  }
  const viz::Image img = viz::line_plot({viz::Series{"ok", {1, 2, 3}, {}, std::nullopt}}, viz::LineOptions().legend(false));
  int blue = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) blue += img.rgb(x, y) == viz::palette()[0];
  CHECK(blue > 0);
}

}
