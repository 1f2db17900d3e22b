// tapir's exception hierarchy: every failure a user can cause is one of these, and its message
// names the operation/argument, what was expected and what was given (with shapes).
#pragma once
#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tapir {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// Shapes that do not fit together (broadcasting, matmul, convolution geometry, ...).
class ShapeError : public Error { public: using Error::Error; };
/// A value outside its domain (negative size, unknown padding string, scale <= 0, ...).
class ValueError : public Error { public: using Error::Error; };
/// Mixed or unsupported dtypes.
class TypeError : public Error { public: using Error::Error; };
/// Reading or writing files.
class IOError : public Error { public: using Error::Error; };
/// A computation that has no implementation (e.g. a KL divergence without closed form).
class NotImplementedError : public Error { public: using Error::Error; };
/// Misuse of the tape (backward twice through a freed graph, grad of a constant, ...).
class AutodiffError : public Error { public: using Error::Error; };

/// "[2,3,4]" — the way every message in tapir prints a shape.
std::string shape_str(const std::vector<std::size_t>& shape);

}  // namespace tapir
