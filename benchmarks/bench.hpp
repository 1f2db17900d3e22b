// tapir-bench's case registry. A case prepares its data once, then `run` is timed: warm-up
// runs, then repeats until both a minimum count and a minimum time are reached; the median is
// reported. `flops` (or `bytes`) per run turns the median into GFLOP/s (or GB/s).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace bench {

struct Work {
  std::function<void()> run;  ///< one timed repetition
  double flops = 0;           ///< floating-point operations per run (0: not a FLOP-bound case)
  double bytes = 0;           ///< bytes moved per run (memory-bound cases)
  std::string note;           ///< e.g. how flops/bytes were counted
  double per_item = 0;        ///< items per run: prints ns_per_item (e.g. ns per sample)
};

using Factory = std::function<Work()>;

std::map<std::string, Factory>& registry();

struct Register {
  Register(const std::string& name, Factory f) { registry().emplace(name, std::move(f)); }
};

}  // namespace bench

#define TAPIR_BENCH_CONCAT2(a, b) a##b
#define TAPIR_BENCH_CONCAT(a, b) TAPIR_BENCH_CONCAT2(a, b)
/// BENCH_CASE("group/name") { ... return Work{...}; }
#define BENCH_CASE(name)                                                                 \
  static bench::Work TAPIR_BENCH_CONCAT(bench_fn_, __LINE__)();                          \
  static bench::Register TAPIR_BENCH_CONCAT(bench_reg_, __LINE__)(                       \
      name, &TAPIR_BENCH_CONCAT(bench_fn_, __LINE__));                                   \
  static bench::Work TAPIR_BENCH_CONCAT(bench_fn_, __LINE__)()
