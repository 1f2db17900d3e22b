// libFuzzer target: tapir::io::load_npz on arbitrary bytes (zip structure and the .npy entries).
#include <cstdint>

#include <tapir/core/npz.hpp>

#include "fuzz_guard.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tapir_fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = tapir_fuzz::input_file(".npz", data, size);
  tapir_fuzz::expect_only_io_errors([&] {
    for (const auto& [name, t] : tapir::io::load_npz(path))
      if (t.nbytes() > tapir_fuzz::kTensorLimit) std::abort();
  });
  return 0;
}
