// flipout_convolution / flipout_conv_transpose against the composed plain ops: values, every
// gradient (float64 gradcheck), typed errors, and the same bits at 1 and 2 threads.
#include "../testing.hpp"

#include <tapir/core/random.hpp>

#include <cmath>
#include <cstring>

using namespace tapir;
using Ts = std::vector<Tensor>;

namespace {

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

struct FlipoutCase {
  bool transpose;
  Shape x, kernel;
  int stride;
  const char* padding;
};

ConvGeometry geometry_of(const FlipoutCase& c) {
  const std::size_t rank = c.kernel.size() - 2;
  const std::vector<std::size_t> in(c.x.end() - static_cast<long>(rank) - 1, c.x.end() - 1);
  const std::vector<std::size_t> filter(c.kernel.begin(), c.kernel.begin() + static_cast<long>(rank));
  return c.transpose ? conv_transpose_geometry(in, filter, ConvTransposeOptions().strides(c.stride).padding(c.padding))
                     : conv_geometry(in, filter, ConvOptions().strides(c.stride).padding(c.padding));
}

Shape output_shape(const FlipoutCase& c, const ConvGeometry& g) {
  const std::size_t rank = c.kernel.size() - 2;
  Shape s(c.x.begin(), c.x.end() - static_cast<long>(rank) - 1);
  const auto& spatial = c.transpose ? g.big : g.small;
  s.insert(s.end(), spatial.begin(), spatial.end());
  s.push_back(c.kernel.back());
  return s;
}

Var composed(const FlipoutCase& c, const Var& x, const Var& loc, const Var& delta, const Tensor& s_in,
             const Tensor& s_out, const ConvGeometry& g, const Var& bias = Var()) {
  auto op = [&](const Var& a, const Var& k) { return c.transpose ? conv_transpose(a, k, g) : convolution(a, k, g); };
  const Var y = op(x, loc) + op(x * constant(s_in), delta) * constant(s_out);
  return bias.defined() ? y + bias : y;
}

Var fused(const FlipoutCase& c, const Var& x, const Var& loc, const Var& delta, const Tensor& s_in,
          const Tensor& s_out, const ConvGeometry& g, const Var& bias = Var()) {
  return c.transpose ? flipout_conv_transpose(x, loc, delta, s_in, s_out, g, bias)
                     : flipout_convolution(x, loc, delta, s_in, s_out, g, bias);
}

// Inputs x, loc, delta, bias of case c in dtype dt, from seeds seed .. seed + 3.
Ts flipout_inputs(const FlipoutCase& c, DType dt, int seed) {
  return {testing::random_tensor(c.x, seed).astype(dt), testing::random_tensor(c.kernel, seed + 1).astype(dt),
          testing::random_tensor(c.kernel, seed + 2).astype(dt), testing::random_tensor({c.kernel.back()}, seed + 3).astype(dt)};
}

// y = op(x, loc, delta, bias) on the inputs as parameters (delta and the bias constants when
// only_x; no bias without with_bias), then the backward of sum(y ⊙ a fixed random tensor): y
// and the gradients that exist (x, loc, then delta and the bias where they are parameters).
template <class Op>
Ts value_and_grads(const Ts& in, const Shape& ys, bool with_bias, bool only_x, int loss_seed, Op op) {
  Var x = parameter(in[0]), loc = parameter(in[1]), delta = only_x ? constant(in[2]) : parameter(in[2]);
  Var bias = !with_bias ? Var() : only_x ? constant(in[3]) : parameter(in[3]);
  const Var y = op(x, loc, delta, bias);
  backward(sum(y * constant(testing::random_tensor(ys, loss_seed).astype(in[0].dtype()))));
  Ts out{y.value(), x.grad(), loc.grad()};
  if (!only_x) out.push_back(delta.grad());
  if (with_bias && !only_x) out.push_back(bias.grad());
  return out;
}

// GEMM-engine shapes (channels above the thin threshold), thin ones, ranks 1-3, strides 1-2.
const FlipoutCase kCases[] = {
    {true, {2, 5, 5, 7}, {3, 3, 7, 9}, 2, "SAME"},  {false, {2, 6, 5, 7}, {3, 3, 7, 9}, 2, "SAME"},
    {true, {1, 6, 9}, {4, 9, 6}, 3, "VALID"},       {false, {3, 9, 6}, {2, 6, 17}, 1, "VALID"},
    {true, {2, 4, 9}, {2, 9, 6}, 3, "VALID"},  // stride 3 > filter 2: a phase no tap reaches (bias only)
    {true, {1, 3, 3, 2, 5}, {2, 2, 2, 5, 6}, 2, "SAME"},
    // the thin-channel kernels (composed with sign tensors, joined in one pass with sign bits):
    // a conv-transpose down to two channels, a convolution from one (an encoder's first layer)
    // and a rank-1 convolution from two
    {true, {2, 4, 4, 6}, {3, 3, 6, 2}, 2, "SAME"},  {false, {2, 7, 7, 1}, {3, 3, 1, 8}, 2, "SAME"},
    {false, {3, 7, 2}, {3, 2, 5}, 1, "SAME"},
    // a conv-transpose down to one channel, 60 output values: the join goes flat, a vector at a
    // time, with a partial last vector (float 3 x 16 + 12, double 7 x 8 + 4)
    {true, {1, 3, 5, 4}, {3, 3, 4, 1}, 2, "SAME"},
    // the engine's thin-output dot products with the second (perturbation) product: a
    // convolution down to one channel (forward), a conv-transpose up from three (input gradient)
    {false, {2, 6, 6, 8}, {2, 2, 8, 1}, 1, "SAME"}, {true, {2, 4, 4, 3}, {3, 3, 3, 7}, 2, "SAME"},
    // a convolution down to one channel whose channels are whole vectors and a rest (float 16 + 4,
    // double 2 x 8 + 4), three images: with sign bits both kernel gradients come from one pass
    // over x (the signs applied as x is read), summed in three runs of images
    {false, {3, 5, 5, 20}, {2, 2, 20, 1}, 1, "SAME"},
    // and down to two channels from whole vectors only (float 16, double 2 x 8): signs drawn at
    // element 0 are read a word (or byte) at a time; two runs of images
    {false, {2, 3, 3, 16}, {2, 2, 16, 2}, 1, "SAME"},
};

}  // namespace

TEST_SUITE("core/flipout_conv") {

TEST_CASE("values equal the composed ops; gradients pass gradcheck (float64)") {
  int seed = 1;
  for (const FlipoutCase& c : kCases)
    for (bool with_bias : {false, true}) {
    const ConvGeometry g = geometry_of(c);
    const Shape ys = output_shape(c, g);
    CAPTURE(shape_str(c.x));
    CAPTURE(shape_str(c.kernel));
    CAPTURE(c.transpose);
    CAPTURE(with_bias);
    const Tensor s_in = random::rademacher(c.x, DType::float64, RandomStream(seed, 1));
    const Tensor s_out = random::rademacher(ys, DType::float64, RandomStream(seed, 2));
    Ts in{testing::random_tensor(c.x, seed), testing::random_tensor(c.kernel, seed + 100),
          testing::random_tensor(c.kernel, seed + 200)};
    if (with_bias) in.push_back(testing::random_tensor({c.kernel.back()}, seed + 300));
    ++seed;
    auto bias_of = [&](const auto& v) { return with_bias ? Var(v[3]) : Var(); };
    const Var cb = with_bias ? constant(in[3]) : Var();
    const Var want = composed(c, constant(in[0]), constant(in[1]), constant(in[2]), s_in, s_out, g, cb);
    const Var got = fused(c, constant(in[0]), constant(in[1]), constant(in[2]), s_in, s_out, g, cb);
    REQUIRE(got.shape() == want.shape());
    double worst = 0;
    for (std::size_t i = 0; i < want.value().size(); ++i)
      worst = std::max(worst, std::fabs(got.value().at(i) - want.value().at(i)));
    CHECK(worst < 1e-12);
    CHECK_GRADCHECK([&](auto& v) { return fused(c, v[0], v[1], v[2], s_in, s_out, g, bias_of(v)); }, in);
    // and the gradients equal the composed ops' (all of them, including delta's and the bias's)
    Ts grads[2];
    for (int which = 0; which < 2; ++which) {
      Var x = parameter(in[0]), loc = parameter(in[1]), delta = parameter(in[2]);
      Var bias = with_bias ? parameter(in[3]) : Var();
      const Var y = which ? fused(c, x, loc, delta, s_in, s_out, g, bias) : composed(c, x, loc, delta, s_in, s_out, g, bias);
      backward(sum(y * constant(testing::random_tensor(ys, 77))));
      grads[which] = {x.grad(), loc.grad(), delta.grad()};
      if (with_bias) grads[which].push_back(bias.grad());
    }
    for (std::size_t k = 0; k < grads[0].size(); ++k)
      for (std::size_t i = 0; i < grads[0][k].size(); ++i) CHECK(std::fabs(grads[1][k].at(i) - grads[0][k].at(i)) < 1e-12);
  }
}

TEST_CASE("bad arguments are typed errors naming the argument and the shapes") {
  const FlipoutCase c = kCases[0];
  const ConvGeometry g = geometry_of(c);
  const Shape ys = output_shape(c, g);
  const Var x = constant(Tensor::zeros(c.x, DType::float32)), k = constant(Tensor::zeros(c.kernel, DType::float32));
  const Tensor s_in = Tensor::ones(c.x, DType::float32), s_out = Tensor::ones(ys, DType::float32);
  CHECK_THROWS_WITH_AS(flipout_conv_transpose(x, k, constant(Tensor::zeros({3, 3, 7, 8}, DType::float32)), s_in, s_out, g),
                       doctest::Contains("delta [3,3,7,8]"), ShapeError);
  CHECK_THROWS_WITH_AS(flipout_conv_transpose(x, k, k, Tensor::ones({2, 5, 5, 1}, DType::float32), s_out, g),
                       doctest::Contains("sign_in"), ShapeError);
  CHECK_THROWS_WITH_AS(flipout_conv_transpose(x, k, k, s_in, Tensor::ones(c.x, DType::float32), g),
                       doctest::Contains("sign_out"), ShapeError);
  CHECK_THROWS_WITH_AS(flipout_conv_transpose(x, k, k, s_in, s_out.astype(DType::float64), g),
                       doctest::Contains("float64"), ShapeError);
  CHECK_THROWS_WITH_AS(flipout_conv_transpose(x, k, k, s_in, s_out, g, constant(Tensor::zeros({8}, DType::float32))),
                       doctest::Contains("bias [8]"), ShapeError);
  CHECK_THROWS_AS(flipout_convolution(x, k, k, s_in, s_out, g), ShapeError);  // a conv-T geometry
}

TEST_CASE("signs as bits: the values and every gradient of the tensor form, bit for bit") {
  // every case of the engine and of the thin kernels (joined in one pass with bits, composed with
  // tensors: the two must agree bit for bit), float and double, with and without a
  // bias, signs drawn at a first element that is not a tile's (lead bits) and at 0 (runs that
  // start on whole words, which the paired kernel gradients read as such); one case has a
  // backward without the bias's or delta's gradient (the bias summed apart, or not at all)
  int seed = 11;
  for (const FlipoutCase& c : kCases)
    for (DType dt : {DType::float32, DType::float64})
      for (int variant = 0; variant < 4; ++variant) {
        const bool with_bias = variant == 1 || variant == 2, only_x = variant == 2;
        const ConvGeometry g = geometry_of(c);
        const Shape ys = output_shape(c, g);
        CAPTURE(shape_str(c.x));
        CAPTURE(shape_str(c.kernel));
        CAPTURE(dtype_name(dt));
        CAPTURE(variant);
        const std::uint64_t first = variant == 3 ? 0 : 37 + 1000 * static_cast<std::uint64_t>(variant);
        const random::SignBits b_in = random::rademacher_bits(c.x, RandomStream(seed, 1), first);
        const random::SignBits b_out = random::rademacher_bits(ys, RandomStream(seed, 2), first);
        const Tensor s_in = random::rademacher(c.x, dt, RandomStream(seed, 1), first);
        const Tensor s_out = random::rademacher(ys, dt, RandomStream(seed, 2), first);
        const Ts in = flipout_inputs(c, dt, seed++);
        Ts results[2];
        for (int as_bits = 0; as_bits < 2; ++as_bits)
          results[as_bits] = value_and_grads(in, ys, with_bias, only_x, 78, [&](const Var& x, const Var& loc,
                                                                            const Var& delta, const Var& bias) {
            return !as_bits ? fused(c, x, loc, delta, s_in, s_out, g, bias)
                   : c.transpose ? flipout_conv_transpose(x, loc, delta, b_in, b_out, g, bias)
                                 : flipout_convolution(x, loc, delta, b_in, b_out, g, bias);
          });
        for (std::size_t k = 0; k < results[0].size(); ++k) {
          CAPTURE(k);
          CHECK(bitwise_equal(results[1][k], results[0][k]));
        }
      }
  // sign bits of the wrong shape are typed errors naming the argument
  const FlipoutCase c = kCases[0];
  const ConvGeometry g = geometry_of(c);
  const Var x = constant(Tensor::zeros(c.x, DType::float32)), k = constant(Tensor::zeros(c.kernel, DType::float32));
  const random::SignBits good_out = random::rademacher_bits(output_shape(c, g), RandomStream(1, 2));
  CHECK_THROWS_WITH_AS(flipout_conv_transpose(x, k, k, random::rademacher_bits({2, 5, 5, 1}, RandomStream(1, 1)), good_out, g),
                       doctest::Contains("sign_in [2,5,5,1] (sign bits)"), ShapeError);
  CHECK_THROWS_WITH_AS(flipout_conv_transpose(x, k, k, random::rademacher_bits(c.x, RandomStream(1, 1)),
                                              random::rademacher_bits(c.x, RandomStream(1, 2)), g),
                       doctest::Contains("sign_out"), ShapeError);
}

TEST_CASE("a fused activation: the values and every gradient of the op followed by relu or leaky_relu, bit for bit") {
  // every case (the engine's tiles, a phase no tap reaches, the thin-output dot products, the
  // thin kernels' paths), float and double, sign bits and sign tensors; with a bias (the backward's
  // one pass forming the activation's gradient, the signed gradient and the bias sums), without
  // one (the activation's gradient alone), and with only x's gradient
  const FusedActivation acts[] = {FusedActivation::relu(), FusedActivation::leaky_relu(0.2),
                                  FusedActivation::leaky_relu(0.0)};
  int seed = 21;
  for (const FlipoutCase& c : kCases)
    for (DType dt : {DType::float32, DType::float64})
      for (const FusedActivation& act : acts)
        for (int variant = 0; variant < 3; ++variant)
          for (bool as_bits : {false, true}) {
            const bool with_bias = variant > 0, only_x = variant == 2;
            const ConvGeometry g = geometry_of(c);
            const Shape ys = output_shape(c, g);
            CAPTURE(shape_str(c.x));
            CAPTURE(shape_str(c.kernel));
            CAPTURE(dtype_name(dt));
            CAPTURE(static_cast<int>(act.kind));
            CAPTURE(act.negative_slope);
            CAPTURE(variant);
            CAPTURE(as_bits);
            const random::SignBits b_in = random::rademacher_bits(c.x, RandomStream(seed, 1));
            const random::SignBits b_out = random::rademacher_bits(ys, RandomStream(seed, 2));
            const Tensor s_in = b_in.tensor(dt), s_out = b_out.tensor(dt);
            const Ts in = flipout_inputs(c, dt, seed++);
            Ts results[2];
            for (int fuse = 0; fuse < 2; ++fuse)
              results[fuse] = value_and_grads(in, ys, with_bias, only_x, 79, [&](const Var& x, const Var& loc,
                                                                              const Var& delta, const Var& bias) {
                const FusedActivation inside = fuse ? act : FusedActivation{};
                const Var y = as_bits ? (c.transpose ? flipout_conv_transpose(x, loc, delta, b_in, b_out, g, bias, inside)
                                                     : flipout_convolution(x, loc, delta, b_in, b_out, g, bias, inside))
                                      : (c.transpose ? flipout_conv_transpose(x, loc, delta, s_in, s_out, g, bias, inside)
                                                     : flipout_convolution(x, loc, delta, s_in, s_out, g, bias, inside));
                return fuse ? y : act(y);  // the separate op
              });
            for (std::size_t k = 0; k < results[0].size(); ++k) {
              CAPTURE(k);
              CHECK(bitwise_equal(results[1][k], results[0][k]));
            }
          }
  // and the fused op's gradients pass gradcheck (float64; random values keep clear of the kink)
  for (const FlipoutCase& c : {kCases[0], kCases[3], kCases[7]}) {
    const ConvGeometry g = geometry_of(c);
    const Shape ys = output_shape(c, g);
    CAPTURE(shape_str(c.kernel));
    const Tensor s_in = random::rademacher(c.x, DType::float64, RandomStream(9, 1));
    const Tensor s_out = random::rademacher(ys, DType::float64, RandomStream(9, 2));
    const Ts in{testing::random_tensor(c.x, 91), testing::random_tensor(c.kernel, 92), testing::random_tensor(c.kernel, 93),
                testing::random_tensor({c.kernel.back()}, 94)};
    CHECK_GRADCHECK([&](auto& v) {
      return c.transpose ? flipout_conv_transpose(v[0], v[1], v[2], s_in, s_out, g, v[3], FusedActivation::leaky_relu(0.3))
                         : flipout_convolution(v[0], v[1], v[2], s_in, s_out, g, v[3], FusedActivation::leaky_relu(0.3));
    }, in);
  }
  CHECK_THROWS_WITH_AS(FusedActivation::leaky_relu(-0.1), doctest::Contains("negative_slope"), ValueError);
  CHECK_THROWS_AS(FusedActivation::leaky_relu(std::nan("")), ValueError);
  // a hand-made negative slope reaches the op: refused there, not applied with a wrong gradient
  const FlipoutCase c = kCases[0];
  const ConvGeometry g = geometry_of(c);
  const Var x = constant(Tensor::zeros(c.x, DType::float32)), k = constant(Tensor::zeros(c.kernel, DType::float32));
  FusedActivation bad;
  bad.kind = FusedActivation::Kind::leaky_relu;
  bad.negative_slope = -1;
  CHECK_THROWS_WITH_AS(flipout_conv_transpose(x, k, k, Tensor::ones(c.x, DType::float32),
                                              Tensor::ones(output_shape(c, g), DType::float32), g, Var(), bad),
                       doctest::Contains("negative_slope >= 0"), ValueError);
  bad.negative_slope = INFINITY;
  CHECK_THROWS_AS(flipout_conv_transpose(x, k, k, Tensor::ones(c.x, DType::float32),
                                         Tensor::ones(output_shape(c, g), DType::float32), g, Var(), bad),
                  ValueError);
  // and on the thin (composed) path alike
  const FlipoutCase t = kCases[6];
  const ConvGeometry tg = geometry_of(t);
  bad.negative_slope = -1;
  CHECK_THROWS_AS(flipout_conv_transpose(constant(Tensor::zeros(t.x, DType::float32)),
                                         constant(Tensor::zeros(t.kernel, DType::float32)),
                                         constant(Tensor::zeros(t.kernel, DType::float32)), Tensor::ones(t.x, DType::float32),
                                         Tensor::ones(output_shape(t, tg), DType::float32), tg, Var(), bad),
                  ValueError);
}

TEST_CASE("bit-identical at 1 and 2 threads") {
  // the engine with sign tensors, and a convolution down to one channel with sign bits (its two
  // kernel gradients in one pass over x, run by both threads)
  const FlipoutCase cases[] = {{true, {4, 9, 9, 8}, {5, 5, 8, 6}, 2, "SAME"}, {false, {8, 12, 12, 32}, {2, 2, 32, 1}, 1, "SAME"}};
  for (const FlipoutCase& c : cases) {
    CAPTURE(shape_str(c.kernel));
    const bool as_bits = !c.transpose;
    const ConvGeometry g = geometry_of(c);
    const Shape ys = output_shape(c, g);
    const Tensor s_in = random::rademacher(c.x, DType::float32, RandomStream(3, 1));
    const Tensor s_out = random::rademacher(ys, DType::float32, RandomStream(3, 2));
    const random::SignBits b_in = random::rademacher_bits(c.x, RandomStream(3, 1));
    const random::SignBits b_out = random::rademacher_bits(ys, RandomStream(3, 2));
    std::vector<std::vector<float>> results;
    const int saved = num_threads();
    for (int t : {1, 2}) {
      set_num_threads(t);
      Var x = parameter(testing::random_tensor(c.x, 5).astype(DType::float32));
      Var loc = parameter(testing::random_tensor(c.kernel, 6).astype(DType::float32));
      Var delta = parameter(testing::random_tensor(c.kernel, 7).astype(DType::float32));
      Var y = as_bits ? flipout_convolution(x, loc, delta, b_in, b_out, g) : fused(c, x, loc, delta, s_in, s_out, g);
      backward(sum(square(y)));
      auto r = y.value().to_vector<float>();
      for (const Tensor* gr : {&x.grad(), &loc.grad(), &delta.grad()}) {
        auto v = gr->to_vector<float>();
        r.insert(r.end(), v.begin(), v.end());
      }
      results.push_back(r);
    }
    set_num_threads(saved);
    CHECK(results[0] == results[1]);
  }
}

}
