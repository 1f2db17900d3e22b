// Checked size arithmetic: the one place where products of dimensions, byte counts and padded
// or strided extents are computed. Hostile sizes (a shape read from a file, a stride of 2^30, a
// dimension of SIZE_MAX) would otherwise wrap around silently and turn into a tiny buffer that
// later code indexes far beyond; here they become a ShapeError naming the operation and the
// shape. A second guard, the tensor-size limit, turns "more memory than this machine has" into
// the same typed error instead of std::bad_alloc (or the OOM killer) after a long allocation.
#pragma once
#include <cstddef>
#include <string>

#include <tapir/core/tensor.hpp>

namespace tapir {

/// a * b; ShapeError "<what>: a * b overflows" when it does not fit in size_t.
std::size_t checked_mul(std::size_t a, std::size_t b, const std::string& what);
std::size_t checked_mul(std::size_t a, std::size_t b, const char* what);  ///< no string built unless it throws
/// a + b; ShapeError "<what>: a + b overflows" when it does not fit in size_t.
std::size_t checked_add(std::size_t a, std::size_t b, const std::string& what);
std::size_t checked_add(std::size_t a, std::size_t b, const char* what);
/// Element count of `shape`; ShapeError naming `what` and the shape when the product overflows.
std::size_t checked_numel(const Shape& shape, const std::string& what);

/// Bytes a tensor of `shape` and `dtype` needs, after checking that (1) the product of its
/// non-zero dims times the element size fits a signed byte offset (so strides never wrap, even
/// for an empty tensor such as [0, 2^62]), and (2) the byte count is within max_tensor_bytes().
/// Otherwise ShapeError: "<what>: tensor of shape [...] float32 would need N bytes, ...".
std::size_t checked_tensor_bytes(const Shape& shape, DType dtype, const std::string& what);

/// The largest single tensor tapir allocates, in bytes (default 16 GiB, or the value of the
/// environment variable TAPIR_MAX_TENSOR_BYTES read at first use). Process-wide.
std::size_t max_tensor_bytes();
/// Sets the limit (0 is refused with ValueError: use SIZE_MAX for "no limit").
void set_max_tensor_bytes(std::size_t bytes);

/// Sets the limit for a scope and restores the previous one (tests, fuzzers, loaders of
/// untrusted files).
class MaxTensorBytesScope {
 public:
  explicit MaxTensorBytesScope(std::size_t bytes);
  ~MaxTensorBytesScope();
  MaxTensorBytesScope(const MaxTensorBytesScope&) = delete;
  MaxTensorBytesScope& operator=(const MaxTensorBytesScope&) = delete;

 private:
  std::size_t previous_;
};

}  // namespace tapir
