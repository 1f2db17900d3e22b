// Philox streams and the bulk samplers. The hot loops are written so that each iteration of the
// OpenMP loop owns a fixed range of tiles (the unit of the element layout in random.hpp), which
// is what makes the output independent of the thread count.
#include <tapir/core/random.hpp>

#include <algorithm>
#include <cassert>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>

#include <xsimd/xsimd.hpp>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "block_cache.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/sign_bits.hpp"
#include <tapir/core/shape_arith.hpp>

#include <tapir/core/simd.hpp>

namespace tapir {

namespace {

// SplitMix64's finalizer: a bijection on 64 bits with full avalanche.
std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// FNV-1a: salts are short names, and any string (not only identifiers) must be usable.
std::uint64_t hash_salt(std::string_view salt) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : salt) { h ^= c; h *= 0x100000001B3ull; }
  return h;
}

// Domain constants keep the seed, salt and fold-in hashes from lining up with each other.
constexpr std::uint64_t kSeedDomain = 0x7A61707972616E64ull;  // "tapirand"
constexpr std::uint64_t kFoldDomain = 0x666F6C645F696E5Full;  // "fold_in_"

std::uint64_t stream_key(std::uint64_t seed, std::string_view salt) {
  return mix64(mix64(seed ^ kSeedDomain) ^ hash_salt(salt));
}

}  // namespace

std::uint64_t fresh_seed() {
  static std::atomic<std::uint64_t> calls{0};
  std::uint64_t entropy = 0;
  try {
    std::random_device device;
    entropy = (std::uint64_t{device()} << 32) ^ device();
  } catch (const std::exception&) {
    // no entropy device: the clock and the call counter below still differ between calls
  }
  const auto ticks = static_cast<std::uint64_t>(
      std::chrono::high_resolution_clock::now().time_since_epoch().count());
  return mix64(entropy ^ mix64(ticks ^ mix64(calls.fetch_add(1) + kSeedDomain)));
}

RandomStream::RandomStream(std::uint64_t seed, std::string_view salt)
    : key_(stream_key(seed, salt)), counter_(0) {}

RandomStream RandomStream::fold_in(std::uint64_t data) const {
  return RandomStream(mix64(mix64(mix64(key_) ^ counter_) ^ mix64(data ^ kFoldDomain)), 0);
}

RandomStream RandomStream::fold_in(std::string_view salt) const { return fold_in(hash_salt(salt)); }

SeedStream::SeedStream(std::optional<std::uint64_t> seed, std::string_view salt)
    : seed_(seed ? *seed : fresh_seed()), salt_(salt), key_(stream_key(seed_, salt_)) {}

SeedStream SeedStream::fork(std::string_view salt) const {
  return SeedStream(seed_, salt_ + "/" + std::string(salt));
}

// ------------------------------------------------------------------------------ bulk sampling
namespace random {
namespace {

constexpr std::size_t kTileBlocks = 16;                  // blocks per tile (the layout unit)
constexpr std::size_t kChunkTiles = 4;                   // tiles per OpenMP work item
constexpr std::size_t kChunkBlocks = kTileBlocks * kChunkTiles;
// Normal draws (Box-Muller: a log, a root and a sine and cosine per pair) cost 2.5 ns a value
// at one thread, so two threads pay from 2K values on (a posterior's weight-sized ε: 10.7 ->
// 6.8 µs at 4096, 42 -> 23 at 16384; uniform and sign draws keep the elementwise default).
constexpr std::size_t kNormalGrain = 1 << 11;

// Word rows of one chunk: rows[k][b] = word k of the chunk's block b.
struct ChunkWords {
  alignas(64) std::uint32_t rows[4][kChunkBlocks];
};

#if defined(__AVX512F__)
// One Philox round's product on 16 lanes: hi and lo 32 bits of m * c per lane. vpmuludq forms
// the 64-bit products of the even lanes, and of the odd lanes shifted down; two blends put the
// halves back in lane order. (Left to itself, GCC widens every lane to 64 bits and multiplies
// with vpmullq, a 64 x 64 product three times the cost: Philox was 60 % of a normal draw.)
inline void mul_hi_lo(__m512i c, __m512i m, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(c, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(c, 32), m);
  constexpr __mmask16 odd_lanes = 0xAAAA;
  lo = _mm512_mask_blend_epi32(odd_lanes, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(odd_lanes, _mm512_srli_epi64(even, 32), odd);
}

// philox_blocks on 16 blocks per step, in AVX-512 registers (the same rounds, the same words).
void philox_blocks_avx512(std::uint32_t key0, std::uint32_t key1, std::uint32_t draw0, std::uint32_t draw1,
                          std::uint64_t first_block, std::size_t count, ChunkWords& words) {
  assert(first_block % 16 == 0 && count % 16 == 0);  // whole tiles (fill_tiles' chunks)
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(Philox4x32::kMultiplier0));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(Philox4x32::kMultiplier1));
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (std::size_t j = 0; j < count; j += 16) {
    // counter words 0 and 1: the 64-bit block index first_block + j + lane; base is a multiple
    // of 16, so adding the lane never carries into the high word
    const std::uint64_t base = first_block + j;
    __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(base))), lane);
    __m512i c1 = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(base >> 32)));
    __m512i c2 = _mm512_set1_epi32(static_cast<int>(draw0)), c3 = _mm512_set1_epi32(static_cast<int>(draw1));
    std::uint32_t k0 = key0, k1 = key1;
    for (int round = 0; round < Philox4x32::kRounds; ++round) {
      __m512i hi0, lo0, hi1, lo1;
      mul_hi_lo(c0, m0, hi0, lo0);
      mul_hi_lo(c2, m1, hi1, lo1);
      // 0x96: a ^ b ^ c
      c0 = _mm512_ternarylogic_epi32(hi1, c1, _mm512_set1_epi32(static_cast<int>(k0)), 0x96);
      c1 = lo1;
      c2 = _mm512_ternarylogic_epi32(hi0, c3, _mm512_set1_epi32(static_cast<int>(k1)), 0x96);
      c3 = lo0;
      k0 += Philox4x32::kWeyl0;
      k1 += Philox4x32::kWeyl1;
    }
    _mm512_store_si512(reinterpret_cast<__m512i*>(words.rows[0] + j), c0);
    _mm512_store_si512(reinterpret_cast<__m512i*>(words.rows[1] + j), c1);
    _mm512_store_si512(reinterpret_cast<__m512i*>(words.rows[2] + j), c2);
    _mm512_store_si512(reinterpret_cast<__m512i*>(words.rows[3] + j), c3);
  }
}
#endif

// Philox on `count` consecutive blocks (a multiple of kTileBlocks), one SIMD lane per block.
void philox_blocks(const RandomStream& stream, std::uint64_t first_block, std::size_t count,
                   ChunkWords& words) {
  const std::uint32_t key0 = static_cast<std::uint32_t>(stream.key());
  const std::uint32_t key1 = static_cast<std::uint32_t>(stream.key() >> 32);
  const std::uint32_t draw0 = static_cast<std::uint32_t>(stream.counter());
  const std::uint32_t draw1 = static_cast<std::uint32_t>(stream.counter() >> 32);
#if defined(__AVX512F__)
  static_assert(kTileBlocks % 16 == 0, "the AVX-512 Philox takes 16 blocks per step");
  philox_blocks_avx512(key0, key1, draw0, draw1, first_block, count, words);
#else
  std::uint32_t* w0 = words.rows[0];
  std::uint32_t* w1 = words.rows[1];
  std::uint32_t* w2 = words.rows[2];
  std::uint32_t* w3 = words.rows[3];
#pragma omp simd
  for (std::size_t j = 0; j < count; ++j) {
    const std::uint64_t block = first_block + j;
    std::uint32_t c0 = static_cast<std::uint32_t>(block), c1 = static_cast<std::uint32_t>(block >> 32);
    std::uint32_t c2 = draw0, c3 = draw1;
    std::uint32_t k0 = key0, k1 = key1;
    for (int round = 0; round < Philox4x32::kRounds; ++round) {
      const std::uint64_t p0 = std::uint64_t{Philox4x32::kMultiplier0} * c0;
      const std::uint64_t p1 = std::uint64_t{Philox4x32::kMultiplier1} * c2;
      c0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
      c1 = static_cast<std::uint32_t>(p1);
      c2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
      c3 = static_cast<std::uint32_t>(p0);
      k0 += Philox4x32::kWeyl0;
      k1 += Philox4x32::kWeyl1;
    }
    w0[j] = c0; w1[j] = c1; w2[j] = c2; w3[j] = c3;
  }
#endif
}

// Runs `tile_fn(words, tile_in_chunk, out_tile)` for every tile covering elements
// [first, first + n) of the draw, of which one tile holds `per_tile`; out[i] receives element
// first + i. A partially covered tile is produced in a scratch buffer and copied, so every
// element is computed the same way wherever it falls (and whatever `first` is). The threads
// (simd::team_for of them) take whole chunks from `grain` elements on.
template <class T, std::size_t per_tile, class TileFn>
void fill_tiles(T* out, std::size_t n, const RandomStream& stream, TileFn tile_fn, std::uint64_t first = 0,
                std::size_t grain = kernels::kParallelGrain) {
  if (n == 0) return;
  const std::uint64_t tile_begin = first / per_tile, tile_end = (first + n + per_tile - 1) / per_tile;
  const std::size_t tiles = static_cast<std::size_t>(tile_end - tile_begin);
  const std::size_t chunks = (tiles + kChunkTiles - 1) / kChunkTiles;
  const bool parallel = n >= grain;
  simd::parallel_for(parallel, static_cast<std::ptrdiff_t>(chunks), parallel ? simd::team_for(n, grain) : 1,
                     [&](std::ptrdiff_t c) {
    ChunkWords words;
    const std::uint64_t tile0 = tile_begin + static_cast<std::uint64_t>(c) * kChunkTiles;
    const std::size_t ntiles = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkTiles, tile_end - tile0));
    philox_blocks(stream, tile0 * kTileBlocks, ntiles * kTileBlocks, words);
    for (std::size_t t = 0; t < ntiles; ++t) {
      const std::uint64_t tile_first = (tile0 + t) * per_tile;  // element index of the tile's start
      const std::uint64_t lo = std::max(tile_first, first), hi = std::min(tile_first + per_tile, first + n);
      if (lo == tile_first && hi == tile_first + per_tile) {
        tile_fn(words, t, out + (tile_first - first));
      } else {
        alignas(64) T scratch[per_tile];
        tile_fn(words, t, scratch);
        std::copy(scratch + (lo - tile_first), scratch + (hi - tile_first), out + (lo - first));
      }
    }
  });
}

// 24 high bits -> [0, 1) ("closed_low") or (0, 1] (for logarithms).
inline float unit_float(std::uint32_t w) { return static_cast<float>(w >> 8) * 0x1p-24f; }
inline float unit_float_open_low(std::uint32_t w) { return static_cast<float>((w >> 8) + 1) * 0x1p-24f; }
// 53 bits from two words -> [0, 1) or (0, 1].
inline double unit_double(std::uint32_t hi, std::uint32_t lo) {
  return static_cast<double>(static_cast<std::int64_t>(((std::uint64_t{hi} << 32) | lo) >> 11)) * 0x1p-53;
}
inline double unit_double_open_low(std::uint32_t hi, std::uint32_t lo) {
  return static_cast<double>(static_cast<std::int64_t>((((std::uint64_t{hi} << 32) | lo) >> 11) + 1)) * 0x1p-53;
}

template <class T> using Batch = xsimd::batch<T>;
static_assert(kTileBlocks % Batch<float>::size == 0 && kTileBlocks % Batch<double>::size == 0,
              "a tile row must split into whole SIMD batches");

// Box–Muller on 16 pairs: cos_out[j] = mean + sd r cos θ, sin_out[j] = mean + sd r sin θ.
template <class T>
void box_muller(const T* u1, const T* u2, T mean, T stddev, T* cos_out, T* sin_out) {
  using B = Batch<T>;
  const B two_pi(static_cast<T>(6.283185307179586476925286766559));
  for (std::size_t j = 0; j < kTileBlocks; j += B::size) {
    const B radius = xsimd::sqrt(B(T(-2)) * xsimd::log(B::load_aligned(u1 + j))) * B(stddev);
    const auto sc = xsimd::sincos(two_pi * B::load_aligned(u2 + j));
    xsimd::fma(radius, sc.second, B(mean)).store_unaligned(cos_out + j);
    xsimd::fma(radius, sc.first, B(mean)).store_unaligned(sin_out + j);
  }
}

void check_defined(const Tensor& out, const char* fn) {
  if (!out.defined()) throw ValueError(std::string("random::") + fn + ": the output tensor is undefined");
}

}  // namespace

void fill_uniform(Tensor& out, const RandomStream& stream, double low, double high,
                  std::uint64_t first_element) {
  check_defined(out, "fill_uniform");
  if (!(low < high) || !std::isfinite(low) || !std::isfinite(high))
    throw ValueError("random::fill_uniform: need finite low < high; got low=" + std::to_string(low) +
                     ", high=" + std::to_string(high));
  const bool unit = low == 0.0 && high == 1.0;
  if (out.dtype() == DType::float32) {
    const float lo = static_cast<float>(low), width = static_cast<float>(high - low);
    fill_tiles<float, 64>(out.data<float>(), out.size(), stream,
                          [=](const ChunkWords& w, std::size_t t, float* o) {
      for (std::size_t k = 0; k < 4; ++k) {
        const std::uint32_t* row = w.rows[k] + t * kTileBlocks;
#pragma omp simd
        for (std::size_t j = 0; j < kTileBlocks; ++j) {
          const float u = unit_float(row[j]);
          o[k * kTileBlocks + j] = unit ? u : lo + width * u;
        }
      }
    }, first_element);
  } else {
    fill_tiles<double, 32>(out.data<double>(), out.size(), stream,
                           [=](const ChunkWords& w, std::size_t t, double* o) {
      for (std::size_t pair = 0; pair < 2; ++pair) {
        const std::uint32_t* hi = w.rows[2 * pair] + t * kTileBlocks;
        const std::uint32_t* lo32 = w.rows[2 * pair + 1] + t * kTileBlocks;
#pragma omp simd
        for (std::size_t j = 0; j < kTileBlocks; ++j) {
          const double u = unit_double(hi[j], lo32[j]);
          o[pair * kTileBlocks + j] = unit ? u : low + (high - low) * u;
        }
      }
    }, first_element);
  }
}

void fill_normal(Tensor& out, const RandomStream& stream, double mean, double stddev,
                 std::uint64_t first_element) {
  check_defined(out, "fill_normal");
  if (!(stddev >= 0) || !std::isfinite(stddev) || !std::isfinite(mean))
    throw ValueError("random::fill_normal: need finite mean and stddev >= 0; got mean=" +
                     std::to_string(mean) + ", stddev=" + std::to_string(stddev));
  if (out.dtype() == DType::float32) {
    const float m = static_cast<float>(mean), s = static_cast<float>(stddev);
    fill_tiles<float, 64>(out.data<float>(), out.size(), stream,
                          [=](const ChunkWords& w, std::size_t t, float* o) {
      alignas(64) float u1[kTileBlocks], u2[kTileBlocks];
      for (std::size_t pair = 0; pair < 2; ++pair) {
        const std::uint32_t* a = w.rows[2 * pair] + t * kTileBlocks;
        const std::uint32_t* b = w.rows[2 * pair + 1] + t * kTileBlocks;
#pragma omp simd
        for (std::size_t j = 0; j < kTileBlocks; ++j) {
          u1[j] = unit_float_open_low(a[j]);
          u2[j] = unit_float(b[j]);
        }
        float* block_out = o + 2 * pair * kTileBlocks;
        box_muller<float>(u1, u2, m, s, block_out, block_out + kTileBlocks);
      }
    }, first_element, kNormalGrain);
  } else {
    fill_tiles<double, 32>(out.data<double>(), out.size(), stream,
                           [=](const ChunkWords& w, std::size_t t, double* o) {
      alignas(64) double u1[kTileBlocks], u2[kTileBlocks];
      const std::size_t off = t * kTileBlocks;
#pragma omp simd
      for (std::size_t j = 0; j < kTileBlocks; ++j) {
        u1[j] = unit_double_open_low(w.rows[0][off + j], w.rows[1][off + j]);
        u2[j] = unit_double(w.rows[2][off + j], w.rows[3][off + j]);
      }
      box_muller<double>(u1, u2, mean, stddev, o, o + kTileBlocks);
    }, first_element, kNormalGrain);
  }
}

namespace {
template <class T>
void fill_rademacher_typed(T* out, std::size_t n, const RandomStream& stream, std::uint64_t first) {
  fill_tiles<T, 2048>(out, n, stream, [](const ChunkWords& w, std::size_t t, T* o) {
    for (std::size_t k = 0; k < 4; ++k) {
      const std::uint32_t* row = w.rows[k] + t * kTileBlocks;
      for (std::uint32_t bit = 0; bit < 32; ++bit) {
        T* dst = o + k * 512 + bit * kTileBlocks;
#pragma omp simd
        for (std::size_t j = 0; j < kTileBlocks; ++j)
          dst[j] = static_cast<T>(static_cast<int>((row[j] >> bit) & 1u) * 2 - 1);
      }
    }
  }, first);
}
}  // namespace

void fill_rademacher(Tensor& out, const RandomStream& stream, std::uint64_t first_element) {
  check_defined(out, "fill_rademacher");
  TAPIR_DISPATCH(out.dtype(), T, fill_rademacher_typed<T>(out.data<T>(), out.size(), stream, first_element));
}

Tensor uniform(const Shape& shape, DType dtype, const RandomStream& stream, double low, double high,
               std::uint64_t first_element) {
  Tensor t = Tensor::empty(shape, dtype);
  fill_uniform(t, stream, low, high, first_element);
  return t;
}

Tensor normal(const Shape& shape, DType dtype, const RandomStream& stream, double mean, double stddev,
              std::uint64_t first_element) {
  Tensor t = Tensor::empty(shape, dtype);
  fill_normal(t, stream, mean, stddev, first_element);
  return t;
}

Tensor rademacher(const Shape& shape, DType dtype, const RandomStream& stream, std::uint64_t first_element) {
  Tensor t = Tensor::empty(shape, dtype);
  fill_rademacher(t, stream, first_element);
  return t;
}

// The bits of the tiles that cover the draw's elements [first, first + n): the rademacher
// layout's element r of a tile is bit (r / 16) % 32 of word r / 512 of block r % 16, so the 16
// elements from 16 q on are one bit of 16 blocks' same word — one SIMD test per 16 signs.
SignBits rademacher_bits(const Shape& shape, const RandomStream& stream, std::uint64_t first_element) {
  constexpr std::size_t per_tile = 2048, words_per_tile = per_tile / 16;
  const std::size_t n = checked_numel(shape, "rademacher_bits");
  const std::uint64_t tile_begin = first_element / per_tile;
  const std::uint64_t tile_end = n == 0 ? tile_begin : (first_element + n + per_tile - 1) / per_tile;
  const std::size_t tiles = static_cast<std::size_t>(tile_end - tile_begin);
  const std::size_t count = tiles * words_per_tile + 1;  // and a trailing zero word
  const std::size_t bytes = checked_mul(count, sizeof(std::uint16_t), "rademacher_bits");
  std::uint16_t* block = static_cast<std::uint16_t*>(internal::take_block(bytes));
  std::shared_ptr<std::uint16_t> words(block, [bytes](std::uint16_t* p) { internal::give_block(p, bytes); });
  words.get()[count - 1] = 0;
  // whole tiles of 16-bit words (the grain counted in signs, 16 per word)
  fill_tiles<std::uint16_t, words_per_tile>(words.get(), tiles * words_per_tile, stream,
                                            [](const ChunkWords& w, std::size_t t, std::uint16_t* o) {
    for (std::size_t k = 0; k < 4; ++k) {
      const std::uint32_t* row = w.rows[k] + t * kTileBlocks;
#if defined(__AVX512F__)
      const __m512i v = _mm512_load_si512(row);
      for (std::uint32_t bit = 0; bit < 32; ++bit)
        o[k * 32 + bit] = static_cast<std::uint16_t>(_mm512_test_epi32_mask(v, _mm512_set1_epi32(1 << bit)));
#else
      for (std::uint32_t bit = 0; bit < 32; ++bit) {
        std::uint16_t m = 0;
        for (std::size_t j = 0; j < kTileBlocks; ++j) m |= static_cast<std::uint16_t>(((row[j] >> bit) & 1u) << j);
        o[k * 32 + bit] = m;
      }
#endif
    }
  }, tile_begin * words_per_tile, kernels::kParallelGrain / 16);
  SignBits s;
  s.shape_ = shape;
  s.size_ = n;
  s.lead_ = static_cast<std::size_t>(first_element - tile_begin * per_tile);
  s.words_ = std::move(words);
  return s;
}

Tensor SignBits::tensor(DType dtype) const {
  Tensor t = Tensor::empty(shape_, dtype);
  TAPIR_DISPATCH(dtype, T, {
    T* o = t.data<T>();
    const std::uint16_t* w = words();
    simd::parallel_for(size_ >= kernels::kParallelGrain, static_cast<std::ptrdiff_t>((size_ + 4095) / 4096),
                       [&](std::ptrdiff_t c) {
      const std::size_t i0 = static_cast<std::size_t>(c) * 4096, i1 = std::min(size_, i0 + 4096);
      constexpr std::size_t W = Batch<T>::size;
      std::size_t i = i0;
      for (; i + W <= i1; i += W) kernels::sign_batch<T>(w, lead_ + i).store_unaligned(o + i);
      for (; i < i1; ++i) o[i] = kernels::sign_positive(w, lead_ + i) ? T(1) : T(-1);
    });
  });
  return t;
}

}  // namespace random
}  // namespace tapir

