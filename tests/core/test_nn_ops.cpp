// softmax, log_softmax, dropout, moments, batch_normalization, fused_batch_norm, layer_norm, split: values from
// their definitions and gradchecks in float64.
#include "../testing.hpp"

#include <cmath>
#include <cstring>

using namespace tapir;

TEST_CASE("softmax and log_softmax: values, stability, gradients") {
  const Tensor x = testing::random_tensor({3, 4, 5}, 1, -3, 3);
  for (int axis : {-1, 0, 1}) {
    INFO("axis " << axis);
    const Tensor s = softmax(constant(x), axis).value();
    const Tensor ls = log_softmax(constant(x), axis).value();
    // rows sum to one, and log_softmax = log(softmax)
    const Tensor sums = sum(constant(s), {axis}).value();
    for (std::size_t i = 0; i < sums.size(); ++i) CHECK(sums.at(i) == doctest::Approx(1.0).epsilon(1e-12));
    for (std::size_t i = 0; i < s.size(); ++i) CHECK(ls.at(i) == doctest::Approx(std::log(s.at(i))).epsilon(1e-12));
    auto f = [axis](const std::vector<Var>& v) { return softmax(v[0], axis); };
    auto g = [axis](const std::vector<Var>& v) { return log_softmax(v[0], axis); };
    CHECK_GRADCHECK(f, {x});
    CHECK_GRADCHECK(g, {x});
  }
  // a hand value and huge logits stay finite
  const Tensor two = softmax(constant(Tensor::from_vector<double>({2}, {0.0, std::log(3.0)}))).value();
  CHECK(two.at(0) == doctest::Approx(0.25));
  const Tensor big = log_softmax(constant(Tensor::from_vector<double>({3}, {1000.0, 0.0, -1000.0}))).value();
  CHECK(big.at(0) == doctest::Approx(0.0));
  CHECK(big.at(1) == doctest::Approx(-1000.0));
  CHECK(std::isfinite(big.at(2)));
  CHECK_THROWS_AS(softmax(constant(x), 3), ValueError);
}

TEST_CASE("dropout: inverted scaling, keep rate, seeded, gradient, errors") {
  const Var x = constant(Tensor::ones({200, 500}, DType::float32));
  const RandomStream s = SeedStream(7, "dropout").next();
  const Tensor y = dropout(x, 0.3, s).value();
  std::size_t kept = 0, other = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double v = y.at(i);
    other += !(v == 0.0 || std::fabs(v - 1.0 / 0.7) < 1e-6);  // only 0 and 1 / (1 - rate)
    kept += v != 0.0;
  }
  CHECK(other == 0);
  const double rate = static_cast<double>(kept) / static_cast<double>(y.size());
  CHECK(std::fabs(rate - 0.7) < 4 * std::sqrt(0.7 * 0.3 / static_cast<double>(y.size())));  // within 4 SE
  CHECK(testing::max_abs_diff(dropout(x, 0.3, s).value(), y) == 0.0);        // same stream, same mask
  CHECK(testing::max_abs_diff(dropout(x, 0.3, SeedStream(8, "dropout").next()).value(), y) > 0.0);
  CHECK(dropout(x, 0.0, s).value().at(0) == 1.0);
  const RandomStream fixed = SeedStream(3, "d").next();
  auto f = [&](const std::vector<Var>& v) { return dropout(v[0], 0.5, fixed); };
  CHECK_GRADCHECK(f, {testing::random_tensor({4, 6}, 2)});
  CHECK_THROWS_WITH_AS(dropout(x, 1.0, s), doctest::Contains("rate"), ValueError);
  CHECK_THROWS_WITH_AS(dropout(x, -0.1, s), doctest::Contains("[0, 1)"), ValueError);
}

TEST_CASE("moments, batch_normalization and layer_norm") {
  const Tensor x = testing::random_tensor({4, 3, 5}, 4, -2, 2);
  const Moments m = moments(constant(x), {0, 1});
  CHECK(m.mean.shape() == Shape{1, 1, 5});
  double mu = 0, var = 0;
  for (std::size_t i = 0; i < 12; ++i) mu += x.at(i * 5) / 12;
  for (std::size_t i = 0; i < 12; ++i) var += (x.at(i * 5) - mu) * (x.at(i * 5) - mu) / 12;
  CHECK(m.mean.value().at(0) == doctest::Approx(mu).epsilon(1e-12));
  CHECK(m.variance.value().at(0) == doctest::Approx(var).epsilon(1e-12));
  const Tensor gamma = testing::random_tensor({5}, 5, 0.5, 1.5), beta = testing::random_tensor({5}, 6);
  auto bn = [](const std::vector<Var>& v) {
    const Moments mo = moments(v[0], {0, 1});
    return batch_normalization(v[0], mo.mean, mo.variance, v[2], v[1], 1e-3);
  };
  CHECK_GRADCHECK(bn, (std::vector<Tensor>{x, gamma, beta}));
  auto ln = [](const std::vector<Var>& v) { return layer_norm(v[0], {-1}, v[1], v[2], 1e-3); };
  CHECK_GRADCHECK(ln, (std::vector<Tensor>{x, gamma, beta}));
  auto ln2 = [](const std::vector<Var>& v) { return layer_norm(v[0], {1, 2}); };
  CHECK_GRADCHECK(ln2, {x});
  // layer_norm without gamma/beta: zero mean, unit variance (up to epsilon) per row
  const Tensor y = layer_norm(constant(x), {-1}, Var(), Var(), 1e-12).value();
  double row_mean = 0, row_sq = 0;
  for (std::size_t i = 0; i < 5; ++i) { row_mean += y.at(i) / 5; row_sq += y.at(i) * y.at(i) / 5; }
  CHECK(row_mean == doctest::Approx(0.0).epsilon(1e-12));
  CHECK(row_sq == doctest::Approx(1.0).epsilon(1e-9));
  CHECK_THROWS_AS(batch_normalization(constant(x), m.mean, m.variance, Var(), Var(), 0.0), ValueError);
  CHECK_THROWS_AS(layer_norm(constant(x), {3}), ValueError);
}

TEST_CASE("fused_batch_norm: the composed op's value and gradients, thread-independent bits, errors") {
  for (const Shape& shape : {Shape{6, 4}, Shape{3, 5, 7, 3}, Shape{2, 600, 5}}) {  // the last spans >1 block
    INFO("shape " << shape_str(shape));
    const std::size_t C = shape.back();
    const Tensor x = testing::random_tensor(shape, 11, -2, 3);
    const Tensor gamma = testing::random_tensor({C}, 12, 0.5, 1.5), beta = testing::random_tensor({C}, 13);
    std::vector<int> axes(shape.size() - 1);
    for (std::size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int>(i);
    const Moments mo = moments(constant(x), axes);
    const Tensor want = batch_normalization(constant(x), mo.mean, mo.variance, constant(beta), constant(gamma), 1e-3).value();
    const FusedBatchNorm got = fused_batch_norm(constant(x), constant(gamma), constant(beta), 1e-3);
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(got.y.value().at(i) == doctest::Approx(want.at(i)).epsilon(1e-12));
    for (std::size_t c = 0; c < C; ++c) {
      CHECK(got.batch_mean.at(c) == doctest::Approx(mo.mean.value().at(c)).epsilon(1e-12));
      CHECK(got.batch_variance.at(c) == doctest::Approx(mo.variance.value().at(c)).epsilon(1e-12));
    }
    if (x.size() < 1000) {
      auto f = [](const std::vector<Var>& v) { return fused_batch_norm(v[0], v[1], v[2], 1e-3).y; };
      CHECK_GRADCHECK(f, (std::vector<Tensor>{x, gamma, beta}));
      auto plain = [](const std::vector<Var>& v) { return fused_batch_norm(v[0]).y; };  // no scale/offset
      CHECK_GRADCHECK(plain, {x});
    }
  }
  // float32, large enough to run in parallel: the same bits at 1 and 2 threads, forward and backward
  const Tensor x = testing::random_tensor({64, 14, 14, 32}, 21, -1, 2, DType::float32);
  const Tensor gamma = Tensor::full({32}, DType::float32, 1.5), dy = testing::random_tensor(x.shape(), 22, -1, 1, DType::float32);
  const int threads_before = num_threads();
  auto run = [&](int threads) {
    set_num_threads(threads);
    Var xv = parameter(x), gv = parameter(gamma);
    backward(fused_batch_norm(xv, gv).y, dy);
    return std::vector<Tensor>{fused_batch_norm(constant(x), constant(gamma)).y.value(), xv.grad(), gv.grad()};
  };
  const auto one = run(1), two = run(2);
  for (std::size_t k = 0; k < one.size(); ++k)
    CHECK(std::memcmp(one[k].raw_data(), two[k].raw_data(), one[k].nbytes()) == 0);
  {  // a short batch with many channels: split over channel chunks, still the same bits
    const Tensor wide = testing::random_tensor({100, 1000}, 23, -1, 2, DType::float32);
    set_num_threads(1);
    const Tensor a = fused_batch_norm(constant(wide)).y.value();
    set_num_threads(2);
    const Tensor b = fused_batch_norm(constant(wide)).y.value();
    CHECK(std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0);
    const Moments mo = moments(constant(wide.astype(DType::float64)), {0});
    const Tensor want = batch_normalization(constant(wide.astype(DType::float64)), mo.mean, mo.variance, Var(), Var(), 1e-3).value();
    CHECK(testing::max_abs_diff(a.astype(DType::float64), want) < 1e-5);
  }
  set_num_threads(threads_before);
  // errors name the argument and the shapes
  CHECK_THROWS_AS(fused_batch_norm(constant(x), constant(Tensor::ones({31}, DType::float32))), ShapeError);
  CHECK_THROWS_AS(fused_batch_norm(constant(x), constant(Tensor::ones({32}, DType::float64))), TypeError);
  CHECK_THROWS_AS(fused_batch_norm(constant(x), Var(), Var(), 0.0), ValueError);
  CHECK_THROWS_AS(fused_batch_norm(constant(Tensor::ones({1, 3}, DType::float32))), ValueError);
  CHECK_THROWS_AS(fused_batch_norm(constant(Tensor::ones({3}, DType::float32))), ShapeError);
}

TEST_CASE("split is the inverse of concat, with gradients") {
  const Tensor x = testing::random_tensor({3, 7, 2}, 8);
  const auto parts = split(constant(x), std::vector<std::size_t>{2, 4, 1}, 1);
  REQUIRE(parts.size() == 3);
  CHECK(parts[1].shape() == Shape{3, 4, 2});
  CHECK(testing::max_abs_diff(concat(parts, 1).value(), x) == 0.0);
  const auto halves = split(constant(testing::random_tensor({4, 6}, 1)), 3, -1);
  CHECK(halves.size() == 3);
  CHECK(halves[2].shape() == Shape{4, 2});
  auto f = [](const std::vector<Var>& v) {
    const auto p = split(v[0], std::vector<std::size_t>{2, 4, 1}, 1);
    return p[0] * 2.0 + sum(p[1], {1}, true) * p[2];
  };
  CHECK_GRADCHECK(f, {x});
  CHECK_THROWS_WITH_AS(split(constant(x), std::vector<std::size_t>{2, 4}, 1), doctest::Contains("[3,7,2]"), ShapeError);
  CHECK_THROWS_WITH_AS(split(constant(x), 2, 1), doctest::Contains("does not divide"), ValueError);
  CHECK_THROWS_AS(split(constant(x), 1, 5), ValueError);
}
