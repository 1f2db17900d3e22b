#include "plplot_canvas.hpp"

#include <plplot/plplot.h>

#include <cstring>
#include <vector>

#include <tapir/core/error.hpp>

namespace tapir::viz::detail {

namespace {

std::mutex& plplot_mutex() {
  static std::mutex m;
  return m;
}

// Messages of refused operations during the current page (guarded by plplot_mutex()).
std::string& abort_messages() {
  static std::string s;
  return s;
}

void on_abort(PLCHAR_VECTOR message) {
  if (!abort_messages().empty()) abort_messages() += "; ";
  abort_messages() += message ? message : "(no message)";
}

// Set when PLplot gave up (plexit): its state is then only good for a full plend().
bool& plplot_failed() {
  static bool failed = false;
  return failed;
}

// plexit() would exit() once this returns; throwing unwinds back to the canvas instead (Debian
// builds libplplot with unwind tables, so the exception crosses its C frames).
int on_exit(PLCHAR_VECTOR message) {
  plplot_failed() = true;
  throw IOError(std::string("PLplot failed: ") + (message ? message : "(no message)"));
}

// Ends the page: plend1() normally, a full plend() after a failure (it resets every stream).
void end_page() {
  if (plplot_failed()) {
    plplot_failed() = false;
    plsexit(nullptr);  // plend() must not meet our throwing handler
    plend();
  } else {
    plend1();
  }
}

// plinit() with an unknown device would prompt on stdin for another one: check first.
bool have_device(const char* name) {
  std::vector<const char*> menu(128), names(128);
  const char** menu_p = menu.data();
  const char** names_p = names.data();
  int n = static_cast<int>(names.size());
  plgDevs(&menu_p, &names_p, &n);
  for (int i = 0; i < n; ++i)
    if (names_p[i] && std::strcmp(names_p[i], name) == 0) return true;
  return false;
}

constexpr int kColors = 256;  // colour-map-0 size: background, ink, then one per legend entry

}  // namespace

PlplotCanvas::PlplotCanvas(std::string who, int width, int height)
    : lock_(plplot_mutex()), who_(std::move(who)), image_(width, height, 3, 255) {
  if (!have_device("memcairo"))
    throw IOError(who_ + ": PLplot's cairo driver is not installed (Debian: apt-get install plplot-driver-cairo)");
  abort_messages().clear();
  plsabort(on_abort);
  plsexit(on_exit);
  plsdev("memcairo");
  // plsmem: 3 bytes per pixel, RGB (plsmema would read 4, RGBA). The driver starts from the
  // buffer's content, so the page background is our white fill.
  plsmem(width, height, image_.data().data());
  plscmap0n(kColors);
  plscol0a(0, 255, 255, 255, 1.0);
  plscol0a(kInk, 0, 0, 0, 1.0);
  try {
    plinit();
    pladv(0);
    PLFLT x_min_mm = 0, x_max_mm = 0, y_min_mm = 0, y_max_mm = 0;
    plgspa(&x_min_mm, &x_max_mm, &y_min_mm, &y_max_mm);  // the page in millimetres
    plschr(kCharHeightPx * (x_max_mm - x_min_mm) / width, 1.0);
    plcol0(kInk);
  } catch (...) {  // a constructor that throws gets no destructor: end the page here
    try { end_page(); } catch (...) {}
    plsabort(nullptr);
    plsexit(nullptr);
    throw;
  }
  open_ = true;
}

PlplotCanvas::~PlplotCanvas() {
  if (!open_) return;
  try {
    end_page();
  } catch (...) {  // a destructor running during unwinding must not throw again
  }
  plsabort(nullptr);
  plsexit(nullptr);
}

int PlplotCanvas::color(Rgb c, double alpha) {
  if (next_color_ >= kColors)
    throw ValueError(who_ + ": more than " + std::to_string(kColors - 2) + " colours on one figure");
  const int index = next_color_++;
  plscol0a(index, c.r, c.g, c.b, alpha);
  return index;
}

void PlplotCanvas::use(int color_index) { plcol0(color_index); }

Image PlplotCanvas::finish() {
  end_page();  // the memcairo device copies the page into image_ here
  open_ = false;  // only now: if end_page threw (plexit), the destructor still resets PLplot
  plsabort(nullptr);
  plsexit(nullptr);
  if (!abort_messages().empty()) throw IOError(who_ + ": PLplot refused an operation: " + abort_messages());
  return std::move(image_);
}

std::string plplot_text(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    out += c;
    if (c == '#') out += '#';
  }
  return out;
}

}  // namespace tapir::viz::detail
