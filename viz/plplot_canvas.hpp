// One PLplot page rendered by the cairo driver into an Image (private to viz, not installed).
//
// PLplot keeps its state in globals and is not thread-safe, so a canvas holds one process-wide
// mutex from construction to destruction: plots drawn from several threads take turns. PLplot
// reports errors in two ways, and neither may reach the user as such:
//  - plabort (an operation refused, e.g. drawing before a window exists) prints to stderr and
//    returns; the canvas captures the message and finish() throws IOError with it;
//  - plexit calls exit() after its handler returns; the canvas's handler throws IOError instead,
//    so a PLplot failure is an exception, never the end of the training program.
// Callers validate their input before touching PLplot, so both paths guard PLplot-internal
// failures (a missing driver, no memory), not bad data.
//
// The device is "memcairo": the same cairo renderer as "pngcairo" (antialiased lines, Pango
// text), drawing into our RGB buffer instead of a file, so the picture is an Image like an image
// grid's and write_png stores it atomically.
#pragma once
#include <mutex>
#include <string>

#include <tapir/viz/png.hpp>

namespace tapir::viz::detail {

class PlplotCanvas {
 public:
  /// Locks PLplot, starts a width x height page on a white background. IOError when PLplot's
  /// cairo driver is not installed (Debian: plplot-driver-cairo).
  PlplotCanvas(std::string who, int width, int height);
  ~PlplotCanvas();
  PlplotCanvas(const PlplotCanvas&) = delete;
  PlplotCanvas& operator=(const PlplotCanvas&) = delete;

  /// A colour-map-0 index holding `color` with opacity `alpha` (PLplot addresses colours by index;
  /// legends need one per entry). Index 1 is the text and frame colour.
  int color(Rgb color, double alpha = 1.0);
  /// Selects a colour for the next drawing calls.
  void use(int color_index);
  int width() const { return image_.width(); }
  int height() const { return image_.height(); }

  /// Ends the page and returns it; IOError naming `who` if PLplot refused an operation.
  Image finish();

 private:
  std::unique_lock<std::mutex> lock_;
  std::string who_;
  Image image_;
  int next_color_ = 2;
  bool open_ = false;
};

/// PLplot reads '#' as its escape character ("#u" = superscript...): doubles it so user text
/// (titles, class names) is drawn as written.
std::string plplot_text(const std::string& text);

/// PLplot's index of the text and frame colour.
inline constexpr int kInk = 1;

/// Height of PLplot's default character in pixels. PLplot scales text with the page size by
/// default; a figure's text should not grow with the figure (matplotlib keeps 10 pt), so the
/// canvas fixes it.
inline constexpr double kCharHeightPx = 10.0;

}  // namespace tapir::viz::detail
