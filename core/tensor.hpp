// Tensor: an owning, contiguous, row-major block of float32 or float64 values with a shape.
// Copies share the buffer (like a shared_ptr); ops never write into their inputs, so sharing is
// safe. `clone()` makes an independent copy. Conversion to/from xt::xarray lives in
// xtensor_bridge.hpp so that the core compiles without xtensor's templates.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tapir/core/error.hpp>

namespace tapir {

enum class DType { float32, float64 };

using Shape = std::vector<std::size_t>;

const char* dtype_name(DType d);
std::size_t dtype_size(DType d);
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::float32; }
template <> constexpr DType dtype_of<double>() { return DType::float64; }

/// Largest rank tapir supports (NumPy allows 32; 6 covers batch + 3-D spatial + channels).
constexpr std::size_t kMaxRank = 6;

std::size_t numel(const Shape& shape);
/// NumPy broadcasting of two shapes; throws ShapeError naming `op` with both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// Process-wide counters for leak tests: bytes held by live tensor buffers.
std::int64_t live_tensor_bytes();

class Tensor {
 public:
  Tensor() = default;  ///< undefined tensor (no storage); `defined()` is false
  /// Zero-filled tensor.
  Tensor(Shape shape, DType dtype);

  static Tensor zeros(const Shape& shape, DType dtype) { return Tensor(shape, dtype); }
  static Tensor full(const Shape& shape, DType dtype, double value);
  static Tensor ones(const Shape& shape, DType dtype) { return full(shape, dtype, 1.0); }
  static Tensor scalar(double value, DType dtype) { return full({}, dtype, value); }
  /// Uninitialised storage, for kernels that overwrite every element.
  static Tensor empty(const Shape& shape, DType dtype);
  /// Copies `values` (row-major) into a new tensor of `shape`.
  template <class T> static Tensor from_vector(const Shape& shape, const std::vector<T>& values);

  bool defined() const { return static_cast<bool>(storage_); }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  std::size_t dim(std::size_t axis) const { return shape_.at(axis); }
  std::size_t ndim() const { return shape_.size(); }
  std::size_t size() const { return size_; }
  std::size_t nbytes() const { return size_ * dtype_size(dtype_); }

  /// Typed element pointer; throws TypeError if T is not the tensor's dtype.
  template <class T> T* data();
  template <class T> const T* data() const;
  void* raw_data();
  const void* raw_data() const;

  /// The single value of a one-element tensor, as double.
  double item() const;
  /// Element `i` of the flat row-major buffer, as double (slow; for tests and printing).
  double at(std::size_t flat_index) const;
  template <class T> std::vector<T> to_vector() const;

  Tensor clone() const;
  /// Same buffer, new shape with the same element count.
  Tensor reshape(const Shape& shape) const;
  Tensor astype(DType dtype) const;
  /// True if no other Tensor shares this buffer (in-place updates are then invisible to others).
  bool unique() const { return storage_.use_count() == 1; }
  /// True if both tensors view the same buffer.
  bool shares_storage(const Tensor& other) const { return storage_ == other.storage_; }

  /// Sets every element to `value`.
  void fill(double value);
  /// this += other (same shape and dtype), in place.
  void add_(const Tensor& other);

 private:
  struct Storage;
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  DType dtype_ = DType::float32;
  std::size_t size_ = 0;
};

std::string to_string(const Tensor& t, std::size_t max_elements = 64);

}  // namespace tapir
