// Randomness and optimizer cases. rng/*: ns per sample (reported as ns_per_sample and the
// throughput in GB/s of written samples). adam/step/10M: one Adam step through the public
// optimizer on 10 million float32 parameters; it reads param, grad, m, v and writes param, m, v
// (7 x 4 bytes per parameter), compared with copy/16M's bandwidth.
#include <tapir/tapir.hpp>

#include "bench.hpp"

namespace {
constexpr std::size_t k16M = 1 << 24;
constexpr std::size_t k10M = 10'000'000;

bench::Work rng_case(bool normal) {
  auto out = std::make_shared<tapir::Tensor>(tapir::Tensor::empty({k16M}, tapir::DType::float32));
  auto seeds = std::make_shared<tapir::SeedStream>(std::uint64_t{42}, "bench");
  bench::Work w{[=] {
                  if (normal) tapir::random::fill_normal(*out, seeds->next());
                  else tapir::random::fill_rademacher(*out, seeds->next());
                },
                0, 4.0 * k16M,
                normal ? "16M float32 standard normals (Philox-4x32-10 + Box-Muller); bytes = written"
                       : "16M float32 Rademacher signs (Philox-4x32-10); bytes = written"};
  w.per_item = static_cast<double>(k16M);
  return w;
}
}  // namespace

BENCH_CASE("rng/normal/16M") { return rng_case(true); }
BENCH_CASE("rng/rademacher/16M") { return rng_case(false); }

BENCH_CASE("adam/step/10M") {
  auto p = std::make_shared<tapir::Var>(tapir::parameter(tapir::Tensor::full({k10M}, tapir::DType::float32, 0.5), "p"));
  p->mutable_grad() = tapir::Tensor::full({k10M}, tapir::DType::float32, 1e-3);
  auto adam = std::make_shared<tapir::optim::Adam>(std::vector<tapir::Var>{*p}, tapir::optim::AdamOptions().learning_rate(1e-4));
  return {[=] { adam->step(); }, 0, 7.0 * 4 * k10M,
          "Adam step on 10M float32: reads p, g, m, v, writes p, m, v (bytes = 28 per parameter)"};
}
