// Stand-in for xeus-cling's xcpp/xdisplay.hpp, for tools/run_notebook.py --mode xcpp (not installed).
//
// xcpp::display(obj) looks up mime_bundle_repr(obj) the way xeus-cling does (the user's overload
// by argument-dependent lookup, else xcpp's generic one). Instead of sending the bundle to a
// Jupyter front end it prints it as one line "@@TAPIR_XCPP_DISPLAY@@ <json>", which the runner
// removes from the cell's output and checks (an image/png must be base64 of a valid PNG).
// clear_output() exists in xeus-cling too; here it does nothing.
#ifndef TAPIR_XCPP_STANDIN_XDISPLAY_HPP
#define TAPIR_XCPP_STANDIN_XDISPLAY_HPP

#include <iostream>

#include "nlohmann/json.hpp"

#include "xmime.hpp"

namespace nl = nlohmann;

namespace xcpp {

template <class T>
void display(const T& t) {
  using ::xcpp::mime_bundle_repr;
  const nl::json bundle = mime_bundle_repr(t);
  std::cout << std::flush << "\n@@TAPIR_XCPP_DISPLAY@@ " << bundle.dump() << std::endl;
}

inline void clear_output(bool wait = false) { (void)wait; }

}  // namespace xcpp

#endif
