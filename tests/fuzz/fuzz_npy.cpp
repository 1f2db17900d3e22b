// libFuzzer target: tapir::io::parse_npy on arbitrary bytes.
#include <cstdint>
#include <string>

#include <tapir/core/npz.hpp>

#include "fuzz_guard.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tapir_fuzz::init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tapir_fuzz::expect_only_io_errors([&] {
    const tapir::Tensor t = tapir::io::parse_npy(std::string(reinterpret_cast<const char*>(data), size), "'fuzz.npy'");
    // an accepted file holds exactly the bytes its header declares
    if (t.nbytes() > size || t.nbytes() > tapir_fuzz::kTensorLimit) std::abort();
  });
  return 0;
}
