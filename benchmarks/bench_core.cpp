// Foundation cases: square SGEMM, elementwise kernels, and a plain copy as the bandwidth yardstick.
#include <cstring>
#include <vector>

#include <tapir/tapir.hpp>
#include <tapir/core/kernels/gemm.hpp>
#include <tapir/core/simd.hpp>

#include "bench.hpp"

namespace {
bench::Work sgemm(std::size_t n) {
  auto a = std::make_shared<tapir::Tensor>(tapir::Tensor::full({n, n}, tapir::DType::float32, 0.5));
  auto b = std::make_shared<tapir::Tensor>(tapir::Tensor::full({n, n}, tapir::DType::float32, 0.25));
  auto c = std::make_shared<tapir::Tensor>(tapir::Tensor::zeros({n, n}, tapir::DType::float32));
  return {[=] {
            tapir::kernels::gemm<float>(false, false, n, n, n, 1.f, a->data<float>(), n,
                                        b->data<float>(), n, 0.f, c->data<float>(), n);
          },
          2.0 * n * n * n, 0, "2n^3"};
}
constexpr std::size_t k16M = 1 << 24;
}  // namespace

BENCH_CASE("gemm/256") { return sgemm(256); }
BENCH_CASE("gemm/1024") { return sgemm(1024); }
BENCH_CASE("gemm/2048") { return sgemm(2048); }

BENCH_CASE("copy/16M") {
  auto src = std::make_shared<tapir::Tensor>(tapir::Tensor::full({k16M}, tapir::DType::float32, 1.0));
  auto dst = std::make_shared<tapir::Tensor>(tapir::Tensor::zeros({k16M}, tapir::DType::float32));
  return {[=] { std::memcpy(dst->raw_data(), src->raw_data(), src->nbytes()); }, 0, 2.0 * 4 * k16M,
          "memcpy of 64 MiB: the bandwidth reference (bytes = read + write)"};
}

BENCH_CASE("softplus/16M") {
  auto x = std::make_shared<tapir::Var>(tapir::constant(tapir::Tensor::full({k16M}, tapir::DType::float32, 0.3)));
  return {[=] { tapir::Var y = tapir::softplus(*x); }, 0, 2.0 * 4 * k16M,
          "y = softplus(x), float32, output allocated per call (bytes = read + write)"};
}

BENCH_CASE("add_broadcast/16M") {
  auto x = std::make_shared<tapir::Var>(tapir::constant(tapir::Tensor::full({4096, 4096}, tapir::DType::float32, 0.3)));
  auto b = std::make_shared<tapir::Var>(tapir::constant(tapir::Tensor::full({4096}, tapir::DType::float32, 0.1)));
  return {[=] { tapir::Var y = *x + *b; }, 0, 2.0 * 4 * k16M,
          "[4096,4096] + [4096], float32 (bytes = read + write)"};
}

// The machine's FMA peak, the yardstick printed beside every GFLOP/s figure: each thread runs
// independent chains of vector multiply-adds on registers only (12 chains hide the FMA latency on
// every x86 core we run on), so memory plays no part. flops = 2 per lane per FMA, all threads.
namespace {
float fma_chains(std::size_t iterations) {
  using B = tapir::simd::Batch<float>;
  constexpr int kChains = 12;
  B acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = B(1.0f + 0.001f * static_cast<float>(j));
  const B m(0.999999f), a(1e-7f);
  for (std::size_t it = 0; it < iterations; ++it)
    for (int j = 0; j < kChains; ++j) acc[j] = xsimd::fma(acc[j], m, a);
  B total(0.0f);
  for (int j = 0; j < kChains; ++j) total += acc[j];
  return xsimd::hadd(total);
}
}  // namespace

BENCH_CASE("peak/fma") {
  using B = tapir::simd::Batch<float>;
  constexpr std::size_t kIterations = 1 << 22;
  const int threads = tapir::num_threads();
  auto sink = std::make_shared<std::vector<float>>(static_cast<std::size_t>(threads));
  return {[=] {
            #pragma omp parallel for num_threads(threads) schedule(static, 1)
            for (int t = 0; t < threads; ++t) (*sink)[static_cast<std::size_t>(t)] = fma_chains(kIterations);
          },
          2.0 * B::size * 12 * static_cast<double>(kIterations) * threads, 0,
          "fp32 FMA peak: 12 register chains per thread, 2 flops per lane per FMA"};
}

// The ceiling of the convolution engine's FMA loops: the rank-1 updates of its register tiles
// (24 accumulators, here 8 rows x 3 vectors: per step 8 broadcasts and 3 vector loads for 24
// FMAs) with both operands in L1 (128 steps: 4 KiB of A, 24 KiB of B for 512-bit vectors), no
// address tables, no C traffic worth counting. peak/fma has no loads at all; what a tile loses
// against it here, every kernel built from such tiles loses too — the yardstick for how close
// to peak a convolution can get before its data comes from farther than L1.
namespace {
// 8 rows with 32 vector registers (AVX-512); 4 with 16 (AVX2), where 24 accumulators would spill
constexpr std::size_t kTileRows = tapir::simd::Batch<float>::size >= 16 ? 8 : 4;
constexpr std::size_t kTileVectors = 3, kTileSteps = 128;

template <class B>
__attribute__((noinline)) void tile_steps(const float* a, const float* b, float* c) {
  B acc[kTileVectors][kTileRows];
  for (std::size_t v = 0; v < kTileVectors; ++v)
    for (std::size_t i = 0; i < kTileRows; ++i) acc[v][i] = B::load_unaligned(c + (v * kTileRows + i) * B::size);
  for (std::size_t k = 0; k < kTileSteps; ++k, a += kTileRows, b += kTileVectors * B::size) {
    B bv[kTileVectors];
#pragma GCC unroll 3
    for (std::size_t v = 0; v < kTileVectors; ++v) bv[v] = B::load_unaligned(b + v * B::size);
#pragma GCC unroll 8
    for (std::size_t i = 0; i < kTileRows; ++i) {
      const B ai(a[i]);
#pragma GCC unroll 3
      for (std::size_t v = 0; v < kTileVectors; ++v) acc[v][i] = xsimd::fma(ai, bv[v], acc[v][i]);
    }
  }
  for (std::size_t v = 0; v < kTileVectors; ++v)
    for (std::size_t i = 0; i < kTileRows; ++i) acc[v][i].store_unaligned(c + (v * kTileRows + i) * B::size);
}
}  // namespace

BENCH_CASE("peak/tile") {
  using B = tapir::simd::Batch<float>;
  constexpr std::size_t kTiles = 1 << 14;
  const int threads = tapir::num_threads();
  const std::size_t a_size = kTileSteps * kTileRows, b_size = kTileSteps * kTileVectors * B::size;
  const std::size_t c_size = kTileVectors * kTileRows * B::size;
  // each thread's operands in a 4 KiB-multiple span of its own: no line shared with the other core
  const std::size_t per_thread = (a_size + b_size + c_size + 1023) / 1024 * 1024;
  auto buffers = std::make_shared<tapir::Tensor>(tapir::Tensor::full(
      {per_thread * static_cast<std::size_t>(threads)}, tapir::DType::float32, 1e-6));
  return {[=] {
            #pragma omp parallel for num_threads(threads) schedule(static, 1)
            for (int t = 0; t < threads; ++t) {
              float* base = buffers->data<float>() + per_thread * static_cast<std::size_t>(t);
              for (std::size_t r = 0; r < kTiles; ++r) tile_steps<B>(base, base + a_size, base + a_size + b_size);
            }
          },
          2.0 * B::size * kTileRows * kTileVectors * kTileSteps * static_cast<double>(kTiles) * threads, 0,
          "register tile (8 or 4 rows x 3 vectors), operands in L1: 2 flops per lane per FMA"};
}
