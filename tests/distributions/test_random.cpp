// The counter-based generator: Philox known answers, the documented element layout, thread-count
// independence, stream separation, and the distribution of the bulk samplers.
#include <cstring>
#include <set>

#include "stats.hpp"

using namespace tapir;

namespace {

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// Reference for the layout in random.hpp, one element at a time from RandomStream::block.
std::uint32_t tile_word(const RandomStream& s, std::size_t word_index) {
  const std::size_t tile = word_index / 64, r = word_index % 64;
  return s.block(tile * 16 + r % 16)[r / 16];
}

double reference_uniform64(const RandomStream& s, std::size_t i) {
  const std::size_t tile = i / 32, r = i % 32;
  const auto b = s.block(tile * 16 + r % 16);
  const std::size_t pair = r / 16;
  const std::uint64_t bits = (std::uint64_t{b[2 * pair]} << 32) | b[2 * pair + 1];
  return static_cast<double>(bits >> 11) * 0x1p-53;
}

double reference_normal64(const RandomStream& s, std::size_t i) {
  const std::size_t tile = i / 32, r = i % 32;
  const auto b = s.block(tile * 16 + r % 16);
  const double u1 = static_cast<double>((((std::uint64_t{b[0]} << 32) | b[1]) >> 11) + 1) * 0x1p-53;
  const double u2 = static_cast<double>(((std::uint64_t{b[2]} << 32) | b[3]) >> 11) * 0x1p-53;
  const double radius = std::sqrt(-2.0 * std::log(u1)), theta = 2.0 * M_PI * u2;
  return r < 16 ? radius * std::cos(theta) : radius * std::sin(theta);
}

double reference_rademacher(const RandomStream& s, std::size_t i) {
  const std::size_t tile = i / 2048, r = i % 2048;
  const auto b = s.block(tile * 16 + r % 16);
  return (b[r / 512] >> ((r / 16) % 32)) & 1u ? 1.0 : -1.0;
}

}  // namespace

TEST_SUITE("core/random") {

TEST_CASE("Philox-4x32-10 reproduces the Random123 known-answer vectors") {
  using C = Philox4x32::Counter;
  using K = Philox4x32::Key;
  CHECK(Philox4x32::block(C{0, 0, 0, 0}, K{0, 0}) ==
        C{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(Philox4x32::block(C{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, K{0xffffffff, 0xffffffff}) ==
        C{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(Philox4x32::block(C{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, K{0xa4093822, 0x299f31d0}) ==
        C{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("RandomStream::block puts the block index in words 0-1 and the draw counter in 2-3") {
  const RandomStream s(0x299f31d0a4093822ull, 0x0370734413198a2eull);
  CHECK(s.block(0x85a308d3243f6a88ull) == Philox4x32::Counter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("bulk samplers follow the documented element layout") {
  const RandomStream s(7, "layout");
  const std::size_t n = 5000;  // several tiles plus a partial one
  const Tensor u32 = random::uniform({n}, DType::float32, s);
  const Tensor u64 = random::uniform({n}, DType::float64, s);
  const Tensor z64 = random::normal({n}, DType::float64, s);
  const Tensor r32 = random::rademacher({n}, DType::float32, s);
  for (std::size_t i = 0; i < n; i += 7) {
    CAPTURE(i);
    CHECK(u32.at(i) == static_cast<float>(tile_word(s, i) >> 8) * 0x1p-24f);
    CHECK(u64.at(i) == reference_uniform64(s, i));
    CHECK(z64.at(i) == doctest::Approx(reference_normal64(s, i)).epsilon(1e-13));
    CHECK(r32.at(i) == reference_rademacher(s, i));
  }
}

TEST_CASE("block indices past 2^32 reach the counter's second word (blocks 2^32 - 10 to 2^32 + 40)") {
  // a SIMD Philox forms each lane's 64-bit block index from 32-bit halves: word 1 must follow it
  const RandomStream s(3, "carry");
  const std::uint64_t first = (std::uint64_t{1} << 34) - 8 * 4 - 5;  // float32: 4 elements per block
  const std::size_t n = 200;
  const Tensor u = random::uniform({n}, DType::float32, s, 0.0, 1.0, first);
  bool same = true;
  for (std::size_t i = 0; i < n; ++i)
    same = same && u.at(i) == static_cast<float>(tile_word(s, first + i) >> 8) * 0x1p-24f;
  CHECK(same);
  CHECK(u.at(n - 1) != u.at(n - 1 - 64));  // (not one tile repeated: word 1 did change)
}

TEST_CASE("element i is a pure function of (stream, i): prefixes agree whatever the length") {
  const RandomStream s(11, "prefix");
  for (DType dt : {DType::float32, DType::float64}) {
    const Tensor longer = random::normal({4099}, dt, s);
    for (std::size_t n : {1, 17, 64, 100, 2049}) {
      const Tensor shorter = random::normal({n}, dt, s);
      bool same = true;
      for (std::size_t i = 0; i < n; ++i) same = same && shorter.at(i) == longer.at(i);
      CAPTURE(n);
      CHECK(same);
    }
    const Tensor signs_long = random::rademacher({5000}, dt, s), signs_short = random::rademacher({2100}, dt, s);
    bool same = true;
    for (std::size_t i = 0; i < 2100; ++i) same = same && signs_short.at(i) == signs_long.at(i);
    CHECK(same);
  }
}

TEST_CASE("first_element draws a window: the elements a longer draw holds there") {
  const RandomStream s(12, "window");
  for (DType dt : {DType::float32, DType::float64}) {
    const Tensor u = random::uniform({9000}, dt, s), z = random::normal({9000}, dt, s);
    const Tensor r = random::rademacher({9000}, dt, s);
    for (std::uint64_t first : {0u, 1u, 31u, 64u, 100u, 2048u, 2049u, 4000u}) {
      for (std::size_t n : {1u, 33u, 2100u, 4999u}) {
        const Tensor uw = random::uniform({n}, dt, s, 0.0, 1.0, first);
        const Tensor zw = random::normal({n}, dt, s, 0.0, 1.0, first);
        const Tensor rw = random::rademacher({n}, dt, s, first);
        bool same = true;
        for (std::size_t i = 0; i < n; ++i)
          same = same && uw.at(i) == u.at(first + i) && zw.at(i) == z.at(first + i) && rw.at(i) == r.at(first + i);
        CAPTURE(first);
        CAPTURE(n);
        CHECK(same);
      }
    }
  }
}

TEST_CASE("rademacher_bits holds the signs rademacher draws, from any first element, at 1 and 2 threads") {
  const int before = num_threads();
  const RandomStream s(21, "bits");
  for (std::uint64_t first : {0u, 1u, 15u, 16u, 100u, 2047u, 2048u, 5000u, 300001u})
    for (const Shape& shape : {Shape{1}, Shape{17}, Shape{3, 700}, Shape{2, 5, 7, 33}, Shape{3, 100003}, Shape{0, 4}}) {
      CAPTURE(first);
      CAPTURE(shape_str(shape));
      const Tensor want = random::rademacher(shape, DType::float32, s, first);
      for (int t : {1, 2}) {
        set_num_threads(t);
        const random::SignBits bits = random::rademacher_bits(shape, s, first);
        REQUIRE(bits.shape() == shape);
        REQUIRE(bits.size() == want.size());
        bool same = true;
        for (std::size_t i = 0; i < want.size(); ++i) same = same && bits.at(i) == static_cast<int>(want.at(i));
        CHECK(same);
        CHECK(bitwise_equal(bits.tensor(DType::float32), want));
        CHECK(bitwise_equal(bits.tensor(DType::float64), random::rademacher(shape, DType::float64, s, first)));
      }
    }
  set_num_threads(before);
  CHECK_THROWS_AS(random::rademacher_bits({std::size_t(1) << 40, std::size_t(1) << 40}, s), ShapeError);
}

TEST_CASE("the same seed gives identical bits at 1 and 2 threads") {
  const int before = num_threads();
  const RandomStream s(42, "threads");
  const Shape shape{3, 100003};  // above the parallel threshold, not a multiple of any tile
  for (DType dt : {DType::float32, DType::float64}) {
    set_num_threads(1);
    const Tensor n1 = random::normal(shape, dt, s), u1 = random::uniform(shape, dt, s),
                 r1 = random::rademacher(shape, dt, s);
    set_num_threads(2);
    const Tensor n2 = random::normal(shape, dt, s), u2 = random::uniform(shape, dt, s),
                 r2 = random::rademacher(shape, dt, s);
    CHECK(bitwise_equal(n1, n2));
    CHECK(bitwise_equal(u1, u2));
    CHECK(bitwise_equal(r1, r2));
  }
  set_num_threads(before);
}

TEST_CASE("normal draws that two threads share from 2K values on: the same bits as at 1 thread") {
  const int before = num_threads();
  const RandomStream s(7, "normal grain");
  for (std::size_t n : {2047, 2048, 5003, 30001}) {  // below, at and above the normal draws' grain
    for (DType dt : {DType::float32, DType::float64}) {
      set_num_threads(1);
      const Tensor one = random::normal({n}, dt, s);
      set_num_threads(2);
      const Tensor two = random::normal({n}, dt, s);
      CAPTURE(n);
      CHECK(bitwise_equal(one, two));
    }
  }
  set_num_threads(before);
}

TEST_CASE("seed streams: salts, counters and fold_in separate the draws") {
  SeedStream a(42, "decoder1"), b(42, "decoder1"), c(42, "decoder2"), d(43, "decoder1");
  const RandomStream a0 = a.next(), a1 = a.next();
  CHECK(a0 == b.next());
  CHECK(a0 == RandomStream(42, "decoder1"));
  CHECK(a1.counter() == 1);
  CHECK(a.counter() == 2);
  const Tensor x = random::normal({256}, DType::float64, a0);
  CHECK(bitwise_equal(x, random::normal({256}, DType::float64, RandomStream(42, "decoder1"))));
  for (const RandomStream& other : {a1, c.next(), d.next(), a0.fold_in(1), a0.fold_in("kernel"),
                                    a.fork("sub").next()}) {
    const Tensor y = random::normal({256}, DType::float64, other);
    std::size_t equal = 0;
    for (std::size_t i = 0; i < 256; ++i) equal += x.at(i) == y.at(i);
    CHECK(equal == 0);
    // independent streams are uncorrelated (|r| < 4/sqrt(n))
    double dot = 0;
    for (std::size_t i = 0; i < 256; ++i) dot += x.at(i) * y.at(i);
    CHECK(std::fabs(dot / 256) < 4.0 / 16.0 * 1.5);
  }
  CHECK(a0.fold_in(1) != a0.fold_in(2));
  CHECK(a0.fold_in(1) != a1.fold_in(1));
  b.set_counter(1);
  CHECK(b.next() == a1);
}

TEST_CASE("seed unset: a fresh nondeterministic seed for every stream") {
  SeedStream a(std::nullopt, "layer"), b(std::nullopt, "layer");
  CHECK(a.seed() != b.seed());
  CHECK(a.next() != b.next());
  std::set<std::uint64_t> seeds;
  for (int i = 0; i < 100; ++i) seeds.insert(fresh_seed());
  CHECK(seeds.size() == 100);
}

TEST_CASE("uniform: range, moments and Kolmogorov–Smirnov at 10^6 draws") {
  const std::size_t n = 1000000;
  for (DType dt : {DType::float32, DType::float64}) {
    CAPTURE(dtype_name(dt));
    const auto x = stats::to_doubles(random::uniform({n}, dt, RandomStream(1, "uniform")));
    CHECK(*std::min_element(x.begin(), x.end()) >= 0.0);
    CHECK(*std::max_element(x.begin(), x.end()) < 1.0);
    CHECK(std::fabs(stats::mean(x) - 0.5) < 4 * std::sqrt(1.0 / 12 / n));
    CHECK(std::fabs(stats::variance(x) - 1.0 / 12) < 4 * std::sqrt(1.0 / 180 / n));
    CHECK(stats::ks_statistic(x, [](double v) { return std::clamp(v, 0.0, 1.0); }) < stats::ks_critical(n));
  }
  const auto y = stats::to_doubles(random::uniform({1000}, DType::float64, RandomStream(1, "u"), -3.0, 5.0));
  CHECK(*std::min_element(y.begin(), y.end()) >= -3.0);
  CHECK(*std::max_element(y.begin(), y.end()) < 5.0);
  CHECK(stats::mean(y) == doctest::Approx(1.0).epsilon(0.15));
}

TEST_CASE("normal (Box–Muller): moments and Kolmogorov–Smirnov at 10^6 draws") {
  const std::size_t n = 1000000;
  for (DType dt : {DType::float32, DType::float64}) {
    CAPTURE(dtype_name(dt));
    const auto x = stats::to_doubles(random::normal({n}, dt, RandomStream(2, "normal")));
    CHECK(std::fabs(stats::mean(x)) < 4 / std::sqrt(double(n)));
    CHECK(std::fabs(stats::variance(x) - 1.0) < 4 * std::sqrt(2.0 / n));
    CHECK(std::fabs(stats::central_moment(x, 3)) < 4 * std::sqrt(15.0 / n));  // symmetric
    CHECK(stats::ks_statistic(x, stats::normal_cdf) < stats::ks_critical(n));
    // the cos and sin halves of each pair are each N(0,1) and uncorrelated
    double dot = 0;
    for (std::size_t t = 0; t + 32 <= n; t += 32)
      for (std::size_t j = 0; j < 16; ++j) dot += x[t + j] * x[t + 16 + j];
    CHECK(std::fabs(dot / (n / 2)) < 4 / std::sqrt(n / 2.0));
  }
  const auto y = stats::to_doubles(random::normal({100000}, DType::float64, RandomStream(3, "n"), 2.0, 0.5));
  CHECK(std::fabs(stats::mean(y) - 2.0) < 4 * 0.5 / std::sqrt(1e5));
  CHECK(std::fabs(std::sqrt(stats::variance(y)) - 0.5) < 0.01);
}

TEST_CASE("rademacher: only ±1, balanced, uncorrelated neighbours") {
  const std::size_t n = 1000000;
  for (DType dt : {DType::float32, DType::float64}) {
    const auto x = stats::to_doubles(random::rademacher({n}, dt, RandomStream(4, "signs")));
    std::size_t plus = 0, other = 0;
    for (double v : x) { plus += v == 1.0; other += v != 1.0 && v != -1.0; }
    CHECK(other == 0);
    CHECK(std::fabs(double(plus) - n / 2.0) < 4 * std::sqrt(n / 4.0));
    double lag1 = 0, lag16 = 0;
    for (std::size_t i = 0; i + 16 < n; ++i) { lag1 += x[i] * x[i + 1]; lag16 += x[i] * x[i + 16]; }
    CHECK(std::fabs(lag1 / n) < 4 / std::sqrt(double(n)));
    CHECK(std::fabs(lag16 / n) < 4 / std::sqrt(double(n)));
  }
}

TEST_CASE("invalid arguments are typed errors") {
  Tensor t({4}, DType::float32);
  CHECK_THROWS_AS(random::fill_uniform(t, RandomStream(), 1.0, 1.0), ValueError);
  CHECK_THROWS_AS(random::fill_normal(t, RandomStream(), 0.0, -1.0), ValueError);
  Tensor undefined;
  CHECK_THROWS_AS(random::fill_rademacher(undefined, RandomStream()), ValueError);
  CHECK_THROWS_WITH_AS(random::fill_normal(t, RandomStream(), 0.0, -2.5), doctest::Contains("stddev=-2.5"), ValueError);
}

}  // TEST_SUITE
