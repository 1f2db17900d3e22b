// Reproducible randomness: a counter-based generator (Philox-4x32-10) and seed streams.
//
// Every random number tapir draws is a pure function of four things:
//   (seed, stream salt, draw counter, element index)
// There is no hidden generator state that threads advance in turn, so the same seed gives
// bit-identical samples at any thread count and whatever block sizes a kernel works in.
//
// How the four map onto Philox (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy
// as 1, 2, 3", SC'11): Philox turns a 128-bit counter and a 64-bit key into 128 random bits.
//   key      = hash(seed, salt)                      -> the 64-bit Philox key
//   counter  = (block index: words 0-1, draw counter: words 2-3)
// A `RandomStream` is one (key, draw counter) pair: everything one draw needs. A `SeedStream`
// (TFP's SeedStream(seed, salt)) hands out RandomStreams with counters 0, 1, 2, ...: a layer
// keeps one, salted with its name, and takes `next()` for every random tensor it draws.
//
// Element layout (fixed, documented so that results can be reproduced elsewhere): blocks come
// in tiles of 16 consecutive block indices; word k of block j of a tile is tile word 16*k + j.
//   uniform float32   element i = tile word i (24 bits), i.e. 64 elements per tile
//   uniform float64   words (0,1) and (2,3) of a block make two 53-bit values; tile element
//                     r < 16 is block r's first pair, 16 + r its second pair
//   normal            Box–Muller on pairs (u1, u2) of uniforms: sqrt(-2 ln u1) * (cos, sin)(2π u2).
//                     float32: words (0,1) of block j give tile elements j and 16+j, words (2,3)
//                     give 32+j and 48+j. float64: pair ((0,1),(2,3)) gives elements j and 16+j.
//   rademacher        one bit per element, 2048 per tile: element r is bit (r/16)%32 of word
//                     r/512 of block r%16; bit 1 -> +1, bit 0 -> -1.
// The tile layout lets the Philox rounds run 16 blocks per SIMD loop and write each word row
// contiguously; it is the same for every thread count.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <tapir/core/tensor.hpp>

namespace tapir {

/// The Philox-4x32-10 bijection: 10 rounds of multiply-xor mixing with a Weyl key schedule.
/// Passes the Random123 known-answer tests (see tests/distributions/test_random.cpp).
struct Philox4x32 {
  using Counter = std::array<std::uint32_t, 4>;
  using Key = std::array<std::uint32_t, 2>;
  static constexpr int kRounds = 10;
  static constexpr std::uint32_t kMultiplier0 = 0xD2511F53u, kMultiplier1 = 0xCD9E8D57u;
  static constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;  // golden ratio, sqrt(3)-1

  static Counter block(Counter ctr, Key key) {
    for (int round = 0; round < kRounds; ++round) {
      if (round > 0) { key[0] += kWeyl0; key[1] += kWeyl1; }
      const std::uint64_t p0 = std::uint64_t{kMultiplier0} * ctr[0];
      const std::uint64_t p1 = std::uint64_t{kMultiplier1} * ctr[2];
      ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
             static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    }
    return ctr;
  }
};

/// A 64-bit seed from the operating system's entropy (std::random_device), the clock and a
/// process-wide counter: what `seed` unset means. Two calls never return the same value in
/// practice.
std::uint64_t fresh_seed();

/// One draw's worth of randomness: a Philox key and a draw counter. A value type; drawing from
/// it does not change it, so drawing twice from the same RandomStream gives the same numbers.
class RandomStream {
 public:
  constexpr RandomStream() = default;
  constexpr RandomStream(std::uint64_t key, std::uint64_t counter) : key_(key), counter_(counter) {}
  /// The first draw of SeedStream(seed, salt): RandomStream(seed, salt) == SeedStream(seed, salt).next().
  RandomStream(std::uint64_t seed, std::string_view salt);

  std::uint64_t key() const { return key_; }
  std::uint64_t counter() const { return counter_; }

  /// A statistically independent stream derived from this one and `data` (JAX's fold_in): how
  /// a distribution splits one RandomStream among its sub-draws.
  RandomStream fold_in(std::uint64_t data) const;
  RandomStream fold_in(std::string_view salt) const;

  /// The four random words of block `index` of this draw.
  Philox4x32::Counter block(std::uint64_t index) const {
    return Philox4x32::block(
        {static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32),
         static_cast<std::uint32_t>(counter_), static_cast<std::uint32_t>(counter_ >> 32)},
        {static_cast<std::uint32_t>(key_), static_cast<std::uint32_t>(key_ >> 32)});
  }

  bool operator==(const RandomStream& o) const { return key_ == o.key_ && counter_ == o.counter_; }
  bool operator!=(const RandomStream& o) const { return !(*this == o); }

 private:
  std::uint64_t key_ = 0;
  std::uint64_t counter_ = 0;
};

/// TFP's SeedStream(seed, salt): from one user seed, an independent sequence of draws per salt.
///   SeedStream stream(42, "decoder1");   // std::nullopt instead of 42 -> fresh_seed()
///   Tensor signs = random::rademacher(x.shape(), x.dtype(), stream.next());
/// Different salts give different keys, so layers seeded with the same user seed do not repeat
/// each other's numbers. `next()` is not thread-safe: a SeedStream belongs to one owner.
class SeedStream {
 public:
  SeedStream(std::optional<std::uint64_t> seed, std::string_view salt);

  /// The stream for the next draw; advances the counter.
  RandomStream next() { return RandomStream(key_, counter_++); }
  RandomStream operator()() { return next(); }
  /// A child SeedStream salted with `salt` (e.g. a sub-layer), independent of this one.
  SeedStream fork(std::string_view salt) const;

  std::uint64_t seed() const { return seed_; }  ///< the fresh seed when none was given
  const std::string& salt() const { return salt_; }
  /// Draws taken so far; restoring it (e.g. after loading a checkpoint) resumes the sequence.
  std::uint64_t counter() const { return counter_; }
  void set_counter(std::uint64_t counter) { counter_ = counter; }

 private:
  std::uint64_t seed_;
  std::string salt_;
  std::uint64_t key_;
  std::uint64_t counter_ = 0;
};

/// Bulk sampling into float32/float64 tensors: SIMD Philox and transforms, OpenMP over tiles.
/// The `fill_*` forms overwrite an existing tensor (what benchmarks and hot loops call); the
/// others allocate. Element i depends only on (stream, i) — see the layout at the top.
/// `first_element` draws a window: the tensor's flat element j is element first_element + j of
/// the draw, i.e. exactly what a larger tensor drawn from the same stream holds there. This is
/// how one shard of a batch takes its rows of the whole batch's noise (nn::ExampleOffsetGuard).
namespace random {

/// Uniform on [low, high): exactly [0, 1) on the 2^-24 (float32) or 2^-53 (float64) grid for the
/// defaults; for other bounds low + (high - low) * u, which rounding may carry onto `high`.
void fill_uniform(Tensor& out, const RandomStream& stream, double low = 0.0, double high = 1.0,
                  std::uint64_t first_element = 0);
/// Normal(mean, stddev) by the Box–Muller transform (exact, no rejection; the tails are cut at
/// about 5.9 sigma in float32 and 8.6 sigma in float64 by the uniform grid).
void fill_normal(Tensor& out, const RandomStream& stream, double mean = 0.0, double stddev = 1.0,
                 std::uint64_t first_element = 0);
/// Rademacher signs: -1 or +1 with probability 1/2 each.
void fill_rademacher(Tensor& out, const RandomStream& stream, std::uint64_t first_element = 0);

Tensor uniform(const Shape& shape, DType dtype, const RandomStream& stream, double low = 0.0,
               double high = 1.0, std::uint64_t first_element = 0);
Tensor normal(const Shape& shape, DType dtype, const RandomStream& stream, double mean = 0.0,
              double stddev = 1.0, std::uint64_t first_element = 0);
Tensor rademacher(const Shape& shape, DType dtype, const RandomStream& stream,
                  std::uint64_t first_element = 0);

/// Rademacher signs held as one bit per value: the draw `rademacher(shape, dtype, stream,
/// first_element)` makes, in a thirty-second of a float tensor's memory. What Flipout's fused
/// ops read where they multiply by signs, so the signs cost neither a tensor write nor its
/// reads. A value type (copies share the bits). Value i (flat, row-major) is +1 when bit
/// lead() + i of words() is set — bit b of the array is bit b % 16 of word b / 16 — and -1
/// otherwise; the array ends with a zero word, so any 16 bits from a value on are in range.
class SignBits {
 public:
  SignBits() = default;
  const Shape& shape() const { return shape_; }
  std::size_t size() const { return size_; }
  bool defined() const { return words_ != nullptr; }
  /// the sign of flat value i, +1 or -1 (std::out_of_range from i >= size())
  int at(std::size_t i) const {
    if (i >= size_) throw std::out_of_range("SignBits::at: value " + std::to_string(i) + " of " + std::to_string(size_));
    return (words_.get()[(lead_ + i) / 16] >> ((lead_ + i) % 16)) & 1u ? 1 : -1;
  }
  /// the ±1 values as a tensor: exactly random::rademacher's
  Tensor tensor(DType dtype) const;
  const std::uint16_t* words() const { return words_.get(); }
  std::size_t lead() const { return lead_; }

 private:
  friend SignBits rademacher_bits(const Shape&, const RandomStream&, std::uint64_t);
  Shape shape_;
  std::size_t size_ = 0, lead_ = 0;
  std::shared_ptr<const std::uint16_t> words_;  // from the tensors' block cache (a step draws the same sizes)
};

/// The signs of rademacher(shape, ·, stream, first_element) as bits (any dtype: the signs do not
/// depend on it).
SignBits rademacher_bits(const Shape& shape, const RandomStream& stream, std::uint64_t first_element = 0);

}  // namespace random
}  // namespace tapir
