// Pooling, normalisation, dropout and flatten layers: values, gradients, modes, save/load.
#include "../testing.hpp"

#include <cmath>
#include <cstdio>
#include <unistd.h>

using namespace tapir;
namespace tfn = tapir::nn;

namespace {
std::string temp_npz(const char* stem) {
  return "/tmp/tapir_everyday_" + std::string(stem) + "_" + std::to_string(::getpid()) + ".npz";
}
}  // namespace

TEST_CASE("pooling layers wrap the ops and validate at construction") {
  const Var x = constant(testing::random_tensor({2, 6, 6, 3}, 1).astype(DType::float32));
  tfn::MaxPooling mp(2);
  CHECK(mp(x).shape() == Shape{2, 3, 3, 3});
  CHECK(testing::max_abs_diff(mp(x).value(), max_pool(x, 2).value()) == 0.0);
  tfn::AveragePooling ap(3, tfn::PoolingOptions().strides(2).padding("SAME"));
  CHECK(ap(x).shape() == Shape{2, 3, 3, 3});
  tfn::MaxPooling mp1(3, tfn::PoolingOptions().rank(1));
  CHECK(mp1(constant(Tensor::zeros({4, 9, 2}, DType::float32))).shape() == Shape{4, 3, 2});
  tfn::GlobalAveragePooling gap;
  CHECK(gap(x).shape() == Shape{2, 3});
  CHECK_THROWS_WITH_AS(tfn::MaxPooling(0), doctest::Contains("pool_size"), ValueError);
  CHECK_THROWS_WITH_AS(tfn::MaxPooling(2, tfn::PoolingOptions().strides(0)), doctest::Contains("strides"), ValueError);
  CHECK_THROWS_WITH_AS(tfn::AveragePooling(2, tfn::PoolingOptions().padding("CAUSAL")), doctest::Contains("padding"),
                       ValueError);
  CHECK_THROWS_WITH_AS(tfn::MaxPooling(2, tfn::PoolingOptions().rank(4)), doctest::Contains("rank"), ValueError);
  CHECK_THROWS_AS(tfn::GlobalAveragePooling(0), ValueError);
  CHECK(tfn::Flatten()(x).shape() == Shape{2, 108});
}

TEST_CASE("BatchNormalization: batch statistics in training, running statistics at inference") {
  tfn::BatchNormalization bn(3, tfn::NormalizationOptions().dtype(DType::float64).momentum(0.9).name("bn"));
  const Tensor x0 = testing::random_tensor({8, 4, 3}, 2, -1, 3);
  const Var y = bn(constant(x0));
  // training: each channel of y has mean 0 and variance var/(var+eps) ~ 1
  const Moments m = moments(y, {0, 1});
  for (std::size_t c = 0; c < 3; ++c) {
    CHECK(m.mean.value().at(c) == doctest::Approx(0.0).epsilon(1e-12));
    CHECK(m.variance.value().at(c) == doctest::Approx(1.0).epsilon(1e-2));
  }
  // running statistics moved by (1 - momentum) toward the batch's
  const Moments bx = moments(constant(x0), {0, 1});
  for (std::size_t c = 0; c < 3; ++c) {
    CHECK(bn.moving_mean().value().at(c) == doctest::Approx(0.1 * bx.mean.value().at(c)).epsilon(1e-12));
    CHECK(bn.moving_variance().value().at(c) == doctest::Approx(0.9 + 0.1 * bx.variance.value().at(c)).epsilon(1e-12));
  }
  CHECK(bn.trainable_variables().size() == 2);
  CHECK(bn.non_trainable_variables().size() == 2);
  // inference: the running statistics, and they do not move
  bn.eval();
  const Tensor before = bn.moving_mean().value().clone();
  const Tensor yi = bn(constant(x0)).value();
  CHECK(testing::max_abs_diff(bn.moving_mean().value(), before) == 0.0);
  const double expect = (x0.at(0) - before.at(0)) / std::sqrt(bn.moving_variance().value().at(0) + 1e-3);
  CHECK(yi.at(0) == doctest::Approx(expect).epsilon(1e-12));
  // gradients through the batch statistics (training mode), w.r.t. input, gamma and beta
  bn.train();
  tfn::BatchNormalization bn2(3, tfn::NormalizationOptions().dtype(DType::float64));
  auto g = [&](const std::vector<Var>& v) { return bn2(v[0]); };
  CHECK_GRADCHECK(g, {x0});
  // save/load round-trips the running statistics
  const std::string path = temp_npz("bn");
  bn.save(path);
  tfn::BatchNormalization restored(3, tfn::NormalizationOptions().dtype(DType::float64).name("bn"));
  restored.load(path);
  std::remove(path.c_str());
  CHECK(testing::max_abs_diff(restored.moving_variance().value(), bn.moving_variance().value()) == 0.0);
  restored.eval();
  bn.eval();
  CHECK(testing::max_abs_diff(restored(constant(x0)).value(), bn(constant(x0)).value()) == 0.0);
  // typed errors
  CHECK_THROWS_WITH_AS(bn(constant(Tensor::zeros({2, 4}, DType::float64))), doctest::Contains("3"), ShapeError);
  CHECK_THROWS_AS(bn(constant(Tensor::zeros({2, 3}, DType::float32))), TypeError);
  CHECK_THROWS_AS(tfn::BatchNormalization(0), ValueError);
  CHECK_THROWS_AS(tfn::BatchNormalization(3, tfn::NormalizationOptions().momentum(1.5)), ValueError);
  bn.train();
  CHECK_THROWS_AS(bn(constant(Tensor::zeros({1, 3}, DType::float64))), ValueError);
}

TEST_CASE("LayerNormalization normalises each example; gradients w.r.t. input and gamma/beta") {
  tfn::LayerNormalization ln(5, tfn::NormalizationOptions().dtype(DType::float64));
  const Tensor x = testing::random_tensor({3, 5}, 3, -2, 2);
  const Tensor y = ln(constant(x)).value();
  double s = 0;
  for (std::size_t i = 0; i < 5; ++i) s += y.at(i);
  CHECK(s == doctest::Approx(0.0).epsilon(1e-12));
  auto f = [&](const std::vector<Var>& v) { return ln(v[0]) * 3.0; };
  CHECK_GRADCHECK(f, {x});
  // gamma and beta receive gradients
  zero_grad(ln.trainable_variables());
  backward(sum(ln(constant(x)) * constant(testing::random_tensor({3, 5}, 4))));
  for (const auto& v : ln.trainable_variables()) CHECK(v.grad().defined());
  CHECK_THROWS_AS(ln(constant(Tensor::zeros({3, 4}, DType::float64))), ShapeError);
}

TEST_CASE("Dropout drops in training mode only, seeded, and obeys the model-wide switch") {
  auto drop = std::make_shared<tfn::Dropout>(0.5, tfn::DropoutOptions().seed(3).name("drop"));
  auto dense = std::make_shared<tfn::Affine>(4, 4, tfn::AffineOptions().seed(1));
  tfn::Sequential model(dense, drop);
  const Var x = constant(Tensor::ones({16, 4}, DType::float32));
  CHECK(model.training());
  const Tensor a = model(x).value(), b = model(x).value();
  CHECK(testing::max_abs_diff(a, b) > 0.0);  // a new mask every call
  std::size_t zeros = 0;
  for (std::size_t i = 0; i < a.size(); ++i) zeros += a.at(i) == 0.0;
  CHECK(zeros > 0);
  model.eval();
  CHECK(!drop->training());
  CHECK(testing::max_abs_diff(model(x).value(), (*dense)(x).value()) == 0.0);  // identity at inference
  model.train();
  CHECK(drop->training());
  // the same seed and counter give the same mask
  tfn::Dropout d1(0.3, tfn::DropoutOptions().seed(9).name("d")), d2(0.3, tfn::DropoutOptions().seed(9).name("d"));
  CHECK(testing::max_abs_diff(d1(x).value(), d2(x).value()) == 0.0);
  REQUIRE(d1.random_stream() != nullptr);
  CHECK(d1.random_stream()->counter() == 1);
  CHECK_THROWS_WITH_AS(tfn::Dropout(1.0), doctest::Contains("[0, 1)"), ValueError);
  CHECK_THROWS_AS(tfn::Dropout(-0.5), ValueError);
}
