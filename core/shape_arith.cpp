#include <tapir/core/shape_arith.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace tapir {

namespace {

constexpr std::size_t kDefaultMaxTensorBytes = std::size_t(16) << 30;  // 16 GiB

std::size_t initial_limit() {
  // An environment override lets a user run a big model (or a CI job a small limit) without
  // recompiling; a malformed value is an error rather than silently ignored.
  const char* env = std::getenv("TAPIR_MAX_TENSOR_BYTES");
  if (!env || !*env) return kDefaultMaxTensorBytes;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(env, &end, 10);
  if (errno != 0 || *end != '\0' || v == 0 || env[0] == '-')
    throw ValueError(std::string("TAPIR_MAX_TENSOR_BYTES: expected a positive byte count, got \"") + env + "\"");
  return static_cast<std::size_t>(v);
}

std::atomic<std::size_t>& limit() {
  static std::atomic<std::size_t> value{initial_limit()};
  return value;
}

// Size of a product that overflowed, for the message: long double keeps the magnitude.
std::string approx_product(const Shape& shape, std::size_t factor) {
  long double p = static_cast<long double>(factor);
  for (auto d : shape) p *= static_cast<long double>(d);
  std::ostringstream os;
  os.precision(3);
  os << "about " << p;
  return os.str();
}

[[noreturn]] void overflow(std::size_t a, const char* op, std::size_t b, const std::string& what) {
  throw ShapeError(what + ": " + std::to_string(a) + op + std::to_string(b) + " overflows 64-bit sizes");
}
}  // namespace

std::size_t checked_mul(std::size_t a, std::size_t b, const char* what) {
  std::size_t r;
  if (__builtin_mul_overflow(a, b, &r)) overflow(a, " * ", b, what);
  return r;
}
std::size_t checked_mul(std::size_t a, std::size_t b, const std::string& what) {
  return checked_mul(a, b, what.c_str());
}
std::size_t checked_add(std::size_t a, std::size_t b, const char* what) {
  std::size_t r;
  if (__builtin_add_overflow(a, b, &r)) overflow(a, " + ", b, what);
  return r;
}
std::size_t checked_add(std::size_t a, std::size_t b, const std::string& what) {
  return checked_add(a, b, what.c_str());
}

std::size_t checked_numel(const Shape& shape, const std::string& what) {
  std::size_t n = 1;
  for (auto d : shape)
    if (__builtin_mul_overflow(n, d, &n))
      throw ShapeError(what + ": shape " + shape_str(shape) + " has " + approx_product(shape, 1) +
                       " elements, more than size_t holds");
  return n;
}

std::size_t checked_tensor_bytes(const Shape& shape, DType dtype, const std::string& what) {
  const std::size_t item = dtype_size(dtype);
  // The span of the non-zero dims bounds every stride and offset computed over this shape.
  std::size_t span = item, bytes = item;
  bool overflow = false;
  for (auto d : shape) {
    if (d != 0) overflow = overflow || __builtin_mul_overflow(span, d, &span);
    bytes = d == 0 ? 0 : bytes;
  }
  overflow = overflow || span > static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
  if (overflow) {
    if (bytes == 0)  // empty, yet its strides would wrap
      throw ShapeError(what + ": tensor of shape " + shape_str(shape) + " " + dtype_name(dtype) +
                       " is empty but its non-zero dimensions overflow 64-bit byte offsets");
    throw ShapeError(what + ": tensor of shape " + shape_str(shape) + " " + dtype_name(dtype) +
                     " would need " + approx_product(shape, item) +
                     " bytes (its dimensions overflow 64-bit sizes)");
  }
  if (bytes != 0) bytes = span;
  const std::size_t cap = max_tensor_bytes();
  if (bytes > cap)
    throw ShapeError(what + ": tensor of shape " + shape_str(shape) + " " + dtype_name(dtype) +
                     " would need " + std::to_string(bytes) + " bytes, more than the limit of " +
                     std::to_string(cap) + " bytes for one tensor (tapir::set_max_tensor_bytes)");
  return bytes;
}

std::size_t max_tensor_bytes() { return limit().load(std::memory_order_relaxed); }

void set_max_tensor_bytes(std::size_t bytes) {
  if (bytes == 0)
    throw ValueError("set_max_tensor_bytes: bytes must be > 0 (SIZE_MAX means no limit), got 0");
  limit().store(bytes, std::memory_order_relaxed);
}

MaxTensorBytesScope::MaxTensorBytesScope(std::size_t bytes) : previous_(max_tensor_bytes()) {
  set_max_tensor_bytes(bytes);
}
MaxTensorBytesScope::~MaxTensorBytesScope() { set_max_tensor_bytes(previous_); }

}  // namespace tapir
