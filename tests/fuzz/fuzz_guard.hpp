// What every loader fuzz target shares: a small tensor-size limit (so that libFuzzer's
// -malloc_limit_mb catches any allocation a header could request beyond it), and the rule that
// a parse failure must be a tapir::IOError: any other exception aborts, which libFuzzer reports
// like a crash, with the input saved.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include <unistd.h>

#include <tapir/core/error.hpp>
#include <tapir/core/shape_arith.hpp>

namespace tapir_fuzz {

constexpr std::size_t kTensorLimit = std::size_t(16) << 20;  // 16 MiB; run with -malloc_limit_mb=64

inline void init() { tapir::set_max_tensor_bytes(kTensorLimit); }

template <class F> void expect_only_io_errors(F&& f) {
  try {
    f();
  } catch (const tapir::IOError&) {
    // a refused file: what a hostile input must produce
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: untyped or mistyped exception %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

// The loaders read paths: each input goes through a per-process file (tmpfs when available).
inline std::string input_file(const char* ext, const unsigned char* data, std::size_t size) {
  static const std::string path = [&] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/tapir_fuzz_" + std::to_string(::getpid()) + ext;
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace tapir_fuzz
