#include <tapir/viz/draw.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace tapir::viz {

namespace {

void plot(Image& img, int x, int y, Rgb color, int width) {
  if (width <= 1) {
    img.set(x, y, color);
    return;
  }
  const int lo = -(width - 1) / 2, hi = width / 2;
  for (int dy = lo; dy <= hi; ++dy)
    for (int dx = lo; dx <= hi; ++dx) img.set(x + dx, y + dy, color);
}

// Bresenham; `dash` > 0 skips alternate runs of that many pixels.
void line(Image& img, int x0, int y0, int x1, int y1, Rgb color, int width, int dash) {
  const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
  const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (int step = 0;; ++step) {
    if (dash <= 0 || (step / dash) % 2 == 0) plot(img, x0, y0, color, width);
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * err;
    if (e2 >= dy) { err += dy; x0 += sx; }
    if (e2 <= dx) { err += dx; y0 += sy; }
  }
}

// 3x5 glyphs, rows top to bottom, '#' = ink.
const char* glyph(char c) {
  switch (std::toupper(static_cast<unsigned char>(c))) {
    case '0': return "####.##.##.####";
    case '1': return ".#.##..#..#.###";
    case '2': return "###..#####..###";
    case '3': return "###..####..####";
    case '4': return "#.##.####..#..#";
    case '5': return "####..###..####";
    case '6': return "####..####.####";
    case '7': return "###..#..#..#..#";
    case '8': return "####.#####.####";
    case '9': return "####.####..####";
    case 'A': return ".#.#.#####.##.#";
    case 'B': return "##.#.###.#.###.";
    case 'C': return ".###..#..#...##";
    case 'D': return "##.#.##.##.###.";
    case 'E': return "####..##.#..###";
    case 'F': return "####..##.#..#..";
    case 'G': return ".###..#.##.#.##";
    case 'H': return "#.##.#####.##.#";
    case 'I': return "###.#..#..#.###";
    case 'J': return "..#..#..##.#.#.";
    case 'K': return "#.##.###.#.##.#";
    case 'L': return "#..#..#..#..###";
    case 'M': return "#.########.##.#";
    case 'N': return "##.#.##.##.##.#";
    case 'O': return ".#.#.##.##.#.#.";
    case 'P': return "##.#.###.#..#..";
    case 'Q': return ".#.#.##.###..##";
    case 'R': return "##.#.###.#.##.#";
    case 'S': return ".###...#...###.";
    case 'T': return "###.#..#..#..#.";
    case 'U': return "#.##.##.##.####";
    case 'V': return "#.##.##.##.#.#.";
    case 'W': return "#.##.########.#";
    case 'X': return "#.##.#.#.#.##.#";
    case 'Y': return "#.##.#.#..#..#.";
    case 'Z': return "###..#.#.#..###";
    case '.': return ".............#.";
    case ',': return "..........#.#..";
    case '-': return "......###......";
    case '+': return "....#.###.#....";
    case ':': return "....#.....#....";
    case '/': return "..#..#.#.#..#..";
    case '=': return "...###...###...";
    case '(': return "..#.#..#..#...#";
    case ')': return "#...#..#..#.#..";
    case '%': return "#.#..#.#.#..#.#";
    case '_': return "............###";
    case ' ': return "...............";
    default:  return "###############";  // unknown: a filled block, visibly not a letter
  }
}

}  // namespace

void draw_line(Image& img, int x0, int y0, int x1, int y1, Rgb color, int width) {
  line(img, x0, y0, x1, y1, color, width, 0);
}

void draw_dashed_line(Image& img, int x0, int y0, int x1, int y1, Rgb color, int dash) {
  line(img, x0, y0, x1, y1, color, 1, std::max(1, dash));
}

void draw_rect(Image& img, int x0, int y0, int x1, int y1, Rgb color) {
  draw_line(img, x0, y0, x1, y0, color);
  draw_line(img, x1, y0, x1, y1, color);
  draw_line(img, x1, y1, x0, y1, color);
  draw_line(img, x0, y1, x0, y0, color);
}

void fill_rect(Image& img, int x0, int y0, int x1, int y1, Rgb color) {
  if (x0 > x1) std::swap(x0, x1);
  if (y0 > y1) std::swap(y0, y1);
  x0 = std::max(x0, 0); y0 = std::max(y0, 0);
  x1 = std::min(x1, img.width() - 1); y1 = std::min(y1, img.height() - 1);
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) img.set(x, y, color);
}

void fill_circle(Image& img, int cx, int cy, int radius, Rgb color) {
  for (int dy = -radius; dy <= radius; ++dy)
    for (int dx = -radius; dx <= radius; ++dx)
      if (dx * dx + dy * dy <= radius * radius + radius) img.set(cx + dx, cy + dy, color);
}

void draw_text(Image& img, int x, int y, const std::string& text, Rgb color, int scale) {
  scale = std::max(1, scale);
  for (char c : text) {
    const char* g = glyph(c);
    for (int r = 0; r < 5; ++r)
      for (int col = 0; col < 3; ++col)
        if (g[r * 3 + col] == '#')
          fill_rect(img, x + col * scale, y + r * scale, x + (col + 1) * scale - 1,
                    y + (r + 1) * scale - 1, color);
    x += 4 * scale;
  }
}

int text_width(const std::string& text, int scale) {
  scale = std::max(1, scale);
  return text.empty() ? 0 : static_cast<int>(text.size()) * 4 * scale - scale;
}

}  // namespace tapir::viz
