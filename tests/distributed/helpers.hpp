// Shared by the MPI tests: gathering values from every rank.
#pragma once
#include <mpi.h>

#include <cstring>
#include <vector>

#include <tapir/distributed/context.hpp>

namespace mpi_test {

inline tapir::distributed::Context& ctx() { return tapir::distributed::Context::current("test"); }

/// Every rank's `values` (all ranks pass the same count), rank by rank.
template <class T> std::vector<std::vector<T>> allgather(const std::vector<T>& values) {
  const int k = ctx().size();
  std::vector<T> all(values.size() * static_cast<std::size_t>(k));
  MPI_Allgather(values.data(), static_cast<int>(values.size() * sizeof(T)), MPI_BYTE, all.data(),
                static_cast<int>(values.size() * sizeof(T)), MPI_BYTE, ctx().comm());
  std::vector<std::vector<T>> out;
  for (int r = 0; r < k; ++r) out.emplace_back(all.begin() + r * values.size(), all.begin() + (r + 1) * values.size());
  return out;
}

/// True when `bytes` is the same on every rank (memcmp against rank 0's copy).
inline bool bitwise_same_on_all_ranks(const void* data, std::size_t bytes) {
  std::vector<unsigned char> mine(static_cast<const unsigned char*>(data), static_cast<const unsigned char*>(data) + bytes);
  const auto all = allgather(mine);
  for (const auto& other : all)
    if (std::memcmp(other.data(), all[0].data(), bytes) != 0) return false;
  return true;
}

}  // namespace mpi_test
