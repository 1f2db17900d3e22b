// convolution / conv_transpose against the loop-nest reference on >= 200 random configurations
// each, gradcheck, an output-shape table, and one test per error rule.
#include "../testing.hpp"
#include "conv_reference.hpp"

#include <random>

using namespace tapir;
using Ts = std::vector<Tensor>;

namespace {

struct Config {
  reference::Spec spec;
  std::string describe() const {
    const auto& s = spec;
    auto v = [](const std::vector<int>& x) { std::string r = "["; for (std::size_t i = 0; i < x.size(); ++i) r += (i ? "," : "") + std::to_string(x[i]); return r + "]"; };
    return "rank " + std::to_string(s.rank) + " in " + v(s.in) + " filter " + v(s.filter) + " stride " + v(s.stride) +
           " dil " + v(s.dilation) + " out_pad " + v(s.output_padding) + (s.same ? " SAME" : " VALID") +
           " c " + std::to_string(s.c_in) + "->" + std::to_string(s.c_out) + " batch " + v(s.batch);
  }
};

// A random configuration; `transpose` allows output_padding; keeps the work small.
Config random_config(std::mt19937& rng, bool transpose) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Config c;
  auto& s = c.spec;
  s.rank = pick(1, 3);
  s.same = pick(0, 1);
  const bool dilated = pick(0, 2) == 0;
  const int max_k = s.rank == 3 ? 3 : 7;
  for (int i = 0; i < s.rank; ++i) {
    s.filter.push_back(pick(1, max_k));
    s.stride.push_back(dilated ? 1 : pick(1, 3));
    s.dilation.push_back(dilated ? pick(1, 2) : 1);
    const int keff = s.dilation[i] * (s.filter[i] - 1) + 1;
    const int max_n = s.rank == 3 ? 5 : 9;
    s.in.push_back(!transpose && !s.same ? pick(keff, std::max(keff, max_n) + 1) : pick(1, max_n));
  }
  if (transpose && pick(0, 1))
    for (int i = 0; i < s.rank; ++i) s.output_padding.push_back(pick(0, s.stride[i] - 1));
  const int max_c = s.rank == 3 ? 5 : 17;
  s.c_in = pick(1, max_c);
  s.c_out = pick(1, max_c);
  const int b = pick(0, 2);
  s.batch = b == 0 ? std::vector<int>{} : b == 1 ? std::vector<int>{3} : std::vector<int>{2, 3};
  if (transpose && !s.output_padding.empty()) {
    // drop configurations whose output would be empty (VALID k=1, s>1 with op 0 etc. stay valid)
    std::vector<int> out, pad;
    reference::conv_transpose_out(s, out, pad);
    for (int o : out)
      if (o < 1) s.output_padding.clear();
  }
  return c;
}

Shape input_shape(const reference::Spec& s) {
  Shape sh(s.batch.begin(), s.batch.end());
  sh.insert(sh.end(), s.in.begin(), s.in.end());
  sh.push_back(s.c_in);
  return sh;
}
Shape kernel_shape(const reference::Spec& s) {
  Shape sh(s.filter.begin(), s.filter.end());
  sh.push_back(s.c_in);
  sh.push_back(s.c_out);
  return sh;
}
ConvOptions conv_options(const reference::Spec& s) {
  return ConvOptions().strides(s.stride).dilations(s.dilation).padding(s.same ? "same" : "VALID");
}
ConvTransposeOptions conv_t_options(const reference::Spec& s) {
  auto o = ConvTransposeOptions().strides(s.stride).dilations(s.dilation).padding(s.same ? "SAME" : "valid");
  if (!s.output_padding.empty()) o.output_padding(s.output_padding);
  return o;
}

void compare_one(bool transpose, const Config& c, int k);

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Both ops are linear in x and in the kernel, so the gradients of L = <op(x, w), g> satisfy,
// for any directions v (like x) and V (like w), exactly:
//   <dL/dx, v> = <ref(v, w), g>      <dL/dw, V> = <ref(x, V), g>
// which checks the backward against the loop-nest reference (float64, every configuration).
void check_gradients_by_adjoint(bool transpose, const Config& c, const Tensor& x, const Tensor& w, int k) {
  const auto& s = c.spec;
  auto ref = [&](const std::vector<double>& xv, const std::vector<double>& wv) {
    std::vector<int> out;
    return transpose ? reference::conv_transpose(s, xv, wv, out) : reference::convolution(s, xv, wv, out);
  };
  const auto v = testing::random_tensor(x.shape(), 7 * k + 4).to_vector<double>();
  const auto V = testing::random_tensor(w.shape(), 7 * k + 5).to_vector<double>();
  for (DType dt : {DType::float64, DType::float32}) {  // float32 takes other tile widths
    CAPTURE(dtype_name(dt));
    Var xv = parameter(x.astype(dt)), wv = parameter(w.astype(dt));
    Var y = transpose ? conv_transpose(xv, wv, conv_t_options(s)) : convolution(xv, wv, conv_options(s));
    const Tensor g = testing::random_tensor(y.shape(), 7 * k + 3).astype(dt);
    backward(sum(y * constant(g)));
    const auto gv = g.to_vector<double>();
    const double lhs_x = dot(xv.grad().to_vector<double>(), v), rhs_x = dot(ref(v, w.to_vector<double>()), gv);
    const double lhs_w = dot(wv.grad().to_vector<double>(), V), rhs_w = dot(ref(x.to_vector<double>(), V), gv);
    // float32: rounding of the inputs and of sums over up to a few thousand terms
    const double tol = dt == DType::float64 ? 1e-9 : 1e-4 * std::sqrt(static_cast<double>(x.size() + w.size()));
    CHECK(std::fabs(lhs_x - rhs_x) <= tol * (1.0 + std::fabs(rhs_x)));
    CHECK(std::fabs(lhs_w - rhs_w) <= tol * (1.0 + std::fabs(rhs_w)));
  }
}

void compare_with_reference(bool transpose, int count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  for (int k = 0; k < count; ++k) compare_one(transpose, random_config(rng, transpose), k);
}

void compare_one(bool transpose, const Config& c, int k) {
  {
    const auto& s = c.spec;
    CAPTURE(c.describe());
    const Tensor x = testing::random_tensor(input_shape(s), 2 * k + 1);
    const Tensor w = testing::random_tensor(kernel_shape(s), 2 * k + 2);
    std::vector<int> out;
    const auto ref = transpose ? reference::conv_transpose(s, x.to_vector<double>(), w.to_vector<double>(), out)
                               : reference::convolution(s, x.to_vector<double>(), w.to_vector<double>(), out);
    for (DType dt : {DType::float64, DType::float32}) {
      Var y = transpose ? conv_transpose(constant(x.astype(dt)), constant(w.astype(dt)), conv_t_options(s))
                        : convolution(constant(x.astype(dt)), constant(w.astype(dt)), conv_options(s));
      Shape expected(s.batch.begin(), s.batch.end());
      expected.insert(expected.end(), out.begin(), out.end());
      expected.push_back(s.c_out);
      REQUIRE(y.shape() == expected);
      const double rtol = dt == DType::float32 ? 1e-4 : 1e-10;
      double worst = 0;
      for (std::size_t i = 0; i < ref.size(); ++i)
        worst = std::max(worst, std::fabs(y.value().at(i) - ref[i]) / (1.0 + std::fabs(ref[i])));
      CHECK(worst < rtol);
    }
    check_gradients_by_adjoint(transpose, c, x, w, k);
  }
}

}  // namespace

TEST_SUITE("core/conv") {

TEST_CASE("convolution matches the loop-nest reference on 220 random configurations") {
  compare_with_reference(false, 220, 2024);
}

TEST_CASE("conv_transpose matches the loop-nest reference on 220 random configurations") {
  compare_with_reference(true, 220, 7);
}

TEST_CASE("thin-channel direct kernels (c <= 4 against 8..32 SIMD-wide channels) match the reference") {
  // The direct kernels take register blocks when the wide channel count is a multiple of the
  // SIMD width (1-4 vectors per block, and in float32 8 = none: the per-pixel path), with zero
  // products at the borders and one pointer per block for one channel at stride 1 or 2;
  // random configurations rarely hit them, so these do on purpose.
  int k = 1000;
  for (int rank : {1, 2, 3})
    for (int stride : {1, 2})
      for (int dilation : {1, 2})  // (TF refuses stride > 1 with dilation > 1)
      for (int wide : {8, 16, 32, 48, 64})
        for (int thin : {1, 3})
          for (bool same : {true, false})
            for (bool transpose : {false, true}) {
              if (stride > 1 && dilation > 1) continue;
              Config c;
              auto& s = c.spec;
              s.rank = rank;
              s.same = same;
              for (int i = 0; i < rank; ++i) {
                s.filter.push_back(rank == 3 ? 3 : 5);
                s.stride.push_back(stride);
                s.dilation.push_back(dilation);
                s.in.push_back(rank == 3 ? 6 : 11);
              }
              s.c_in = transpose ? wide : thin;   // conv: thin input; conv-T: thin output
              s.c_out = transpose ? thin : wide;
              s.batch = {2};
              CAPTURE(c.describe());
              compare_one(transpose, c, k++);
            }
}

TEST_CASE("the GEMM engine's edge cases match the reference (values and gradients)") {
  // Tile remainders (rows and channels not multiples of the register tile), strides larger than
  // the filter (stride phases no tap reaches), dilation with output_padding, batch 1 and no batch.
  struct Case {
    int rank;
    std::vector<int> in, filter, stride, dilation, output_padding;
    bool same;
    int c_in, c_out;
    std::vector<int> batch;
  };
  const Case cases[] = {
      {2, {5, 7}, {3, 3}, {1, 1}, {1, 1}, {}, true, 13, 37, {1}},         // 35 rows, 37 columns: remainders
      {2, {3, 4}, {2, 2}, {3, 3}, {1, 1}, {}, false, 6, 5, {2}},          // stride 3 > filter 2
      {2, {3, 3}, {1, 2}, {4, 3}, {1, 1}, {2, 1}, true, 5, 7, {1}},       // stride > filter, output_padding
      {1, {6}, {3}, {1}, {2}, {0}, true, 9, 6, {}},                       // dilation with output_padding, no batch dims
      {2, {4, 5}, {3, 2}, {1, 1}, {2, 3}, {}, false, 7, 9, {1}},          // dilation, batch 1
      {3, {3, 4, 2}, {2, 3, 1}, {2, 1, 3}, {1, 1, 1}, {1, 0, 2}, false, 5, 6, {2}},
      {2, {7, 7}, {5, 5}, {2, 2}, {1, 1}, {1, 1}, true, 33, 17, {1}},     // K = 825, not a multiple of KC
      {1, {40}, {1}, {1}, {1}, {}, true, 300, 5, {1}},                    // c_in > KC: a tap spans K blocks
      {2, {5, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, 20, 128, {1}},    // four-vector tiles, two panels, row remainders
      // the unpacked kernel gradient (patch-side channels whole vectors; 8 x 3-vector tiles here):
      // 800 rows over four K blocks, a last panel of one vector (144 columns)
      {2, {20, 20}, {3, 3}, {1, 1}, {1, 1}, {}, true, 16, 16, {2}},
      {2, {11, 9}, {3, 3}, {1, 1}, {2, 2}, {}, true, 48, 48, {1}},        // 48: a panel's vectors in two taps
      {2, {17, 16}, {3, 3}, {1, 1}, {1, 1}, {}, true, 20, 32, {1}},       // conv-T: 12 x 2 tiles (8 x 3 pads as much)
      // kernel gradients summed in runs of rows, the runs' products added after: the unpacked
      // product's 1152 rows in two runs; a thin small side (2 channels), 3 images in three runs
      {2, {24, 24}, {3, 3}, {1, 1}, {1, 1}, {}, true, 16, 16, {2}},
      {2, {40, 40}, {3, 3}, {1, 1}, {1, 1}, {}, true, 16, 2, {3}},
      // border classes: every position of a 9 x 9 image misses other taps of a dilated 7 x 7
      // filter (81 classes: the plan stays whole), and a 3-D case split into 27
      {2, {9, 9}, {7, 7}, {1, 1}, {2, 2}, {}, true, 5, 7, {1}},
      {3, {5, 5, 5}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {}, true, 8, 17, {2}},
      // taps whose sources follow one another, read as one run: along a 1-D filter of 9 (runs
      // of 9 x 24 values in the interior class); an image as wide as the filter (VALID), where
      // a run goes on across the filter's rows (all 9 taps, 3 image rows end to end); and a
      // 3-D plan left whole (125 classes), whose live taps some rows miss (runs of one tap)
      {1, {40}, {9}, {1}, {1}, {}, true, 24, 20, {2}},
      {2, {6, 3}, {3, 3}, {1, 1}, {1, 1}, {}, false, 16, 16, {2}},
      {3, {5, 5, 5}, {5, 5, 5}, {1, 1, 1}, {1, 1, 1}, {}, true, 3, 16, {1}},
      // the unpacked kernel gradient's narrower last panel (8 x 3-vector tiles): 25 taps x 32
      // channels end in a panel of 2 vectors (convolution), 25 x 16 in one of 1 (conv-T); 324
      // rows, two K blocks
      {2, {17, 17}, {5, 5}, {2, 2}, {1, 1}, {1, 1}, true, 32, 16, {4}},
      // a conv-T source bigger than L2 (8 MiB in float32): its four stride phases go through the
      // batch in chunks of images, every phase per chunk
      {2, {32, 32}, {2, 2}, {2, 2}, {1, 1}, {}, true, 128, 8, {16}},
      // the thin-output dot products (a convolution down to <= 4 channels, a conv-transpose's
      // input gradient up from <= 4) in blocks of one vector's width of rows: 105 rows (a last
      // block of 9 rows in float32, of 1 in float64), 37 channels (a tail of 5 after whole
      // vectors); stride 2 with output_padding; a dilated 7 x 7 filter over a 9 x 9 image (border
      // classes of one to four rows); 3-D with two output channels. (The 3-D plan left whole
      // above, 125 classes, takes the address-table path: a conv-transpose's input gradient.)
      {2, {7, 5}, {3, 3}, {1, 1}, {1, 1}, {}, true, 37, 3, {3}},
      {2, {6, 5}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, 2, 37, {3}},
      {2, {9, 9}, {7, 7}, {1, 1}, {2, 2}, {}, true, 21, 1, {1}},
      {3, {4, 5, 3}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {}, false, 19, 2, {2}},
  };
  int k = 3000;
  for (const Case& e : cases)
    for (bool transpose : {false, true}) {
      Config c;
      auto& s = c.spec;
      s.rank = e.rank;
      s.in = e.in;
      s.filter = e.filter;
      s.stride = e.stride;
      s.dilation = e.dilation;
      s.same = e.same;
      s.c_in = e.c_in;
      s.c_out = e.c_out;
      s.batch = e.batch;
      if (transpose) s.output_padding = e.output_padding;
      if (!transpose && !s.same) {  // a VALID convolution needs in >= the dilated filter
        bool fits = true;
        for (int i = 0; i < s.rank; ++i) fits = fits && s.in[i] >= reference::k_eff(s, i);
        if (!fits) continue;
      }
      CAPTURE(c.describe());
      compare_one(transpose, c, k++);
    }
}

TEST_CASE("gradcheck of both ops w.r.t. input and kernel") {
  std::mt19937 rng(99);
  for (int k = 0; k < 24; ++k) {
    const bool transpose = k % 2;
    Config c = random_config(rng, transpose);
    auto& s = c.spec;
    // keep gradcheck affordable: few channels and images
    s.c_in = std::min(s.c_in, 3);
    s.c_out = std::min(s.c_out, 3);
    if (s.batch.size() == 2) s.batch = {2};
    CAPTURE(c.describe());
    const Ts inputs{testing::random_tensor(input_shape(s), 3 * k), testing::random_tensor(kernel_shape(s), 3 * k + 1)};
    if (transpose)
      CHECK_GRADCHECK([s](auto& v) { return conv_transpose(v[0], v[1], conv_t_options(s)); }, inputs);
    else
      CHECK_GRADCHECK([s](auto& v) { return convolution(v[0], v[1], conv_options(s)); }, inputs);
  }
}

TEST_CASE("output shapes: hand-computed table") {
  struct Row { Shape x, k; int stride, dil; const char* pad; int out_pad; Shape conv, conv_t; };
  // conv: SAME ceil(n/s); VALID ceil((n-k_eff+1)/s).  conv-T: SAME n*s; VALID n*s+max(k_eff-s,0);
  // with output_padding: (n-1)*s + k_eff - 2*pad + op, pad = k_eff//2 (SAME) or 0.
  const std::vector<Row> table{
      {{1, 7, 7, 3}, {5, 5, 3, 2}, 2, 1, "SAME", -1, {1, 4, 4, 2}, {1, 14, 14, 2}},
      {{1, 7, 7, 3}, {5, 5, 3, 2}, 2, 1, "VALID", -1, {1, 2, 2, 2}, {1, 17, 17, 2}},
      {{1, 7, 7, 3}, {5, 5, 3, 2}, 2, 1, "SAME", 1, {1, 4, 4, 2}, {1, 14, 14, 2}},
      {{1, 7, 7, 3}, {5, 5, 3, 2}, 2, 1, "VALID", 1, {1, 2, 2, 2}, {1, 18, 18, 2}},
      {{8, 3}, {3, 3, 4}, 1, 2, "SAME", -1, {8, 4}, {8, 4}},
      {{8, 3}, {3, 3, 4}, 1, 2, "VALID", -1, {4, 4}, {12, 4}},
      {{2, 4, 4, 4, 1}, {2, 2, 2, 1, 1}, 3, 1, "SAME", 2, {2, 2, 2, 2, 1}, {2, 11, 11, 11, 1}},
      {{5, 6, 2}, {4, 4, 2, 1}, 2, 1, "SAME", 0, {3, 3, 1}, {8, 10, 1}},
  };
  for (const auto& r : table) {
    Var x = constant(Tensor::zeros(r.x, DType::float32)), k = constant(Tensor::zeros(r.k, DType::float32));
    CHECK(convolution(x, k, ConvOptions().strides(r.stride).dilations(r.dil).padding(r.pad)).shape() == r.conv);
    auto o = ConvTransposeOptions().strides(r.stride).dilations(r.dil).padding(r.pad);
    if (r.out_pad >= 0) o.output_padding(r.out_pad);
    CHECK(conv_transpose(x, k, o).shape() == r.conv_t);
  }
}

TEST_CASE("error rules, each a typed error naming the argument") {
  Var x = constant(Tensor::zeros({2, 8, 8, 3}, DType::float32));
  Var k = constant(Tensor::zeros({3, 3, 3, 4}, DType::float32));
  CHECK_THROWS_WITH_AS(convolution(x, k, ConvOptions().padding("CAUSAL")), doctest::Contains("padding"), ValueError);
  CHECK_THROWS_WITH_AS(conv_transpose(x, k, ConvTransposeOptions().padding("full")), doctest::Contains("padding"), ValueError);
  CHECK_THROWS_WITH_AS(convolution(x, k, ConvOptions().strides(2).dilations({1, 2})), doctest::Contains("dilations"), ValueError);
  CHECK_THROWS_WITH_AS(conv_transpose(x, k, ConvTransposeOptions().strides(2).output_padding(2)),
                       doctest::Contains("output_padding"), ValueError);
  CHECK_THROWS_WITH_AS(convolution(x, k, ConvOptions().strides(0)), doctest::Contains("strides"), ValueError);
  CHECK_THROWS_WITH_AS(conv_transpose(x, k, ConvTransposeOptions().dilations(-1)), doctest::Contains("dilations"), ValueError);
  CHECK_THROWS_AS(convolution(x, constant(Tensor::zeros({0, 3, 3, 4}, DType::float32))), ValueError);
  CHECK_THROWS_WITH_AS(convolution(x, constant(Tensor::zeros({3, 3, 5, 4}, DType::float32))),
                       doctest::Contains("c_in=5"), ShapeError);
  CHECK_THROWS_WITH_AS(convolution(constant(Tensor::zeros({8, 3}, DType::float32)), k),
                       doctest::Contains("needs at least 3 dims"), ShapeError);
  CHECK_THROWS_WITH_AS(convolution(x, k, ConvOptions().strides({1, 2, 3})), doctest::Contains("expected 1 or 2"), ValueError);
  CHECK_THROWS_AS(convolution(constant(Tensor::zeros({2, 2, 2, 3}, DType::float32)), k), ValueError);  // VALID: no output
  CHECK_THROWS_AS(convolution(x, constant(Tensor::zeros({3, 3, 3, 4}, DType::float64))), TypeError);
}

TEST_CASE("an op builds only the gather plans its wanted products use, with the same results") {
  // Inference (no graph), a kernel-only gradient (input is data) and an input-only gradient
  // each build a subset of the plans; their values and gradients are those of the full call.
  for (bool transpose : {false, true}) {
    CAPTURE(transpose);
    const Tensor x = testing::random_tensor({2, 6, 5, 24}, 71).astype(DType::float32);
    const Tensor w = testing::random_tensor({3, 3, 24, 40}, 72).astype(DType::float32);
    auto op = [&](const Var& xv, const Var& wv) {
      return transpose ? conv_transpose(xv, wv, ConvTransposeOptions().strides(2).padding("SAME"))
                       : convolution(xv, wv, ConvOptions().strides(2).padding("SAME"));
    };
    Var xf = parameter(x), wf = parameter(w);
    Var yf = op(xf, wf);
    backward(sum(square(yf)));
    {
      NoGradGuard guard;
      CHECK(op(parameter(x), parameter(w)).value().to_vector<float>() == yf.value().to_vector<float>());
    }
    Var wk = parameter(w);
    backward(sum(square(op(constant(x), wk))));
    CHECK(wk.grad().to_vector<float>() == wf.grad().to_vector<float>());
    Var xi = parameter(x);
    backward(sum(square(op(xi, constant(w)))));
    CHECK(xi.grad().to_vector<float>() == xf.grad().to_vector<float>());
  }
}

TEST_CASE("an empty batch gives empty outputs and zero kernel gradients on every engine path") {
  // the thin small-side sums (a convolution down to 2 channels, a conv-transpose up from 2), the
  // unpacked and the packed kernel gradients, at 1 and 2 threads
  struct Case {
    bool transpose;
    Shape x, w;
  };
  const Case cases[] = {{false, {0, 6, 6, 16}, {3, 3, 16, 2}}, {true, {0, 6, 6, 2}, {3, 3, 2, 16}},
                        {false, {0, 6, 6, 16}, {3, 3, 16, 32}}, {true, {0, 6, 6, 16}, {3, 3, 16, 32}},
                        {false, {0, 6, 6, 5}, {3, 3, 5, 7}}};
  const int saved = num_threads();
  for (int t : {1, 2}) {
    set_num_threads(t);
    for (const Case& c : cases) {
      CAPTURE(shape_str(c.w));
      Var x = parameter(Tensor::zeros(c.x, DType::float32));
      Var w = parameter(testing::random_tensor(c.w, 90).astype(DType::float32));
      Var y = c.transpose ? conv_transpose(x, w, ConvTransposeOptions().strides(2).padding("SAME"))
                          : convolution(x, w, ConvOptions().padding("SAME"));
      CHECK(y.shape()[0] == 0);
      backward(sum(y));
      for (float g : w.grad().to_vector<float>()) REQUIRE(g == 0.0f);
    }
  }
  set_num_threads(saved);
}

TEST_CASE("bit-identical at 1 and 2 threads") {
  // each engine path: the register tiles (one, two and four vectors), the thin-output dot products,
  // the thin small-side kernel gradients, the packed and the unpacked kernel gradients, and
  // kernel gradients whose rows are summed in runs (as many runs as threads, and not), and the
  // one-channel kernels
  struct Case {
    bool transpose;
    Shape x, w;
  };
  const Case cases[] = {
      {true, {4, 9, 9, 8}, {5, 5, 8, 6}},     {true, {4, 9, 9, 24}, {5, 5, 24, 40}}, {false, {4, 12, 12, 40}, {3, 3, 40, 2}},
      {true, {4, 5, 5, 2}, {4, 4, 2, 40}},    {false, {4, 12, 12, 24}, {3, 3, 24, 40}},
      {false, {4, 12, 12, 24}, {3, 3, 24, 128}},
      {true, {4, 9, 9, 20}, {5, 5, 20, 32}},  {false, {4, 12, 12, 48}, {3, 3, 48, 13}},  // unpacked kernel gradients
      {false, {4, 48, 48, 16}, {3, 3, 16, 32}}, {false, {3, 96, 96, 16}, {3, 3, 16, 2}},  // runs of rows: 4, and 3
      {true, {16, 32, 32, 128}, {2, 2, 128, 8}},  // a source bigger than L2: phases by chunks of images
      // one-channel side (the thin kernels): padded rows made and kernel-gradient blocks summed
      // by both threads
      {false, {32, 28, 28, 1}, {5, 5, 1, 32}},    {true, {32, 14, 14, 32}, {5, 5, 32, 1}},
  };
  int seed = 5;
  for (const Case& c : cases) {
    CAPTURE(shape_str(c.w));
    const Tensor x = testing::random_tensor(c.x, seed++).astype(DType::float32);
    const Tensor w = testing::random_tensor(c.w, seed++).astype(DType::float32);
    std::vector<std::vector<float>> results;
    const int saved = num_threads();
    for (int t : {1, 2}) {
      set_num_threads(t);
      Var xv = parameter(x), wv = parameter(w);
      Var y = c.transpose ? conv_transpose(xv, wv, ConvTransposeOptions().strides(2).padding("SAME"))
                          : convolution(xv, wv, ConvOptions().strides(2).padding("SAME"));
      backward(sum(square(y)));
      auto r = y.value().to_vector<float>();
      for (const Tensor* g : {&xv.grad(), &wv.grad()}) {
        auto gv = g->to_vector<float>();
        r.insert(r.end(), gv.begin(), gv.end());
      }
      results.push_back(r);
    }
    set_num_threads(saved);
    CHECK(results[0] == results[1]);
  }
}

}
