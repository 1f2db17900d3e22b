#include <tapir/core/tensor.hpp>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <sstream>

#include "block_cache.hpp"
#include "kernels/elementwise.hpp"
#include <tapir/core/shape_arith.hpp>

namespace tapir {

namespace {
std::atomic<std::int64_t> g_live_bytes{0};
constexpr std::size_t kAlignment = 64;  // one cache line = one zmm register
}  // namespace

std::int64_t live_tensor_bytes() { return g_live_bytes.load(); }

const char* dtype_name(DType d) { return d == DType::float32 ? "float32" : "float64"; }
std::size_t dtype_size(DType d) { return d == DType::float32 ? 4 : 8; }

std::size_t numel(const Shape& shape) { return checked_numel(shape, "numel"); }

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::size_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::size_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                       " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {
// Buffers from 4 KiB on are recycled: a training step allocates the same shapes every
// iteration, and returning multi-megabyte blocks to the OS (glibc uses mmap above 32 MiB) would
// make every step pay page faults on fresh memory; the weight-sized ones (4-128 KiB) made
// glibc's aligned allocations split, merge and consolidate chunks on the step's serial path
// (a quarter of its serial samples were malloc and free; 2-thread step 2 % faster from 4 KiB
// than from 64 KiB, measured; from 0 bytes it was slower at 1 thread). Blocks are reused only at
// exactly the same rounded size, under one mutex (tensors are made on the calling thread).
class BlockCache {
 public:
  static constexpr std::size_t kMinBytes = 1 << 12;
  static constexpr std::size_t kCapacity = 1ull << 30;  // at most 1 GiB held back

  void* take(std::size_t bytes) {
    if (bytes >= kMinBytes) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        held_ -= bytes;
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void give(void* p, std::size_t bytes) {
    if (bytes >= kMinBytes) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (held_ + bytes <= kCapacity) {
        free_[bytes].push_back(p);
        held_ += bytes;
        return;
      }
    }
    std::free(p);
  }
  ~BlockCache() {
    for (auto& kv : free_)
      for (void* p : kv.second) std::free(p);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  std::size_t held_ = 0;
};

BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache;  // never destroyed: tensors may outlive statics
  return *cache;
}

std::size_t rounded_block(std::size_t bytes) {
  return std::max<std::size_t>(kAlignment, ((bytes + kAlignment - 1) / kAlignment) * kAlignment);
}
}  // namespace

namespace internal {
void* take_block(std::size_t bytes) { return block_cache().take(rounded_block(bytes)); }
void give_block(void* block, std::size_t bytes) noexcept {
  if (!block) return;
  try {
    block_cache().give(block, rounded_block(bytes));
  } catch (...) {  // the cache's bookkeeping could not grow: hand the block to the system
    std::free(block);
  }
}
}  // namespace internal

struct Tensor::Storage {
  void* ptr = nullptr;
  std::size_t bytes = 0;
  std::size_t rounded = 0;
  explicit Storage(std::size_t nbytes) : bytes(nbytes) {
    rounded = rounded_block(nbytes);
    ptr = block_cache().take(rounded);
    g_live_bytes += static_cast<std::int64_t>(bytes);
  }
  ~Storage() {
    internal::give_block(ptr, bytes);
    g_live_bytes -= static_cast<std::int64_t>(bytes);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  if (shape.size() > kMaxRank)
    throw ShapeError("Tensor: rank " + std::to_string(shape.size()) + " exceeds the maximum " +
                     std::to_string(kMaxRank) + " (shape " + shape_str(shape) + ")");
  const std::size_t bytes = checked_tensor_bytes(shape, dtype, "Tensor");
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.size_ = bytes / dtype_size(dtype);
  t.storage_ = std::make_shared<Storage>(bytes);
  return t;
}

Tensor::Tensor(Shape shape, DType dtype) {
  *this = empty(shape, dtype);
  std::memset(storage_->ptr, 0, nbytes());
}

Tensor Tensor::full(const Shape& shape, DType dtype, double value) {
  Tensor t = empty(shape, dtype);
  t.fill(value);
  return t;
}

template <class T>
Tensor Tensor::from_vector(const Shape& shape, const std::vector<T>& values) {
  if (checked_numel(shape, "Tensor::from_vector") != values.size())
    throw ShapeError("Tensor::from_vector: shape " + shape_str(shape) + " holds " +
                     std::to_string(numel(shape)) + " elements, but " +
                     std::to_string(values.size()) + " values were given");
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), t.nbytes());  // data() may be null
  return t;
}

void* Tensor::raw_data() {
  if (!storage_) throw ValueError("Tensor: access to an undefined tensor");
  return storage_->ptr;
}
const void* Tensor::raw_data() const {
  if (!storage_) throw ValueError("Tensor: access to an undefined tensor");
  return storage_->ptr;
}

template <class T> T* Tensor::data() {
  if (dtype_ != dtype_of<T>())
    throw TypeError(std::string("Tensor::data: tensor is ") + dtype_name(dtype_) +
                    ", requested " + dtype_name(dtype_of<T>()));
  return static_cast<T*>(raw_data());
}
template <class T> const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}

double Tensor::at(std::size_t i) const {
  if (i >= size_)
    throw ShapeError("Tensor::at: index " + std::to_string(i) + " out of range for shape " +
                     shape_str(shape_));
  return dtype_ == DType::float32 ? double(data<float>()[i]) : data<double>()[i];
}

double Tensor::item() const {
  if (size_ != 1)
    throw ShapeError("Tensor::item: tensor of shape " + shape_str(shape_) +
                     " does not hold exactly one element");
  return at(0);
}

template <class T> std::vector<T> Tensor::to_vector() const {
  std::vector<T> out(size_);
  for (std::size_t i = 0; i < size_; ++i) out[i] = static_cast<T>(at(i));
  return out;
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t = empty(shape_, dtype_);
  if (size_) std::memcpy(t.raw_data(), raw_data(), nbytes());
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  // checked: a product that wraps around to size_ (e.g. [2, 2^63 + 3] for 6 elements) is refused;
  // the message is only built when it is needed (reshape runs on every step's hot path)
  std::size_t count = 1;
  bool wraps = false;
  for (std::size_t d : shape) wraps = __builtin_mul_overflow(count, d, &count) || wraps;
  if (wraps) checked_numel(shape, "reshape: cannot reshape " + shape_str(shape_) + " into " + shape_str(shape));
  if (count != size_)
    throw ShapeError("reshape: cannot reshape " + shape_str(shape_) + " (" +
                     std::to_string(size_) + " elements) into " + shape_str(shape));
  if (shape.size() > kMaxRank)
    throw ShapeError("reshape: rank of " + shape_str(shape) + " exceeds the maximum " +
                     std::to_string(kMaxRank));
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::astype(DType dtype) const {
  if (dtype == dtype_) return clone();
  Tensor t = empty(shape_, dtype);
  if (dtype == DType::float64) {
    const float* s = data<float>();
    double* d = t.data<double>();
    for (std::size_t i = 0; i < size_; ++i) d[i] = s[i];
  } else {
    const double* s = data<double>();
    float* d = t.data<float>();
    for (std::size_t i = 0; i < size_; ++i) d[i] = static_cast<float>(s[i]);
  }
  return t;
}

void Tensor::fill(double value) {
  if (dtype_ == DType::float32) kernels::fill_value(data<float>(), size_, static_cast<float>(value));
  else kernels::fill_value(data<double>(), size_, value);
}

void Tensor::add_(const Tensor& other) {
  if (other.dtype_ != dtype_)
    throw TypeError("Tensor::add_: cannot add " + shape_str(other.shape_) + " " +
                    dtype_name(other.dtype_) + " into " + shape_str(shape_) + " " +
                    dtype_name(dtype_) + " (dtypes differ)");
  if (other.shape_ != shape_)
    throw ShapeError("Tensor::add_: cannot add " + shape_str(other.shape_) + " " +
                     dtype_name(other.dtype_) + " into " + shape_str(shape_) + " " +
                     dtype_name(dtype_));
  if (dtype_ == DType::float32)
    kernels::axpy<float>(size_, 1.0f, other.data<float>(), data<float>());
  else
    kernels::axpy<double>(size_, 1.0, other.data<double>(), data<double>());
}

std::string to_string(const Tensor& t, std::size_t max_elements) {
  std::ostringstream os;
  if (!t.defined()) return "Tensor(undefined)";
  os << "Tensor(" << dtype_name(t.dtype()) << ", shape=" << shape_str(t.shape()) << ", [";
  for (std::size_t i = 0; i < t.size() && i < max_elements; ++i) os << (i ? ", " : "") << t.at(i);
  if (t.size() > max_elements) os << ", ...";
  os << "])";
  return os.str();
}

template Tensor Tensor::from_vector<float>(const Shape&, const std::vector<float>&);
template Tensor Tensor::from_vector<double>(const Shape&, const std::vector<double>&);
template float* Tensor::data<float>();
template double* Tensor::data<double>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;

}  // namespace tapir
