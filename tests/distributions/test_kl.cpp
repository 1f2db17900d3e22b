// KL divergences: closed forms against the formula and against Monte Carlo estimates (within 4
// standard errors at 10^6 draws), gradients, the registry and its errors.
#include "stats.hpp"

using namespace tapir;
using testing::random_tensor;
using Ts = std::vector<Tensor>;

namespace {

double kl_normal(double mp, double sp, double mq, double sq) {
  return std::log(sq / sp) + (sp * sp + (mp - mq) * (mp - mq)) / (2 * sq * sq) - 0.5;
}

// Checks analytic KL(q ‖ p) against the mean of log q(s) - log p(s) over s ~ q, elementwise over
// the KL's shape (draws along a leading sample axis).
void check_against_monte_carlo(const tfd::Distribution& q, const tfd::Distribution& p, std::size_t n,
                               const RandomStream& stream) {
  const Tensor exact = tfd::kl_divergence(q, p).value();
  const Var s = q.sample({n}, stream);
  const Tensor terms = tfd::kl_divergence_monte_carlo(q, p, s).value();
  REQUIRE(terms.size() == n * exact.size());
  for (std::size_t j = 0; j < exact.size(); ++j) {
    std::vector<double> t;
    for (std::size_t i = 0; i < n; ++i) t.push_back(terms.at(i * exact.size() + j));
    const double se = std::sqrt(stats::variance(t) / n);
    CAPTURE(j);
    CAPTURE(exact.at(j));
    CHECK(se > 0);
    CHECK(std::fabs(stats::mean(t) - exact.at(j)) < 4 * se);
  }
}

std::shared_ptr<tfd::Normal> normal(std::vector<double> loc, std::vector<double> scale) {
  const Shape shape{loc.size()};
  return std::make_shared<tfd::Normal>(constant(Tensor::from_vector<double>(shape, loc)),
                                       constant(Tensor::from_vector<double>(shape, scale)));
}

}  // namespace

TEST_SUITE("distributions/kl") {

TEST_CASE("KL(Normal ‖ Normal): closed form at many points, float32 and float64; zero for equal") {
  const Tensor mp = random_tensor({3, 4}, 1, -2.0, 2.0), sp = random_tensor({3, 4}, 2, 0.2, 3.0);
  const Tensor mq = random_tensor({4}, 3, -2.0, 2.0), sq = random_tensor({4}, 4, 0.2, 3.0);
  for (DType dt : {DType::float32, DType::float64}) {
    CAPTURE(dtype_name(dt));
    tfd::Normal p(constant(mp.astype(dt)), constant(sp.astype(dt))), q(constant(mq.astype(dt)), constant(sq.astype(dt)));
    const Tensor kl = tfd::kl_divergence(p, q).value();
    REQUIRE(kl.shape() == Shape{3, 4});
    for (std::size_t i = 0; i < 12; ++i)
      CHECK(kl.at(i) == doctest::Approx(kl_normal(mp.at(i), sp.at(i), mq.at(i % 4), sq.at(i % 4)))
                            .epsilon(dt == DType::float32 ? 1e-5 : 1e-12));
    const Tensor self = tfd::kl_divergence(p, p).value();
    for (std::size_t i = 0; i < 12; ++i) CHECK(self.at(i) == 0.0);
  }
  // nearly equal scales: the expm1 form keeps the O(δ²) value that σp²/σq² - 1 would round away
  const double delta = 1e-8;
  tfd::Normal a(0.0, 1.0 + delta, DType::float64), b(0.0, 1.0, DType::float64);
  const double log_ratio = std::log1p(delta);
  CHECK(tfd::kl_divergence(a, b).item() ==
        doctest::Approx(log_ratio * log_ratio + 2.0 / 3.0 * std::pow(log_ratio, 3)).epsilon(1e-6));
  CHECK_GRADCHECK([](auto& v) {
    return tfd::kl_divergence(tfd::Normal(v[0], v[1]), tfd::Normal(v[2], v[3]));
  }, (Ts{random_tensor({2, 3}, 5), random_tensor({2, 3}, 6, 0.5, 2.0), random_tensor({3}, 7), random_tensor({3}, 8, 0.5, 2.0)}));
}

TEST_CASE("analytic KL matches the Monte Carlo estimate within 4 standard errors (10^6 draws)") {
  const std::size_t n = 1000000;
  SUBCASE("Normal") {
    check_against_monte_carlo(*normal({0.5, -1.0}, {0.8, 2.0}), *normal({0.0, 1.0}, {1.0, 1.5}), n / 2,
                              RandomStream(1, "kl"));
  }
  SUBCASE("Independent(Normal)") {
    tfd::Independent q(normal({0.3, -0.2, 1.0}, {0.5, 1.2, 0.9}), 1), p(normal({0.0, 0.0, 0.0}, {1.0, 1.0, 2.0}), 1);
    check_against_monte_carlo(q, p, n, RandomStream(2, "kl"));
  }
  SUBCASE("Sample(Normal)") {
    tfd::Sample q(normal({0.3}, {0.5}), {2, 2}), p(normal({-0.5}, {1.5}), {2, 2});
    check_against_monte_carlo(q, p, n / 2, RandomStream(3, "kl"));
  }
  SUBCASE("Bernoulli") {
    tfd::Bernoulli q(tfd::Logits{constant(Tensor::from_vector<double>({2}, {0.4, -2.0}))});
    tfd::Bernoulli p(tfd::Probs{constant(Tensor::from_vector<double>({2}, {0.3, 0.5}))});
    check_against_monte_carlo(q, p, n / 2, RandomStream(4, "kl"));
  }
  SUBCASE("Categorical") {
    tfd::Categorical q(tfd::Logits{constant(Tensor::from_vector<double>({3}, {0.1, 1.0, -1.0}))});
    tfd::Categorical p(tfd::Probs{constant(Tensor::from_vector<double>({3}, {0.5, 0.25, 0.25}))});
    check_against_monte_carlo(q, p, n, RandomStream(5, "kl"));
  }
}

TEST_CASE("KL of Independent, Sample and JointDistributionSequential go through the parts") {
  const auto np = normal({0.1, 0.2, 0.3}, {1.0, 0.5, 2.0}), nq = normal({0.0, 0.0, 0.0}, {1.0, 1.0, 1.0});
  const double per_dim = tfd::kl_divergence(*np, *nq).value().at(0) + tfd::kl_divergence(*np, *nq).value().at(1) +
                         tfd::kl_divergence(*np, *nq).value().at(2);
  tfd::Independent ip(np, 1), iq(nq, 1);
  CHECK(tfd::kl_divergence(ip, iq).shape() == Shape{});
  CHECK(tfd::kl_divergence(ip, iq).item() == doctest::Approx(per_dim).epsilon(1e-14));
  tfd::Sample sp(np, {5}), sq(nq, {5});
  const Tensor sample_kl = tfd::kl_divergence(sp, sq).value();
  CHECK(sample_kl.shape() == Shape{3});
  CHECK(sample_kl.at(2) == doctest::Approx(5 * kl_normal(0.3, 2.0, 0.0, 1.0)).epsilon(1e-14));
  CHECK_THROWS_AS(tfd::kl_divergence(tfd::Independent(np, 1), tfd::Independent(nq, 0)), ShapeError);
  // same event shape [3], reached through different reinterpretations
  CHECK_THROWS_AS(tfd::kl_divergence(tfd::Independent(np, 1), tfd::Independent(std::make_shared<tfd::Independent>(nq, 1), 0)),
                  ValueError);

  const auto kernel_q = std::make_shared<tfd::Independent>(np, 1), kernel_p = std::make_shared<tfd::Independent>(nq, 1);
  const auto bias_q = std::make_shared<tfd::Independent>(normal({1.0}, {0.1}), 1);
  const auto bias_p = std::make_shared<tfd::Independent>(normal({0.0}, {1.0}), 1);
  tfd::JointDistributionSequential q({kernel_q, bias_q}), p({kernel_p, bias_p});
  CHECK(tfd::kl_divergence(q, p).item() ==
        doctest::Approx(per_dim + kl_normal(1.0, 0.1, 0.0, 1.0)).epsilon(1e-14));
  // the single-sample estimate is log q(θ) - log p(θ) at a joint draw, unbiased over many draws
  const std::vector<Var> theta = q.sample({200000}, RandomStream(6, "jd"));
  const Tensor terms = tfd::kl_divergence_monte_carlo(q, p, theta).value();
  const auto t = stats::to_doubles(terms);
  CHECK(std::fabs(stats::mean(t) - tfd::kl_divergence(q, p).item()) < 4 * std::sqrt(stats::variance(t) / t.size()));
  CHECK_THROWS_AS(tfd::kl_divergence(q, tfd::JointDistributionSequential({kernel_p})), ValueError);
}

TEST_CASE("KL registry: missing closed forms name both types; user registrations are found") {
  const auto q = normal({0.0}, {1.0});
  const auto prior = std::make_shared<tfd::MixtureSameFamily>(
      std::make_shared<tfd::Categorical>(tfd::Probs{constant(Tensor::full({2}, DType::float64, 0.5))}),
      normal({0.0, 0.0}, {1.0, 2000.0}));
  CHECK_FALSE(tfd::has_kl(*q, *prior));
  CHECK(tfd::has_kl(*q, *q));
  CHECK_THROWS_WITH_AS(tfd::kl_divergence(*q, *prior), doctest::Contains("(Normal, MixtureSameFamily)"),
                       NotImplementedError);
  // the layers' posterior against the spike-and-slab prior: exact KL does not exist, MC does
  tfd::JointDistributionSequential posterior({std::make_shared<tfd::Independent>(normal({0.1, -0.1}, {0.01, 0.02}), 1)});
  tfd::JointDistributionSequential spike_slab({std::make_shared<tfd::Sample>(prior, Shape{2})});
  CHECK_THROWS_WITH_AS(tfd::kl_divergence(posterior, spike_slab), doctest::Contains("(Independent, Sample)"),
                       NotImplementedError);
  const Var mc = tfd::kl_divergence_monte_carlo(posterior, spike_slab, posterior.sample({}, RandomStream(7, "kl")));
  CHECK(std::isfinite(mc.item()));

  tfd::LogitNormal a(0.5, 1.0, DType::float64), b(0.0, 2.0, DType::float64);
  CHECK_THROWS_AS(tfd::kl_divergence(a, b), NotImplementedError);
  // KL is invariant under the sigmoid bijection: register it through the Normals
  tfd::register_kl<tfd::LogitNormal, tfd::LogitNormal>([](const tfd::LogitNormal& p, const tfd::LogitNormal& r) {
    return tfd::kl_divergence(*p.distribution(), *r.distribution());
  });
  CHECK(tfd::has_kl(a, b));
  CHECK(tfd::kl_divergence(a, b).item() == doctest::Approx(kl_normal(0.5, 1.0, 0.0, 2.0)).epsilon(1e-14));
  check_against_monte_carlo(a, b, 400000, RandomStream(8, "kl"));
  CHECK_THROWS_AS(tfd::register_kl(typeid(tfd::Normal), typeid(tfd::Normal), tfd::KLFunction()), ValueError);
}

}  // TEST_SUITE
