#include "helpers.hpp"

#include <cmath>

using namespace tapir;
using namespace optim_testing;
namespace opt = tapir::optim;

namespace {
const double kPi = std::acos(-1.0);
}

TEST_SUITE("optim/schedules") {

TEST_CASE("constant, step and exponential decay equal their formulas") {
  CHECK(opt::constant_schedule()(0) == 1.0);
  CHECK(opt::constant_schedule(0.3)(1000) == 0.3);

  const auto step = opt::step_decay(10, 0.5);
  CHECK(step(0) == 1.0);
  CHECK(step(9) == 1.0);
  CHECK(step(10) == 0.5);
  CHECK(step(29) == 0.25);
  CHECK(step(30) == 0.125);

  const auto expo = opt::exponential_decay(100, 0.1);
  CHECK(expo(0) == 1.0);
  CHECK(expo(50) == doctest::Approx(std::pow(0.1, 0.5)).epsilon(1e-15));
  CHECK(expo(250) == doctest::Approx(std::pow(0.1, 2.5)).epsilon(1e-15));
  const auto stair = opt::exponential_decay(100, 0.1, /*staircase=*/true);
  CHECK(stair(99) == 1.0);
  CHECK(stair(250) == doctest::Approx(0.01).epsilon(1e-15));
}

TEST_CASE("cosine decay with linear warm-up") {
  const auto cos_only = opt::cosine_decay(100, 0.1);
  CHECK(cos_only(0) == 1.0);
  CHECK(cos_only(50) == doctest::Approx(0.1 + 0.9 * 0.5).epsilon(1e-15));
  CHECK(cos_only(25) == doctest::Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(kPi / 4))).epsilon(1e-15));
  CHECK(cos_only(100) == doctest::Approx(0.1).epsilon(1e-15));
  CHECK(cos_only(1000) == doctest::Approx(0.1).epsilon(1e-15));  // stays at alpha

  const auto warm = opt::cosine_decay(100, 0.0, /*warmup_steps=*/10);
  CHECK(warm(0) == 0.0);
  CHECK(warm(5) == doctest::Approx(0.5));
  CHECK(warm(10) == 1.0);
  CHECK(warm(60) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(warm(110) == doctest::Approx(0.0));
}

TEST_CASE("halflife_decay follows TFP: final + (initial - final) * 0.5^(step / half_life)") {
  const auto h = opt::halflife_decay(100);
  CHECK(h(0) == 1.0);
  CHECK(h(100) == 0.5);
  CHECK(h(300) == 0.125);
  CHECK(h(50) == doctest::Approx(std::sqrt(0.5)).epsilon(1e-15));
  const auto hf = opt::halflife_decay(10, /*initial=*/2.0, /*final=*/0.5);
  CHECK(hf(0) == 2.0);
  CHECK(hf(10) == doctest::Approx(0.5 + 1.5 * 0.5).epsilon(1e-15));
  CHECK(hf(1000) == doctest::Approx(0.5).epsilon(1e-12));

  const auto warm = opt::linear_warmup(4, opt::halflife_decay(10, 2.0), /*start=*/0.4);
  CHECK(warm(0) == doctest::Approx(0.4));
  CHECK(warm(2) == doctest::Approx(0.4 + (2.0 - 0.4) * 0.5));
  CHECK(warm(4) == 2.0);
  CHECK(warm(14) == doctest::Approx(1.0));
}

TEST_CASE("bad schedule arguments are rejected") {
  CHECK_THROWS_WITH_AS(opt::step_decay(0), doctest::Contains("step_size"), ValueError);
  CHECK_THROWS_WITH_AS(opt::exponential_decay(10, -0.5), doctest::Contains("decay_rate"), ValueError);
  CHECK_THROWS_WITH_AS(opt::cosine_decay(10, 1.5), doctest::Contains("alpha"), ValueError);
  CHECK_THROWS_WITH_AS(opt::halflife_decay(0), doctest::Contains("half_life"), ValueError);
  CHECK_THROWS_WITH_AS(opt::linear_warmup(5, opt::Schedule()), doctest::Contains("empty"), ValueError);
  CHECK_THROWS_AS(opt::halflife_decay(10)(-1), ValueError);
}

TEST_CASE("an optimizer multiplies each group's rate by schedule(step_count)") {
  Var a = parameter(tensor({0.0}), "a");
  Var b = parameter(tensor({0.0}), "b");
  opt::SGD sgd({a}, opt::SGDOptions().learning_rate(1.0));
  sgd.add_param_group({b}, sgd.defaults().learning_rate(0.1));
  sgd.set_schedule(opt::step_decay(1, 0.5));  // factors 1, 0.5, 0.25, ...
  double expect_a = 0, expect_b = 0;
  for (int t = 0; t < 4; ++t) {
    CHECK(sgd.lr_factor() == std::pow(0.5, t));
    CHECK(sgd.learning_rate(1) == doctest::Approx(0.1 * std::pow(0.5, t)));
    set_grad(a, {1.0});
    set_grad(b, {1.0});
    sgd.step();
    expect_a -= 1.0 * std::pow(0.5, t);
    expect_b -= 0.1 * std::pow(0.5, t);
  }
  CHECK(values(a)[0] == doctest::Approx(expect_a));
  CHECK(values(b)[0] == doctest::Approx(expect_b));
  CHECK(sgd.step_count() == 4);

  sgd.set_schedule([](std::int64_t) { return -1.0; });
  CHECK_THROWS_WITH_AS(sgd.step(), doctest::Contains("schedule returned -1"), ValueError);
  CHECK(values(a)[0] == doctest::Approx(expect_a));
}

}  // TEST_SUITE
