// A grow-only scratch buffer for kernels' temporaries (internal header). A training step calls
// the same kernels with the same sizes every iteration; a temporary allocated and freed per call
// goes through malloc, and one of 100 KiB or more at the top of the heap makes glibc trim the
// heap and grow it again (brk, page faults, and at 2 threads a TLB shootdown of the other core)
// on the calling thread, outside the parallel regions.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace tapir::kernels {

/// A grow-only, 64-byte aligned scratch buffer (one per thread and purpose): no allocation in
/// steady state.
template <class T> class Scratch {
 public:
  T* get(std::size_t n) {
    if (n > cap_) {
      const std::size_t cap = std::max<std::size_t>(n, 2 * cap_);
      std::free(ptr_);
      ptr_ = nullptr;
      cap_ = 0;
      ptr_ = static_cast<T*>(std::aligned_alloc(64, ((cap * sizeof(T) + 63) / 64) * 64));
      if (!ptr_) throw std::bad_alloc();
      cap_ = cap;
    }
    return ptr_;
  }
  Scratch() = default;
  Scratch(const Scratch&) = delete;  // it owns its buffer
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(ptr_); }

 private:
  T* ptr_ = nullptr;
  std::size_t cap_ = 0;
};

}  // namespace tapir::kernels
