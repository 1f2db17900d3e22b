// tapir-bench: tapir-bench --list | --case NAME [--case NAME2 ...] [--threads N] [--json]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fnmatch.h>
#include <iostream>
#include <vector>

#include <tapir/core/parallel.hpp>

#include "bench.hpp"

namespace bench {
std::map<std::string, Factory>& registry() {
  static std::map<std::string, Factory> r;
  return r;
}
}  // namespace bench

int main(int argc, char** argv) {
  CLI::App app{"tapir-bench: micro- and layer benchmarks for tapir"};
  bool list = false, json = false;
  std::vector<std::string> cases;
  int threads = 1, min_repeats = 5;
  double min_seconds = 1.0;
  app.add_flag("--list", list, "List the case names");
  app.add_option("--case", cases, "Case name or glob pattern (repeatable), e.g. gemm/2048 or 'conv_transpose/*'");
  app.add_option("--threads", threads, "Threads for tapir's kernels")->check(CLI::PositiveNumber);
  app.add_flag("--json", json, "Print one JSON object per case (default: a table line)");
  app.add_option("--repeats", min_repeats, "Minimum timed repetitions")->check(CLI::PositiveNumber);
  app.add_option("--min-time", min_seconds, "Minimum timed seconds per case");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const auto& kv : bench::registry()) std::cout << kv.first << "\n";
    return 0;
  }
  if (cases.empty()) {
    std::cerr << "tapir-bench: give --case NAME (see --list)\n";
    return 2;
  }
  tapir::set_num_threads(threads);
  std::vector<std::string> selected;
  for (const auto& pattern : cases) {
    bool found = false;
    for (const auto& kv : bench::registry())
      if (fnmatch(pattern.c_str(), kv.first.c_str(), 0) == 0) {
        selected.push_back(kv.first);
        found = true;
      }
    if (!found) {
      std::cerr << "tapir-bench: no case matches '" << pattern << "' (see --list)\n";
      return 2;
    }
  }
  for (const auto& name : selected) {
    bench::Work work = bench::registry().at(name)();
    using clock = std::chrono::steady_clock;
    for (int i = 0; i < 2; ++i) work.run();  // warm caches, thread pool, scratch buffers
    std::vector<double> ms;
    const auto start = clock::now();
    while (static_cast<int>(ms.size()) < min_repeats ||
           std::chrono::duration<double>(clock::now() - start).count() < min_seconds) {
      const auto t0 = clock::now();
      work.run();
      ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
      if (ms.size() >= 1000) break;
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double gflops = work.flops > 0 ? work.flops / (median * 1e6) : 0.0;
    const double gbps = work.bytes > 0 ? work.bytes / (median * 1e6) : 0.0;
    if (json) {
      std::printf("{\"case\": \"%s\", \"threads\": %d, \"median_ms\": %.4f, \"min_ms\": %.4f, \"repeats\": %zu",
                  name.c_str(), threads, median, ms.front(), ms.size());
      if (work.flops > 0) std::printf(", \"gflops\": %.2f", gflops);
      if (work.bytes > 0) std::printf(", \"gbps\": %.2f", gbps);
      if (work.per_item > 0) std::printf(", \"ns_per_item\": %.4f", median * 1e6 / work.per_item);
      if (!work.note.empty()) std::printf(", \"note\": \"%s\"", work.note.c_str());
      std::printf("}\n");
    } else {
      std::printf("%-40s threads=%d median %9.3f ms", name.c_str(), threads, median);
      if (work.flops > 0) std::printf("  %8.2f GFLOP/s", gflops);
      if (work.bytes > 0) std::printf("  %8.2f GB/s", gbps);
      if (work.per_item > 0) std::printf("  %8.4f ns/item", median * 1e6 / work.per_item);
      std::printf("\n");
    }
    std::fflush(stdout);
  }
  return 0;
}
