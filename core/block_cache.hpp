// The tensors' block cache, for other buffers that a training step makes with the same sizes
// every iteration (internal header). A buffer of 100 KiB or more freed to malloc at the top of
// the heap makes glibc trim the heap and grow it again at the next step (brk, page faults, and
// at 2 threads a TLB shootdown of the other core), on the calling thread.
#pragma once
#include <cstddef>

namespace tapir::internal {

/// A 64-byte aligned block of at least `bytes` bytes (a recycled one of the same rounded size
/// when the cache holds one); std::bad_alloc when there is none.
void* take_block(std::size_t bytes);
/// Returns a block from take_block(bytes), with the same `bytes`.
void give_block(void* block, std::size_t bytes) noexcept;

}  // namespace tapir::internal
