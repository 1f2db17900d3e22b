// Normal and LogitNormal: closed forms at many points (float32 and float64), gradients by finite
// differences, sample moments and goodness of fit, deferred parameters, typed errors.
#include <cstring>

#include "stats.hpp"

using namespace tapir;
using testing::random_tensor;
using Ts = std::vector<Tensor>;
using Fn = std::function<Var(const std::vector<Var>&)>;

namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;

double normal_log_pdf(double x, double mu, double sigma) {
  const double z = (x - mu) / sigma;
  return -0.5 * z * z - std::log(sigma) - kHalfLog2Pi;
}

double tolerance(DType dt) { return dt == DType::float32 ? 2e-5 : 1e-12; }

}  // namespace

TEST_SUITE("distributions/normal") {

TEST_CASE("Normal::log_prob as one op (loc and scale of the value's shape or one element): values and gradients") {
  // the shapes the fused op takes — each parameter full or one element (of no more dims) — and,
  // for contrast, one that broadcasts (the composed ops): all against the closed form, and
  // every gradient by finite differences in float64
  struct Case { Shape x, loc, scale; };
  const Case cases[] = {{{5, 7}, {5, 7}, {5, 7}}, {{5, 7}, {}, {5, 7}}, {{5, 7}, {5, 7}, {1}},
                        {{5, 7}, {1, 1}, {}},     {{1}, {}, {1}},        {{2, 3}, {3}, {2, 3}}};
  for (const Case& c : cases) {
    CAPTURE(shape_str(c.x)); CAPTURE(shape_str(c.loc)); CAPTURE(shape_str(c.scale));
    const Tensor x = random_tensor(c.x, 11, -4.0, 4.0), loc = random_tensor(c.loc, 12, -1.0, 1.0),
                 scale = random_tensor(c.scale, 13, 0.4, 2.5);
    for (DType dt : {DType::float32, DType::float64}) {
      const Tensor lp = tfd::Normal(constant(loc.astype(dt)), constant(scale.astype(dt)))
                            .log_prob(constant(x.astype(dt))).value();
      REQUIRE(lp.shape() == c.x);
      for (std::size_t i = 0; i < x.size(); ++i) {
        const std::size_t col = i % c.x.back();
        const double mu = loc.size() == 1 ? loc.at(0) : loc.at(loc.size() == x.size() ? i : col);
        const double sigma = scale.size() == 1 ? scale.at(0) : scale.at(i);
        CHECK(lp.at(i) == doctest::Approx(normal_log_pdf(x.at(i), mu, sigma)).epsilon(tolerance(dt)));
      }
    }
    Fn fn = [](const std::vector<Var>& v) { return sum(tfd::Normal(v[1], v[2]).log_prob(v[0]) * v[0]); };
    CHECK_GRADCHECK(fn, (Ts{x, loc, scale}));
  }
}

TEST_CASE("Normal: log_prob, prob, cdf, log_cdf and moments against closed forms, with broadcasting") {
  const Tensor loc = random_tensor({4}, 1, -2.0, 2.0);
  const Tensor scale = random_tensor({3, 1}, 2, 0.3, 3.0);
  const Tensor x = random_tensor({7, 3, 4}, 3, -6.0, 6.0);
  for (DType dt : {DType::float32, DType::float64}) {
    CAPTURE(dtype_name(dt));
    tfd::Normal n(constant(loc.astype(dt)), constant(scale.astype(dt)));
    CHECK(n.batch_shape() == Shape{3, 4});
    CHECK(n.event_shape() == Shape{});
    CHECK(n.dtype() == dt);
    const Var xv = constant(x.astype(dt));
    const Tensor lp = n.log_prob(xv).value(), p = n.prob(xv).value(), c = n.cdf(xv).value(),
                 lc = n.log_cdf(xv).value();
    REQUIRE(lp.shape() == Shape{7, 3, 4});
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double mu = loc.at(i % 4), sigma = scale.at((i / 4) % 3), xi = x.astype(dt).at(i);
      const double z = (xi - mu) / sigma;
      CHECK(lp.at(i) == doctest::Approx(normal_log_pdf(xi, mu, sigma)).epsilon(tolerance(dt)));
      CHECK(p.at(i) == doctest::Approx(std::exp(normal_log_pdf(xi, mu, sigma))).epsilon(tolerance(dt)));
      CHECK(c.at(i) == doctest::Approx(stats::normal_cdf(z)).epsilon(tolerance(dt)));
      CHECK(lc.at(i) == doctest::Approx(std::log(stats::normal_cdf(z))).epsilon(tolerance(dt)));
    }
    const Tensor mean = n.mean().value(), var = n.variance().value(), sd = n.stddev().value(),
                 ent = n.entropy().value();
    REQUIRE(ent.shape() == Shape{3, 4});
    for (std::size_t i = 0; i < 12; ++i) {
      const double mu = loc.at(i % 4), sigma = scale.at(i / 4);
      CHECK(mean.at(i) == doctest::Approx(mu).epsilon(tolerance(dt)));
      CHECK(var.at(i) == doctest::Approx(sigma * sigma).epsilon(tolerance(dt)));
      CHECK(sd.at(i) == doctest::Approx(sigma).epsilon(tolerance(dt)));
      CHECK(ent.at(i) == doctest::Approx(0.5 * std::log(2 * M_PI * M_E * sigma * sigma)).epsilon(tolerance(dt)));
    }
  }
}

TEST_CASE("Normal: log_cdf stays finite and accurate deep in the lower tail") {
  tfd::Normal n(0.0, 1.0, DType::float64);
  const Var x = parameter(Tensor::from_vector<double>({6}, {-30.0, -20.0000001, -19.9999999, -100.0, 8.0, 40.0}));
  const Var lc = n.log_cdf(x);
  CHECK(lc.value().at(0) == doctest::Approx(std::log(0.5 * std::erfc(30.0 / std::sqrt(2.0)))).epsilon(1e-10));
  CHECK(lc.value().at(1) == doctest::Approx(lc.value().at(2)).epsilon(1e-7));  // continuous at the switch
  // asymptotic: log Φ(z) = -z²/2 - log(-z) - log √(2π) + log(1 - 1/z² + ...)
  CHECK(lc.value().at(3) == doctest::Approx(-5000.0 - std::log(100.0) - kHalfLog2Pi + std::log1p(-1e-4 + 3e-8)).epsilon(1e-12));
  CHECK(lc.value().at(4) == doctest::Approx(std::log1p(-0.5 * std::erfc(8.0 / std::sqrt(2.0)))).epsilon(1e-12));
  CHECK(lc.value().at(5) == 0.0);
  backward(sum(lc));
  for (std::size_t i = 0; i < 6; ++i) CHECK(std::isfinite(x.grad().at(i)));
  CHECK(x.grad().at(3) == doctest::Approx(100.0).epsilon(1e-3));  // φ/Φ ~ -z in the tail
  CHECK_GRADCHECK([](auto& v) { return tfd::Normal(0.0, 1.0, DType::float64).log_cdf(v[0]); },
                  Ts{Tensor::from_vector<double>({5}, {-45.0, -19.0, -3.0, 0.5, 6.0})});
}

TEST_CASE("Normal: gradcheck of log_prob, cdf, entropy, moments and the reparameterized sample") {
  const Ts in{random_tensor({3}, 11, -1.0, 1.0), random_tensor({2, 1}, 12, 0.5, 2.0), random_tensor({4, 2, 3}, 13, -3.0, 3.0)};
  const std::vector<std::pair<const char*, Fn>> fns{
      {"log_prob", [](auto& v) { return tfd::Normal(v[0], v[1]).log_prob(v[2]); }},
      {"cdf", [](auto& v) { return tfd::Normal(v[0], v[1]).cdf(v[2]); }},
      {"entropy", [](auto& v) { return tfd::Normal(v[0], v[1]).entropy() + v[2] * 0.0; }},
      {"mean+variance", [](auto& v) { return tfd::Normal(v[0], v[1]).mean() * tfd::Normal(v[0], v[1]).variance() + sum(v[2]); }},
      {"stddev", [](auto& v) { return tfd::Normal(v[0], v[1]).stddev() + sum(v[2]); }},
      {"sample", [](auto& v) { return tfd::Normal(v[0], v[1]).sample({5}, RandomStream(5, "gc")) + sum(v[2]); }},
      {"log_prob(sample)", [](auto& v) {
         tfd::Normal n(v[0], v[1]);
         return n.log_prob(n.sample({4}, RandomStream(6, "gc"))) + sum(v[2]);
       }},
  };
  for (const auto& [name, fn] : fns) {
    CAPTURE(name);
    CHECK_GRADCHECK(fn, in);
  }
}

TEST_CASE("Normal: a sample is loc + scale * eps with eps from the stream") {
  const Var loc = constant(Tensor::from_vector<double>({2}, {1.0, -2.0}));
  const Var scale = constant(Tensor::from_vector<double>({2}, {0.5, 3.0}));
  tfd::Normal n(loc, scale);
  const RandomStream stream(77, "normal");
  const Var s = n.sample({3}, stream);
  REQUIRE(s.shape() == Shape{3, 2});
  const Tensor eps = random::normal({3, 2}, DType::float64, stream);
  for (std::size_t i = 0; i < 6; ++i)
    CHECK(s.value().at(i) == doctest::Approx(loc.value().at(i % 2) + scale.value().at(i % 2) * eps.at(i)).epsilon(1e-15));
  CHECK(n.is_reparameterized());
  // the same stream gives the same sample, another stream another one
  CHECK(n.sample({3}, stream).value().to_vector<double>() == s.value().to_vector<double>());
  CHECK(n.sample({3}, RandomStream(78, "normal")).value().at(0) != s.value().at(0));
}

TEST_CASE("Normal: sample moments (4 standard errors) and Kolmogorov–Smirnov at 10^6 draws") {
  const std::size_t n = 1000000;
  for (DType dt : {DType::float64, DType::float32}) {
    CAPTURE(dtype_name(dt));
    tfd::Normal normal(constant(Tensor::from_vector<double>({2}, {1.5, -4.0}).astype(dt)),
                       constant(Tensor::from_vector<double>({2}, {0.5, 3.0}).astype(dt)));
    const auto draws = stats::to_doubles(normal.sample({n / 2}, RandomStream(8, "moments")).value());
    const double locs[2] = {1.5, -4.0}, scales[2] = {0.5, 3.0};
    for (std::size_t b = 0; b < 2; ++b) {
      std::vector<double> col, standardised;
      for (std::size_t i = b; i < draws.size(); i += 2) {
        col.push_back(draws[i]);
        standardised.push_back((draws[i] - locs[b]) / scales[b]);
      }
      const double se = scales[b] / std::sqrt(double(col.size()));
      CHECK(std::fabs(stats::mean(col) - locs[b]) < 4 * se);
      CHECK(std::fabs(stats::variance(col) - scales[b] * scales[b]) < 4 * stats::variance_standard_error(col));
      CHECK(stats::ks_statistic(standardised, stats::normal_cdf) < stats::ks_critical(standardised.size()));
    }
  }
}

TEST_CASE("Normal: identical sample bits at 1 and 2 threads; different salts differ") {
  const int before = num_threads();
  tfd::Normal n(constant(random_tensor({300, 257}, 9, -1.0, 1.0, DType::float32)),
                constant(random_tensor({257}, 10, 0.5, 2.0, DType::float32)));
  set_num_threads(1);
  const Tensor one = n.sample({2}, SeedStream(123, "layer").next()).value();
  set_num_threads(2);
  const Tensor two = n.sample({2}, SeedStream(123, "layer").next()).value();
  set_num_threads(before);
  CHECK(std::memcmp(one.raw_data(), two.raw_data(), one.nbytes()) == 0);
  const Tensor other = n.sample({2}, SeedStream(123, "other_layer").next()).value();
  std::size_t same = 0;
  for (std::size_t i = 0; i < one.size(); ++i) same += one.at(i) == other.at(i);
  CHECK(same < 10);
}

TEST_CASE("Normal: a deferred scale is recomputed after every backward") {
  const Var loc = parameter(Tensor::from_vector<double>({3}, {0.1, -0.2, 0.3}), "loc");
  Var rho = parameter(Tensor::from_vector<double>({3}, {-1.0, 0.0, 2.0}), "rho");
  tfd::Normal n(loc, [rho] { return softplus(rho) + 1e-5; });
  const Var x = constant(Tensor::from_vector<double>({3}, {0.5, 0.5, -1.0}));
  for (int step = 0; step < 3; ++step) {
    zero_grad({loc, rho});
    backward(sum(n.log_prob(x)));  // would throw "already freed" if scale were a stale graph
    tfd::Normal fresh(loc, softplus(rho) + 1e-5);
    zero_grad({loc, rho});
    backward(sum(fresh.log_prob(x)));
    const Tensor expected = rho.grad().clone();
    zero_grad({loc, rho});
    backward(sum(n.log_prob(x)));
    CHECK(testing::max_abs_diff(rho.grad(), expected) < 1e-14);
    rho.mutable_value().data<double>()[0] += 0.5;  // an optimizer step
  }
  CHECK(n.scale().value().at(0) == doctest::Approx(std::log1p(std::exp(0.5)) + 1e-5));
  int calls = 0;
  tfd::DeferredVar changing([&calls] {
    return constant(Tensor::zeros({static_cast<std::size_t>(1 + calls++)}, DType::float64));
  });
  CHECK_THROWS_AS(changing.get(), ShapeError);
}

TEST_CASE("DeferredVar::EvaluateOnce: one node per deferred parameter and gradient mode, gradients as with separate nodes, recomputed after a backward") {
  const Var loc = parameter(Tensor::from_vector<double>({3}, {0.1, -0.2, 0.3}), "loc");
  const Var rho = parameter(Tensor::from_vector<double>({3}, {-1.0, 0.0, 2.0}), "rho");
  int calls = 0;
  tfd::Normal n(loc, [rho, &calls] { ++calls; return softplus(rho) + 1e-5; });
  const Var x = constant(Tensor::from_vector<double>({3}, {0.5, 0.5, -1.0}));
  // three uses of the scale, as a variational layer's call makes: a draw, a product, a log-density
  auto loss = [&] {
    const Var draw = n.sample({}, RandomStream(5, "once"));
    return sum(n.log_prob(draw)) + sum(n.scale() * x) + sum(square(draw));
  };
  zero_grad({loc, rho});
  calls = 0;
  backward(loss());
  CHECK(calls == 3);  // no scope: a node per use
  const Tensor separate = rho.grad().clone(), separate_loc = loc.grad().clone();
  zero_grad({loc, rho});
  calls = 0;
  {
    tfd::DeferredVar::EvaluateOnce once;
    CHECK(n.scale().impl() == n.scale().impl());
    const VarImpl* outer_value = n.scale().impl();
    {
      tfd::DeferredVar::EvaluateOnce inner;  // its own values, the outer ones back on exit
      CHECK(n.scale().impl() == n.scale().impl());
      CHECK(n.scale().impl() != outer_value);
    }
    CHECK(n.scale().impl() == outer_value);
    calls = 0;
    backward(loss());
    CHECK(calls == 0);  // computed once above
    // that backward freed the scale's graph: the next use inside the scope recomputes it
    const Var again = n.scale();
    CHECK(calls == 1);
    CHECK(again.impl() != outer_value);
    CHECK(n.scale().impl() == again.impl());
  }
  CHECK(testing::max_abs_diff(rho.grad(), separate) < 1e-13);
  CHECK(testing::max_abs_diff(loc.grad(), separate_loc) < 1e-13);
  // the gradient mode is part of the key: a value computed without recording is not reused
  // where a gradient is wanted
  {
    tfd::DeferredVar::EvaluateOnce once;
    Var untracked;
    {
      NoGradGuard no_grad;
      untracked = n.scale();
    }
    const Var tracked = n.scale();
    CHECK_FALSE(untracked.requires_grad());
    CHECK(tracked.requires_grad());
  }
  calls = 0;
  CHECK(n.scale().impl() != n.scale().impl());  // the scope is over
  CHECK(calls == 2);
}

TEST_CASE("Normal: invalid parameters are typed errors naming the values") {
  const Var loc = constant(Tensor::zeros({4}, DType::float64));
  const Var bad_scale = constant(Tensor::from_vector<double>({4}, {1.0, -0.5, 2.0, 0.0}));
  CHECK_THROWS_WITH_AS((void)tfd::Normal(loc, bad_scale, true, "prior"),
                       doctest::Contains("scale[1] = -0.5, scale[3] = 0"), ValueError);
  CHECK_THROWS_WITH_AS((void)tfd::Normal(loc, bad_scale, true, "prior"), doctest::Contains("Normal 'prior'"), ValueError);
  CHECK_NOTHROW((void)tfd::Normal(loc, bad_scale));  // unchecked unless validate_args
  CHECK_THROWS_WITH_AS((void)tfd::Normal(loc, constant(Tensor::ones({3}, DType::float64))),
                       doctest::Contains("loc of shape [4] and scale of shape [3]"), ShapeError);
  CHECK_THROWS_AS((void)tfd::Normal(loc, constant(Tensor::ones({4}, DType::float32))), TypeError);
  tfd::Normal n(loc, constant(Tensor::ones({4}, DType::float64)));
  CHECK_THROWS_WITH_AS(n.log_prob(constant(Tensor::zeros({5}, DType::float64))),
                       doctest::Contains("[5]"), ShapeError);
  CHECK_THROWS_AS(n.log_prob(constant(Tensor::zeros({4}, DType::float32))), TypeError);
  CHECK_THROWS_AS((void)tfd::Normal(0.0, -1.0, DType::float32, true), ValueError);
}

TEST_CASE("LogitNormal: log_prob with the Jacobian term, against the closed form, near 0 and 1") {
  const double loc = 0.3, scale = 1.7;
  for (DType dt : {DType::float32, DType::float64}) {
    CAPTURE(dtype_name(dt));
    tfd::LogitNormal d(loc, scale, dt);
    std::vector<double> ys;
    for (int i = 1; i < 50; ++i) ys.push_back(i / 50.0);
    for (double y : {1e-30, 1e-12, 1e-6, 1.0 - 1e-6}) ys.push_back(y);
    ys.push_back(dt == DType::float32 ? 1.0 - 0x1p-24 : 1.0 - 0x1p-53);  // the largest value below 1
    const Tensor y = Tensor::from_vector<double>({ys.size()}, ys).astype(dt);
    const Tensor lp = d.log_prob(constant(y)).value(), c = d.cdf(constant(y)).value();
    for (std::size_t i = 0; i < ys.size(); ++i) {
      const double yi = y.at(i);
      CAPTURE(yi);
      const double logit = std::log(yi) - std::log1p(-yi);
      const double expected = normal_log_pdf(logit, loc, scale) - std::log(yi) - std::log1p(-yi);
      CHECK(std::isfinite(lp.at(i)));
      CHECK(lp.at(i) == doctest::Approx(expected).epsilon(dt == DType::float32 ? 1e-4 : 1e-11));
      CHECK(c.at(i) == doctest::Approx(stats::normal_cdf((logit - loc) / scale)).epsilon(dt == DType::float32 ? 1e-4 : 1e-11));
    }
  }
}

TEST_CASE("LogitNormal: outside (0, 1) the log density is -inf with a zero (not NaN) gradient") {
  tfd::LogitNormal d(parameter(Tensor::scalar(0.2, DType::float64)), parameter(Tensor::scalar(0.9, DType::float64)));
  const Var y = parameter(Tensor::from_vector<double>({5}, {0.0, 1.0, -0.5, 1.5, 0.25}));
  const Var lp = d.log_prob(y);
  for (std::size_t i = 0; i < 4; ++i) CHECK(lp.value().at(i) == -INFINITY);
  CHECK(std::isfinite(lp.value().at(4)));
  backward(sum(where(constant(Tensor::from_vector<double>({5}, {0, 0, 0, 0, 1})), lp,
                     constant(Tensor::scalar(0.0, DType::float64)))));
  for (std::size_t i = 0; i < 5; ++i) CHECK(std::isfinite(y.grad().at(i)));
  CHECK(y.grad().at(0) == 0.0);
  CHECK(d.cdf(constant(Tensor::from_vector<double>({3}, {-1.0, 0.0, 2.0}))).value().to_vector<double>() ==
        std::vector<double>{0.0, 0.0, 1.0});
  tfd::LogitNormal checked(0.0, 1.0, DType::float64, true, "decoder");
  CHECK_THROWS_WITH_AS(checked.log_prob(constant(Tensor::from_vector<double>({2}, {0.5, 1.0}))),
                       doctest::Contains("value[1] = 1"), ValueError);
  CHECK_THROWS_AS((void)tfd::LogitNormal(0.0, 0.0, DType::float64, true), ValueError);
  CHECK_THROWS_AS(checked.mean(), NotImplementedError);
}

TEST_CASE("LogitNormal: gradcheck and samples whose logits are Normal") {
  const Ts in{random_tensor({3}, 21, -1.0, 1.0), random_tensor({3}, 22, 0.5, 2.0), random_tensor({2, 3}, 23, 0.05, 0.95)};
  CHECK_GRADCHECK([](auto& v) { return tfd::LogitNormal(v[0], v[1]).log_prob(v[2]); }, in);
  CHECK_GRADCHECK([](auto& v) { return tfd::LogitNormal(v[0], v[1]).cdf(v[2]); }, in);
  CHECK_GRADCHECK([](auto& v) { return tfd::LogitNormal(v[0], v[1]).sample({2}, RandomStream(4, "ln")) + sum(v[2]); }, in);
  // the one-op log density (loc and scale of the value's shape or one element), every gradient
  const Ts fused_full_loc{random_tensor({2, 3}, 25, -1.0, 1.0), random_tensor({}, 26, 0.5, 2.0), in[2]};
  const Ts fused_full_scale{random_tensor({1}, 27, -1.0, 1.0), random_tensor({2, 3}, 28, 0.5, 2.0), in[2]};
  for (const Ts& args : {fused_full_loc, fused_full_scale}) {
    CHECK_GRADCHECK([](auto& v) { return tfd::LogitNormal(v[0], v[1]).log_prob(v[2]) * v[2]; }, args);
    const Tensor lp = tfd::LogitNormal(constant(args[0]), constant(args[1])).log_prob(constant(args[2])).value();
    for (std::size_t i = 0; i < lp.size(); ++i) {
      const double y = args[2].at(i), mu = args[0].size() == 1 ? args[0].at(0) : args[0].at(i),
                   sigma = args[1].size() == 1 ? args[1].at(0) : args[1].at(i);
      const double logit = std::log(y) - std::log1p(-y);
      CHECK(lp.at(i) == doctest::Approx(normal_log_pdf(logit, mu, sigma) - std::log(y) - std::log1p(-y)).epsilon(1e-12));
    }
  }
  tfd::LogitNormal d(-0.4, 0.8, DType::float64);
  const auto y = stats::to_doubles(d.sample({200000}, RandomStream(24, "ln")).value());
  std::vector<double> z;
  for (double v : y) {
    REQUIRE((v > 0 && v < 1));
    z.push_back((std::log(v) - std::log1p(-v) + 0.4) / 0.8);
  }
  CHECK(stats::ks_statistic(z, stats::normal_cdf) < stats::ks_critical(z.size()));
  CHECK(d.is_reparameterized());
}

}  // TEST_SUITE
