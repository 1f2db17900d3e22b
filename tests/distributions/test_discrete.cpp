// Categorical, Bernoulli and Rademacher: closed forms, stability in the logits, sample
// frequencies, gradients, typed errors.
#include "stats.hpp"

using namespace tapir;
using testing::random_tensor;
using Ts = std::vector<Tensor>;

namespace {

// Frequencies of the values 0..k-1 in x.
std::vector<double> frequencies(const std::vector<double>& x, std::size_t k) {
  std::vector<double> f(k, 0.0);
  for (double v : x) f.at(static_cast<std::size_t>(v)) += 1.0 / static_cast<double>(x.size());
  return f;
}

double softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }

}  // namespace

TEST_SUITE("distributions/discrete") {

TEST_CASE("Categorical: log_prob, probs and entropy against log-softmax, from logits and from probs") {
  const Tensor logits = random_tensor({2, 4}, 1, -2.0, 2.0);
  for (DType dt : {DType::float32, DType::float64}) {
    CAPTURE(dtype_name(dt));
    const double tol = dt == DType::float32 ? 1e-5 : 1e-13;
    std::vector<double> log_p(8), p(8);
    for (std::size_t r = 0; r < 2; ++r) {
      double norm = 0;
      for (std::size_t k = 0; k < 4; ++k) norm += std::exp(logits.at(r * 4 + k));
      for (std::size_t k = 0; k < 4; ++k) {
        log_p[r * 4 + k] = logits.at(r * 4 + k) - std::log(norm);
        p[r * 4 + k] = std::exp(log_p[r * 4 + k]);
      }
    }
    tfd::Categorical from_logits(tfd::Logits{constant(logits.astype(dt))});
    tfd::Categorical from_probs(tfd::Probs{constant(Tensor::from_vector<double>({2, 4}, p).astype(dt))}, true);
    for (const tfd::Categorical* c : {&from_logits, &from_probs}) {
      CHECK(c->batch_shape() == Shape{2});
      CHECK(c->num_categories() == 4);
      // every class at each batch row, with a sample dim in front: value shape [4, 2]
      std::vector<double> classes;
      for (std::size_t k = 0; k < 4; ++k) {
        classes.push_back(double(k));
        classes.push_back(double(3 - k));
      }
      const Tensor lp = c->log_prob(constant(Tensor::from_vector<double>({4, 2}, classes).astype(dt))).value();
      REQUIRE(lp.shape() == Shape{4, 2});
      for (std::size_t k = 0; k < 4; ++k) {
        CHECK(lp.at(k * 2 + 0) == doctest::Approx(log_p[0 * 4 + k]).epsilon(tol));
        CHECK(lp.at(k * 2 + 1) == doctest::Approx(log_p[1 * 4 + 3 - k]).epsilon(tol));
      }
      const Tensor probs = c->probs().value(), ent = c->entropy().value();
      for (std::size_t i = 0; i < 8; ++i) CHECK(probs.at(i) == doctest::Approx(p[i]).epsilon(tol));
      for (std::size_t r = 0; r < 2; ++r) {
        double h = 0;
        for (std::size_t k = 0; k < 4; ++k) h -= p[r * 4 + k] * log_p[r * 4 + k];
        CHECK(ent.at(r) == doctest::Approx(h).epsilon(tol));
      }
    }
  }
}

TEST_CASE("Categorical: zero probabilities give -inf for that class only, and a finite entropy") {
  const Var probs = parameter(Tensor::from_vector<double>({3}, {0.25, 0.0, 0.75}));
  tfd::Categorical c(tfd::Probs{probs});
  const Tensor lp = c.log_prob(constant(Tensor::from_vector<double>({3}, {0, 1, 2}))).value();
  CHECK(lp.at(0) == doctest::Approx(std::log(0.25)));
  CHECK(lp.at(1) == -INFINITY);
  CHECK(lp.at(2) == doctest::Approx(std::log(0.75)));
  const Var h = c.entropy();
  CHECK(h.item() == doctest::Approx(-(0.25 * std::log(0.25) + 0.75 * std::log(0.75))));
  backward(h);
  for (std::size_t i = 0; i < 3; ++i) CHECK(std::isfinite(probs.grad().at(i)));
  const auto draws = stats::to_doubles(c.sample({20000}, RandomStream(1, "zero")).value());
  CHECK(frequencies(draws, 3)[1] == 0.0);
}

TEST_CASE("Categorical: sample frequencies within 4 standard errors at 10^6 draws") {
  const std::vector<double> p{0.1, 0.6, 0.3, 0.0, 0.5, 0.5};
  tfd::Categorical c(tfd::Probs{constant(Tensor::from_vector<double>({2, 3}, p))});
  const std::size_t n = 500000;
  const Tensor s = c.sample({n}, RandomStream(2, "categorical")).value();
  REQUIRE(s.shape() == Shape{n, 2});
  const auto draws = stats::to_doubles(s);
  for (std::size_t r = 0; r < 2; ++r) {
    std::vector<double> row;
    for (std::size_t i = r; i < draws.size(); i += 2) row.push_back(draws[i]);
    const auto f = frequencies(row, 3);
    for (std::size_t k = 0; k < 3; ++k) {
      const double pk = p[r * 3 + k];
      CAPTURE(r);
      CAPTURE(k);
      CHECK(std::fabs(f[k] - pk) <= 4 * std::sqrt(pk * (1 - pk) / n));
    }
  }
  tfd::Categorical from_logits(tfd::Logits{constant(Tensor::from_vector<float>({3}, {0.f, 2.f, -1.f}))});
  const Tensor s32 = from_logits.sample({100000}, RandomStream(3, "categorical")).value();
  CHECK(s32.dtype() == DType::float32);
  const auto f = frequencies(stats::to_doubles(s32), 3);
  const double z = 1 + std::exp(2.0) + std::exp(-1.0);
  CHECK(std::fabs(f[1] - std::exp(2.0) / z) < 4 * std::sqrt(0.25 / 1e5));
}

TEST_CASE("Categorical: gradcheck of log_prob and entropy") {
  const Tensor classes = Tensor::from_vector<double>({3, 2}, {0, 2, 1, 1, 2, 0});
  CHECK_GRADCHECK([=](auto& v) { return tfd::Categorical(tfd::Logits{v[0]}).log_prob(constant(classes)); },
                  Ts{random_tensor({2, 3}, 5)});
  CHECK_GRADCHECK([=](auto& v) { return tfd::Categorical(tfd::Probs{v[0]}).log_prob(constant(classes)); },
                  Ts{random_tensor({2, 3}, 6, 0.1, 1.0)});
  CHECK_GRADCHECK([](auto& v) { return tfd::Categorical(tfd::Logits{v[0]}).entropy(); }, Ts{random_tensor({2, 3}, 7)});
  CHECK_GRADCHECK([](auto& v) { return tfd::Categorical(tfd::Probs{v[0]}).entropy(); }, Ts{random_tensor({2, 3}, 8, 0.1, 1.0)});
}

TEST_CASE("Categorical: invalid probabilities and class indices are typed errors naming values") {
  const Var rows = constant(Tensor::from_vector<double>({2, 2}, {0.5, 0.5, 0.3, 0.4}));
  CHECK_THROWS_WITH_AS((void)tfd::Categorical(tfd::Probs{rows}, true, "mix"),
                       doctest::Contains("sum(probs, axis=-1)[1] = 0.7"), ValueError);
  CHECK_NOTHROW((void)tfd::Categorical(tfd::Probs{rows}));
  CHECK_THROWS_WITH_AS(
      (void)tfd::Categorical(tfd::Probs{constant(Tensor::from_vector<double>({3}, {1.2, -0.2, 0.0}))}, true),
      doctest::Contains("probs[1] = -0.2"), ValueError);
  CHECK_THROWS_AS((void)tfd::Categorical(tfd::Logits{constant(Tensor::scalar(1.0, DType::float64))}), ShapeError);
  tfd::Categorical c(tfd::Logits{constant(Tensor::zeros({3}, DType::float64))});
  CHECK_THROWS_WITH_AS(c.log_prob(constant(Tensor::from_vector<double>({2}, {1.0, 3.0}))),
                       doctest::Contains("value[1] = 3"), ValueError);
  CHECK_THROWS_AS(c.log_prob(constant(Tensor::from_vector<double>({1}, {0.5}))), ValueError);
  CHECK_THROWS_AS(c.mean(), NotImplementedError);
}

TEST_CASE("Bernoulli: log_prob, moments and entropy against closed forms; exact at extreme logits") {
  const std::vector<double> logits{-1e4, -50.0, -3.0, -0.5, 0.0, 0.7, 4.0, 50.0, 1e4};
  for (DType dt : {DType::float32, DType::float64}) {
    CAPTURE(dtype_name(dt));
    const double tol = dt == DType::float32 ? 1e-5 : 1e-13;
    const Var l = constant(Tensor::from_vector<double>({logits.size()}, logits).astype(dt));
    tfd::Bernoulli b(tfd::Logits{l});
    const Tensor lp1 = b.log_prob(constant(Tensor::ones({logits.size()}, dt))).value();
    const Tensor lp0 = b.log_prob(constant(Tensor::zeros({logits.size()}, dt))).value();
    const Tensor mean = b.mean().value(), var = b.variance().value(), ent = b.entropy().value();
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const double x = logits[i], p = 1 / (1 + std::exp(-x));
      CAPTURE(x);
      CHECK(lp1.at(i) == doctest::Approx(-softplus(-x)).epsilon(tol));  // log σ(x), also ~ -e^-50
      CHECK(lp0.at(i) == doctest::Approx(-softplus(x)).epsilon(tol));
      CHECK(std::isfinite(lp1.at(i)));
      CHECK(mean.at(i) == doctest::Approx(p).epsilon(tol));
      CHECK(var.at(i) == doctest::Approx(p * (1 - p)).epsilon(tol));
      const double h = p * softplus(-x) + (1 - p) * softplus(x);
      CHECK(ent.at(i) == doctest::Approx(h).epsilon(tol));
    }
    CHECK(lp1.at(7) < 0.0);  // not rounded to log 1 = 0
  }
  tfd::Bernoulli from_probs(tfd::Probs{constant(Tensor::from_vector<double>({3}, {0.2, 0.0, 1.0}))}, true);
  const Tensor lp = from_probs.log_prob(constant(Tensor::from_vector<double>({3}, {1, 0, 1}))).value();
  CHECK(lp.at(0) == doctest::Approx(std::log(0.2)));
  CHECK(lp.at(1) == 0.0);
  CHECK(lp.at(2) == 0.0);
  CHECK(from_probs.entropy().value().to_vector<double>()[1] == 0.0);
  CHECK(from_probs.logits().value().at(0) == doctest::Approx(std::log(0.25)));
  const Tensor c = from_probs.cdf(constant(Tensor::from_vector<double>({3}, {-1.0, 0.5, 1.0}))).value();
  CHECK(c.to_vector<double>() == std::vector<double>{0.0, 1.0, 1.0});
}

TEST_CASE("Bernoulli: sample frequencies, gradcheck and errors") {
  tfd::Bernoulli b(tfd::Logits{constant(Tensor::from_vector<double>({2}, {-1.0, 2.0}))});
  const std::size_t n = 500000;
  const auto draws = stats::to_doubles(b.sample({n}, RandomStream(9, "bernoulli")).value());
  for (std::size_t col = 0; col < 2; ++col) {
    const double p = 1 / (1 + std::exp(col == 0 ? 1.0 : -2.0));
    double ones = 0;
    for (std::size_t i = col; i < draws.size(); i += 2) {
      REQUIRE((draws[i] == 0.0 || draws[i] == 1.0));
      ones += draws[i];
    }
    CHECK(std::fabs(ones / n - p) < 4 * std::sqrt(p * (1 - p) / n));
  }
  const Tensor x = Tensor::from_vector<double>({2, 3}, {0, 1, 1, 0, 0.3, 1});
  CHECK_GRADCHECK([=](auto& v) { return tfd::Bernoulli(tfd::Logits{v[0]}).log_prob(constant(x)); },
                  Ts{Tensor::from_vector<double>({3}, {-2.0, 0.0, 3.0})});
  CHECK_GRADCHECK([=](auto& v) { return tfd::Bernoulli(tfd::Probs{v[0]}).log_prob(constant(x)); },
                  Ts{random_tensor({3}, 10, 0.1, 0.9)});
  CHECK_GRADCHECK([](auto& v) { return tfd::Bernoulli(tfd::Logits{v[0]}).entropy(); },
                  Ts{Tensor::from_vector<double>({3}, {-2.0, 0.0, 3.0})});
  CHECK_THROWS_WITH_AS((void)tfd::Bernoulli(tfd::Probs{constant(Tensor::from_vector<double>({2}, {0.5, 1.5}))}, true),
                       doctest::Contains("probs[1] = 1.5"), ValueError);
  tfd::Bernoulli checked(tfd::Logits{constant(Tensor::zeros({2}, DType::float64))}, true);
  CHECK_THROWS_WITH_AS(checked.log_prob(constant(Tensor::from_vector<double>({2}, {1.0, 2.0}))),
                       doctest::Contains("value[1] = 2"), ValueError);
}

TEST_CASE("Rademacher: values, balance at 10^6 draws, log_prob, cdf and moments") {
  tfd::Rademacher r({2}, DType::float64);
  const std::size_t n = 500000;
  const Tensor s = r.sample({n}, RandomStream(11, "rademacher")).value();
  REQUIRE(s.shape() == Shape{n, 2});
  double plus = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const double v = s.at(i);
    REQUIRE((v == 1.0 || v == -1.0));
    plus += v == 1.0;
  }
  CHECK(std::fabs(plus - s.size() / 2.0) < 4 * std::sqrt(s.size() / 4.0));
  const Tensor lp = r.log_prob(constant(Tensor::from_vector<double>({2, 2}, {1, -1, 0, 0.5}))).value();
  CHECK(lp.at(0) == doctest::Approx(std::log(0.5)));
  CHECK(lp.at(1) == doctest::Approx(std::log(0.5)));
  CHECK(lp.at(2) == -INFINITY);
  CHECK(lp.at(3) == -INFINITY);
  CHECK(r.cdf(constant(Tensor::from_vector<double>({4}, {-2, -1, 0.3, 1}).reshape({2, 2}))).value().to_vector<double>() ==
        std::vector<double>{0.0, 0.5, 0.5, 1.0});
  CHECK(r.mean().value().to_vector<double>() == std::vector<double>{0, 0});
  CHECK(r.variance().value().to_vector<double>() == std::vector<double>{1, 1});
  CHECK(r.entropy().value().at(0) == doctest::Approx(std::log(2.0)));
  tfd::Rademacher checked({}, DType::float32, true, "signs");
  CHECK_THROWS_WITH_AS(checked.log_prob(constant(Tensor::from_vector<float>({2}, {1.f, 0.f}))),
                       doctest::Contains("value[1] = 0"), ValueError);
  CHECK(checked.sample({3}, RandomStream(1, "x")).dtype() == DType::float32);
}

}  // TEST_SUITE
