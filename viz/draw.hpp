// Drawing primitives for the plots: lines, rectangles, discs and a 3x5 pixel font (digits,
// A-Z, a few signs) — enough for titles, tick values and legends without a font library.
// Everything clips at the image border.
#pragma once
#include <string>

#include <tapir/viz/png.hpp>

namespace tapir::viz {

/// Line from (x0, y0) to (x1, y1), both ends included; `width` > 1 draws a square pen.
void draw_line(Image& img, int x0, int y0, int x1, int y1, Rgb color, int width = 1);
/// Like draw_line but only every other `dash` pixels are drawn.
void draw_dashed_line(Image& img, int x0, int y0, int x1, int y1, Rgb color, int dash = 4);
/// Outline of the rectangle with corners (x0, y0) and (x1, y1), inclusive.
void draw_rect(Image& img, int x0, int y0, int x1, int y1, Rgb color);
void fill_rect(Image& img, int x0, int y0, int x1, int y1, Rgb color);
void fill_circle(Image& img, int cx, int cy, int radius, Rgb color);

/// Text in the 3x5 font, top-left at (x, y), each font pixel `scale` x `scale`. Lower case is
/// drawn as upper case; characters the font lacks are drawn as a small box.
void draw_text(Image& img, int x, int y, const std::string& text, Rgb color, int scale = 1);
/// Pixel width of draw_text's output (4 * scale per character, minus the last gap).
int text_width(const std::string& text, int scale = 1);
/// Pixel height of a line of text (5 * scale).
inline int text_height(int scale = 1) { return 5 * scale; }

}  // namespace tapir::viz
