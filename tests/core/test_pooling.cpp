// max_pool / avg_pool / global_avg_pool against a loop nest written from the definition, and
// gradchecks (float64) over ranks 1-3, strides, SAME/VALID.
#include "../testing.hpp"

#include <cmath>
#include <limits>

using namespace tapir;

namespace {

struct PoolCase {
  Shape x;  // [N, spatial..., C]
  std::vector<int> window, strides;
  const char* padding;
};

// The definition: output o along a dim covers inputs o*s - P + [0, k), P = SAME's leading pad
// (total (out-1)*s + k - in, halved down) or 0; out-of-range inputs are skipped.
Tensor reference_pool(const Tensor& x, const PoolCase& c, bool is_max) {
  const std::size_t r = c.window.size();
  std::vector<long> in(r), out(r), pad(r);
  for (std::size_t d = 0; d < r; ++d) {
    in[d] = static_cast<long>(c.x[1 + d]);
    const long k = c.window[d], s = c.strides[d];
    if (std::string(c.padding) == "SAME") {
      out[d] = (in[d] + s - 1) / s;
      pad[d] = std::max(0L, (out[d] - 1) * s + k - in[d]) / 2;
    } else {
      out[d] = (in[d] - k) / s + 1;
      pad[d] = 0;
    }
  }
  Shape ys{c.x[0]};
  for (auto o : out) ys.push_back(static_cast<std::size_t>(o));
  ys.push_back(c.x.back());
  Tensor y = Tensor::zeros(ys, DType::float64);
  const long C = static_cast<long>(c.x.back());
  std::vector<long> o(r, 0);
  const std::size_t out_pixels = y.size() / c.x[0] / static_cast<std::size_t>(C);
  for (std::size_t n = 0; n < c.x[0]; ++n)
    for (std::size_t op = 0; op < out_pixels; ++op) {
      std::size_t rest = op;
      for (std::size_t d = r; d-- > 0;) { o[d] = static_cast<long>(rest % static_cast<std::size_t>(out[d])); rest /= static_cast<std::size_t>(out[d]); }
      for (long ch = 0; ch < C; ++ch) {
        double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
        long count = 0;
        std::vector<long> t(r, 0);
        long taps = 1;
        for (int k : c.window) taps *= k;
        for (long tp = 0; tp < taps; ++tp) {
          long rem = tp, flat = 0;
          bool inside = true;
          for (std::size_t d = r; d-- > 0;) { t[d] = rem % c.window[d]; rem /= c.window[d]; }
          for (std::size_t d = 0; d < r; ++d) {
            const long p = o[d] * c.strides[d] - pad[d] + t[d];
            inside = inside && p >= 0 && p < in[d];
            flat = flat * in[d] + p;
          }
          if (!inside) continue;
          const double v = x.at(n * (x.size() / c.x[0]) + static_cast<std::size_t>(flat * C + ch));
          acc = is_max ? std::max(acc, v) : acc + v;
          ++count;
        }
        y.data<double>()[(n * out_pixels + op) * static_cast<std::size_t>(C) + static_cast<std::size_t>(ch)] =
            is_max ? acc : acc / static_cast<double>(count);
      }
    }
  return y;
}

const std::vector<PoolCase> kCases = {
    {{2, 9, 3}, {3}, {2}, "VALID"},          {{2, 9, 3}, {3}, {2}, "SAME"},
    {{1, 7, 6, 2}, {2, 2}, {2, 2}, "VALID"}, {{2, 7, 6, 2}, {3, 2}, {2, 1}, "SAME"},
    {{2, 5, 5, 3}, {3, 3}, {1, 1}, "SAME"},  {{1, 4, 5, 6, 2}, {2, 2, 3}, {2, 2, 2}, "SAME"},
    {{1, 5, 4, 4, 1}, {3, 2, 2}, {1, 2, 2}, "VALID"},
};

}  // namespace

TEST_CASE("max_pool and avg_pool equal the loop-nest definition (ranks 1-3, strides, SAME/VALID)") {
  for (const auto& c : kCases) {
    INFO("x " << shape_str(c.x) << " window " << c.window.size() << " padding " << std::string(c.padding));
    const Tensor x = testing::random_tensor(c.x, 7);
    const PoolOptions o = PoolOptions().strides(c.strides).padding(c.padding).rank(static_cast<int>(c.window.size()));
    CHECK(testing::max_abs_diff(max_pool(constant(x), c.window, o).value(), reference_pool(x, c, true)) == 0.0);
    CHECK(testing::max_abs_diff(avg_pool(constant(x), c.window, o).value(), reference_pool(x, c, false)) < 1e-12);
    // float32 takes the same path
    CHECK(testing::max_abs_diff(max_pool(constant(x.astype(DType::float32)), c.window, o).value().astype(DType::float64),
                                reference_pool(x, c, true)) < 1e-6);
  }
}

TEST_CASE("pooling gradients: gradcheck in float64") {
  for (const auto& c : kCases) {
    INFO("x " << shape_str(c.x) << " padding " << std::string(c.padding));
    const PoolOptions o = PoolOptions().strides(c.strides).padding(c.padding).rank(static_cast<int>(c.window.size()));
    auto mp = [&](const std::vector<Var>& v) { return max_pool(v[0], c.window, o); };
    auto ap = [&](const std::vector<Var>& v) { return avg_pool(v[0], c.window, o); };
    CHECK_GRADCHECK(mp, {testing::random_tensor(c.x, 11)});
    CHECK_GRADCHECK(ap, {testing::random_tensor(c.x, 12)});
  }
  auto gap = [](const std::vector<Var>& v) { return global_avg_pool(v[0], 2); };
  CHECK_GRADCHECK(gap, {testing::random_tensor({2, 3, 4, 5}, 3)});
}

TEST_CASE("pooling details: default strides, leading batch dims, global average, thread identity") {
  const Tensor x = testing::random_tensor({2, 3, 6, 6, 4}, 5);  // batch [2, 3]
  const Var y = max_pool(constant(x), 2);                          // strides default to the pool size
  CHECK(y.shape() == Shape{2, 3, 3, 3, 4});
  const Var z = max_pool(constant(x), 2, PoolOptions().strides(2));
  CHECK(testing::max_abs_diff(y.value(), z.value()) == 0.0);
  const Var g = global_avg_pool(constant(x), 2);
  CHECK(g.shape() == Shape{2, 3, 4});
  CHECK(g.value().at(0) == doctest::Approx(mean(constant(x), {2, 3}).value().at(0)).epsilon(1e-14));
  // bit-identical forward and backward at 1 and 2 threads
  const Tensor big = testing::random_tensor({16, 20, 20, 8}, 9).astype(DType::float32);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Var in = parameter(big);
    Var out = avg_pool(in, 3, PoolOptions().strides(2).padding("SAME")) + max_pool(in, 3, PoolOptions().strides(2).padding("SAME"));
    backward(sum(out * out));
    return std::make_pair(out.value().clone(), in.grad().clone());
  };
  const int before = num_threads();
  const auto one = run(1), two = run(2);
  set_num_threads(before);
  CHECK(testing::max_abs_diff(one.first, two.first) == 0.0);
  CHECK(testing::max_abs_diff(one.second, two.second) == 0.0);
}

TEST_CASE("pooling errors name the argument and the shapes") {
  const Var x = constant(Tensor::zeros({1, 4, 4, 2}, DType::float32));
  CHECK_THROWS_WITH_AS(max_pool(x, 0), doctest::Contains("pool_size"), ValueError);
  CHECK_THROWS_WITH_AS(max_pool(x, 2, PoolOptions().strides(0)), doctest::Contains("strides"), ValueError);
  CHECK_THROWS_WITH_AS(avg_pool(constant(Tensor::zeros({4, 2}, DType::float32)), {2, 2, 2}), doctest::Contains("[4,2]"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(avg_pool(x, 5), doctest::Contains("VALID"), ValueError);
  CHECK_THROWS_WITH_AS(max_pool(x, 2, PoolOptions().padding("FULL")), doctest::Contains("padding"), ValueError);
  CHECK_THROWS_WITH_AS(max_pool(x, 2, PoolOptions().rank(4)), doctest::Contains("rank"), ValueError);
  CHECK_THROWS_WITH_AS(global_avg_pool(constant(Tensor::zeros({4, 2}, DType::float32)), 2), doctest::Contains("[4,2]"),
                       ShapeError);
}
