// libFuzzer target: tapir::data::read_idx on arbitrary bytes (plain or gzip IDX).
#include <cstdint>

#include <tapir/data/idx.hpp>

#include "fuzz_guard.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tapir_fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = tapir_fuzz::input_file(".idx", data, size);
  tapir_fuzz::expect_only_io_errors([&] {
    const tapir::data::IdxArray a = tapir::data::read_idx(path);
    std::size_t n = 1;
    for (auto d : a.shape) n *= d;  // read_idx checked this product; an accepted file holds it all
    if (a.values.size() != n || n > tapir_fuzz::kTensorLimit) std::abort();
  });
  return 0;
}
