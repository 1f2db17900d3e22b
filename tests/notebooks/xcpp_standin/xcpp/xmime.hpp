// Stand-in for xeus-cling's xcpp/xmime.hpp, for tools/run_notebook.py --mode xcpp (not installed).
//
// It exposes what the real header exposes to a notebook — nlohmann/json, the alias `nl`, and a
// generic xcpp::mime_bundle_repr (text/plain through operator<<) that a user's own
// mime_bundle_repr(const T&) overrides through argument-dependent lookup — and nothing more: a
// cell that compiles against these stand-ins needs nothing xeus-cling does not provide (e.g. it
// must include <xtl/xbase64.hpp> itself to call xtl::base64encode).
#ifndef TAPIR_XCPP_STANDIN_XMIME_HPP
#define TAPIR_XCPP_STANDIN_XMIME_HPP

#include <sstream>

#include "nlohmann/json.hpp"

namespace nl = nlohmann;

namespace xcpp {

template <class T>
nl::json mime_bundle_repr(const T& value) {
  std::ostringstream oss;
  oss << value;
  auto bundle = nl::json::object();
  bundle["text/plain"] = oss.str();
  return bundle;
}

}  // namespace xcpp

#endif
