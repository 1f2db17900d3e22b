#include <tapir/core/error.hpp>

namespace tapir {

std::string shape_str(const std::vector<std::size_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? "," : "") << shape[i];
  os << ']';
  return os.str();
}

}  // namespace tapir
