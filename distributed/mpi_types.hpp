// Private to distributed/: tapir dtypes as MPI datatypes, and a layout fingerprint.
#pragma once
#include <mpi.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include <tapir/core/tensor.hpp>

namespace tapir::distributed::detail {

inline MPI_Datatype mpi_type(DType dtype) { return dtype == DType::float64 ? MPI_DOUBLE : MPI_FLOAT; }

/// FNV-1a, fed piece by piece.
struct Fnv1a {
  std::uint64_t h = 0xCBF29CE484222325ull;
  void bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) { h ^= p[i]; h *= 0x100000001B3ull; }
  }
  void word(std::uint64_t w) { bytes(&w, sizeof w); }
  void text(std::string_view s) { word(s.size()); bytes(s.data(), s.size()); }
  void shape(const Shape& s, DType d) {
    word(s.size());
    for (std::size_t e : s) word(e);
    word(static_cast<std::uint64_t>(d));
  }
};

}  // namespace tapir::distributed::detail
