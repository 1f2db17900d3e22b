// Built against an installed tapir-viz: draws a two-panel figure and checks the PNG it wrote.
#include <tapir/viz/plots.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: prog_viz OUT.png\n");
    return 2;
  }
  namespace viz = tapir::viz;
  const viz::Series loss{"loss", {3.0, 2.0, 1.5, 1.25}, {}, std::nullopt};
  const viz::Series kl{"KL", {0.01, 0.02, 0.025, 0.03}, {}, std::nullopt};
  viz::write_png(argv[1], viz::panel_plot({{"loss", {loss}}, {"KL", {kl}}}, viz::LineOptions().width(320).height(400)));
  std::ifstream in(argv[1], std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool png = bytes.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0 && bytes.compare(12, 4, "IHDR") == 0;
  std::printf("%s: %zu bytes, %s\n", argv[1], bytes.size(), png ? "a PNG" : "NOT a PNG");
  return png ? 0 : 1;
}
