// Internal: range checks for options (ValueError naming the option, the range and the value).
#pragma once
#include <cmath>
#include <sstream>
#include <string>

#include <tapir/core/error.hpp>

namespace tapir::optim::detail {

inline std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

inline void require_nonnegative(const std::string& who, const char* option, double v) {
  if (!(std::isfinite(v) && v >= 0))
    throw ValueError(who + ": " + option + " must be finite and >= 0, got " + num(v));
}

/// lo <= v < hi
inline void require_in(const std::string& who, const char* option, double v, double lo, double hi) {
  if (!(v >= lo && v < hi))
    throw ValueError(who + ": " + option + " must be in [" + num(lo) + ", " + num(hi) + "), got " +
                     num(v));
}

}  // namespace tapir::optim::detail
