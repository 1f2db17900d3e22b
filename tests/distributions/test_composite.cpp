// Independent, Sample, MixtureSameFamily (including the spike-and-slab prior) and
// JointDistributionSequential: shapes, closed forms, sample moments, gradients, errors.
#include "stats.hpp"

using namespace tapir;
using testing::random_tensor;
using Ts = std::vector<Tensor>;

namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;

double normal_log_pdf(double x, double mu, double sigma) {
  const double z = (x - mu) / sigma;
  return -0.5 * z * z - std::log(sigma) - kHalfLog2Pi;
}

std::shared_ptr<tfd::Normal> make_normal(const Tensor& loc, const Tensor& scale) {
  return std::make_shared<tfd::Normal>(constant(loc), constant(scale));
}

// ½N(0,1) + ½N(0,2000): the layers' spike-and-slab prior for one weight.
std::shared_ptr<tfd::MixtureSameFamily> spike_and_slab(DType dt) {
  return std::make_shared<tfd::MixtureSameFamily>(
      std::make_shared<tfd::Categorical>(tfd::Probs{constant(Tensor::full({2}, dt, 0.5))}),
      std::make_shared<tfd::Normal>(constant(Tensor::zeros({2}, dt)),
                                    constant(Tensor::from_vector<double>({2}, {1.0, 2000.0}).astype(dt))));
}

}  // namespace

TEST_SUITE("distributions/composite") {

TEST_CASE("Independent: event-shape reinterpretation and log_prob summed over the rightmost dims") {
  const Tensor loc = random_tensor({3, 4}, 1), scale = random_tensor({3, 4}, 2, 0.5, 2.0);
  const auto normal = make_normal(loc, scale);
  tfd::Independent one(normal, 1);
  CHECK(one.batch_shape() == Shape{3});
  CHECK(one.event_shape() == Shape{4});
  tfd::Independent all(normal);  // default: every batch dim
  CHECK(all.batch_shape() == Shape{});
  CHECK(all.event_shape() == Shape{3, 4});
  CHECK(all.reinterpreted_batch_ndims() == 2);
  const Tensor x = random_tensor({5, 3, 4}, 3, -3.0, 3.0);
  const Tensor lp1 = one.log_prob(constant(x)).value(), lp2 = all.log_prob(constant(x)).value();
  REQUIRE(lp1.shape() == Shape{5, 3});
  REQUIRE(lp2.shape() == Shape{5});
  for (std::size_t s = 0; s < 5; ++s) {
    double total = 0;
    for (std::size_t b = 0; b < 3; ++b) {
      double row = 0;
      for (std::size_t e = 0; e < 4; ++e) row += normal_log_pdf(x.at(s * 12 + b * 4 + e), loc.at(b * 4 + e), scale.at(b * 4 + e));
      CHECK(lp1.at(s * 3 + b) == doctest::Approx(row).epsilon(1e-12));
      total += row;
    }
    CHECK(lp2.at(s) == doctest::Approx(total).epsilon(1e-12));
  }
  double h = 0;
  for (std::size_t i = 0; i < 12; ++i) h += 0.5 * std::log(2 * M_PI * M_E * scale.at(i) * scale.at(i));
  CHECK(all.entropy().item() == doctest::Approx(h).epsilon(1e-12));
  CHECK(all.mean().shape() == Shape{3, 4});
  CHECK(all.sample({2}, RandomStream(1, "ind")).shape() == Shape{2, 3, 4});
  CHECK(all.is_reparameterized());
  CHECK_THROWS_WITH_AS((void)tfd::Independent(normal, 3), doctest::Contains("reinterpreted_batch_ndims = 3"), ValueError);
  CHECK_THROWS_AS(all.log_prob(constant(random_tensor({4, 3}, 4))), ShapeError);
  // a Flipout layer reaches the Normal's loc and scale through the wrappers
  const tfd::DistributionPtr wrapped = std::make_shared<tfd::Independent>(std::make_shared<tfd::Independent>(normal, 1), 1);
  auto inner = std::dynamic_pointer_cast<tfd::Normal>(tfd::peel_independent(wrapped));
  REQUIRE(inner);
  CHECK(inner->loc().value().shares_storage(normal->loc().value()));
  CHECK_GRADCHECK([](auto& v) {
    return tfd::Independent(std::make_shared<tfd::Normal>(v[0], v[1]), 1).log_prob(v[2]);
  }, (Ts{random_tensor({2, 3}, 5), random_tensor({2, 3}, 6, 0.5, 2.0), random_tensor({4, 2, 3}, 7)}));
}

TEST_CASE("Sample: iid copies as one event (shapes, log_prob, moments, entropy)") {
  const Tensor loc = Tensor::from_vector<double>({2}, {1.0, -3.0}), scale = Tensor::from_vector<double>({2}, {0.5, 2.0});
  tfd::Sample s(make_normal(loc, scale), {3, 4});
  CHECK(s.batch_shape() == Shape{2});
  CHECK(s.event_shape() == Shape{3, 4});
  // draws are laid out S + batch + sample_shape: every [.., b, :, :] comes from component b
  const std::size_t n = 20000;
  const Tensor draws = s.sample({n}, RandomStream(2, "sample")).value();
  REQUIRE(draws.shape() == Shape{n, 2, 3, 4});
  for (std::size_t b = 0; b < 2; ++b) {
    std::vector<double> xs;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < 12; ++j) xs.push_back(draws.at(i * 24 + b * 12 + j));
    CHECK(std::fabs(stats::mean(xs) - loc.at(b)) < 4 * scale.at(b) / std::sqrt(double(xs.size())));
    CHECK(std::fabs(stats::variance(xs) - scale.at(b) * scale.at(b)) < 4 * stats::variance_standard_error(xs));
  }
  const Tensor x = random_tensor({5, 2, 3, 4}, 8, -2.0, 2.0);
  const Tensor lp = s.log_prob(constant(x)).value();
  REQUIRE(lp.shape() == Shape{5, 2});
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t b = 0; b < 2; ++b) {
      double total = 0;
      for (std::size_t j = 0; j < 12; ++j) total += normal_log_pdf(x.at(i * 24 + b * 12 + j), loc.at(b), scale.at(b));
      CHECK(lp.at(i * 2 + b) == doctest::Approx(total).epsilon(1e-12));
    }
  // a value broadcast over the copies still counts every copy
  const Tensor lp_scalar = s.log_prob(constant(Tensor::scalar(0.5, DType::float64))).value();
  CHECK(lp_scalar.at(1) == doctest::Approx(12 * normal_log_pdf(0.5, -3.0, 2.0)).epsilon(1e-12));
  CHECK(s.mean().shape() == Shape{2, 3, 4});
  CHECK(s.mean().value().at(13) == -3.0);
  CHECK(s.variance().value().at(0) == 0.25);
  CHECK(s.entropy().value().at(1) == doctest::Approx(12 * 0.5 * std::log(2 * M_PI * M_E * 4.0)).epsilon(1e-12));
  CHECK_GRADCHECK([](auto& v) {
    return tfd::Sample(std::make_shared<tfd::Normal>(v[0], v[1]), {3}).log_prob(v[2]);
  }, (Ts{random_tensor({2}, 9), random_tensor({2}, 10, 0.5, 2.0), random_tensor({2, 3}, 11)}));
  CHECK_GRADCHECK([](auto& v) {
    return tfd::Sample(std::make_shared<tfd::Normal>(v[0], v[1]), {3}).sample({2}, RandomStream(3, "s"));
  }, (Ts{random_tensor({2}, 12), random_tensor({2}, 13, 0.5, 2.0)}));
}

TEST_CASE("MixtureSameFamily: log_prob is log Σ w_k p_k(x) at many points, float32 and float64") {
  const std::vector<double> w{0.2, 0.5, 0.3}, mu{-2.0, 0.5, 4.0}, sigma{0.7, 1.5, 0.4};
  for (DType dt : {DType::float32, DType::float64}) {
    CAPTURE(dtype_name(dt));
    tfd::MixtureSameFamily m(std::make_shared<tfd::Categorical>(tfd::Probs{constant(Tensor::from_vector<double>({3}, w).astype(dt))}),
                             std::make_shared<tfd::Normal>(constant(Tensor::from_vector<double>({3}, mu).astype(dt)),
                                                           constant(Tensor::from_vector<double>({3}, sigma).astype(dt))));
    CHECK(m.batch_shape() == Shape{});
    CHECK(m.event_shape() == Shape{});
    const Tensor x = random_tensor({41}, 20, -8.0, 8.0).astype(dt);
    const Tensor lp = m.log_prob(constant(x)).value(), c = m.cdf(constant(x)).value();
    REQUIRE(lp.shape() == Shape{41});
    for (std::size_t i = 0; i < 41; ++i) {
      double density = 0, cdf = 0;
      for (std::size_t k = 0; k < 3; ++k) {
        density += w[k] * std::exp(normal_log_pdf(x.at(i), mu[k], sigma[k]));
        cdf += w[k] * stats::normal_cdf((x.at(i) - mu[k]) / sigma[k]);
      }
      CHECK(lp.at(i) == doctest::Approx(std::log(density)).epsilon(dt == DType::float32 ? 1e-5 : 1e-12));
      CHECK(c.at(i) == doctest::Approx(cdf).epsilon(dt == DType::float32 ? 1e-5 : 1e-12));
    }
    double mean = 0, second = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      mean += w[k] * mu[k];
      second += w[k] * (sigma[k] * sigma[k] + mu[k] * mu[k]);
    }
    CHECK(m.mean().item() == doctest::Approx(mean).epsilon(1e-6));
    CHECK(m.variance().item() == doctest::Approx(second - mean * mean).epsilon(1e-6));
    CHECK_THROWS_AS(m.entropy(), NotImplementedError);
  }
}

TEST_CASE("MixtureSameFamily: the spike-and-slab prior at |w| = 1e4 has a finite value and gradient") {
  for (DType dt : {DType::float32, DType::float64}) {
    CAPTURE(dtype_name(dt));
    const auto prior = spike_and_slab(dt);
    const Var w = parameter(Tensor::from_vector<double>({5}, {1e4, -1e4, 1e6, 0.0, 3.0}).astype(dt));
    const Var lp = prior->log_prob(w);
    backward(sum(lp));
    for (std::size_t i = 0; i < 5; ++i) {
      CAPTURE(i);
      CHECK(std::isfinite(lp.value().at(i)));
      CHECK(std::isfinite(w.grad().at(i)));
    }
    // at 1e4 the spike's share is exp(-5e7): the value is the slab's alone
    const double slab = std::log(0.5) + normal_log_pdf(1e4, 0.0, 2000.0);
    CHECK(lp.value().at(0) == doctest::Approx(slab).epsilon(1e-6));
    CHECK(lp.value().at(1) == doctest::Approx(slab).epsilon(1e-6));
    CHECK(w.grad().at(0) == doctest::Approx(-1e4 / 4e6).epsilon(1e-5));
    CHECK(w.grad().at(1) == doctest::Approx(1e4 / 4e6).epsilon(1e-5));
    const double at0 = std::log(0.5 * std::exp(normal_log_pdf(0, 0, 1)) + 0.5 * std::exp(normal_log_pdf(0, 0, 2000)));
    CHECK(lp.value().at(3) == doctest::Approx(at0).epsilon(1e-6));
  }
  // as the layers use it: iid over a kernel shape
  tfd::Sample kernel_prior(spike_and_slab(DType::float32), {5, 3});
  const Var k = parameter(Tensor::full({5, 3}, DType::float32, 1e4));
  const Var lp = kernel_prior.log_prob(k);
  CHECK(lp.shape() == Shape{});
  CHECK(std::isfinite(lp.item()));
  backward(lp);
  CHECK(std::isfinite(k.grad().at(7)));
}

TEST_CASE("MixtureSameFamily: sample mean and variance within 4 standard errors at 10^6 draws; KS test") {
  const std::vector<double> w{0.3, 0.7}, mu{-2.0, 3.0}, sigma{0.5, 1.0};
  tfd::MixtureSameFamily m(std::make_shared<tfd::Categorical>(tfd::Logits{constant(Tensor::from_vector<double>({2}, {std::log(0.3), std::log(0.7)}))}),
                           make_normal(Tensor::from_vector<double>({2}, mu), Tensor::from_vector<double>({2}, sigma)));
  const std::size_t n = 1000000;
  const auto x = stats::to_doubles(m.sample({n}, RandomStream(30, "mixture")).value());
  const double mean = 0.3 * -2.0 + 0.7 * 3.0;                                 // 1.5
  const double var = 0.3 * (0.25 + 3.5 * 3.5) + 0.7 * (1.0 + 1.5 * 1.5);     // 6.025
  CHECK(m.mean().item() == doctest::Approx(mean));
  CHECK(m.variance().item() == doctest::Approx(var));
  CHECK(std::fabs(stats::mean(x) - mean) < 4 * std::sqrt(var / n));
  CHECK(std::fabs(stats::variance(x) - var) < 4 * stats::variance_standard_error(x));
  const Var grid = constant(Tensor::from_vector<double>({1}, {0.0}));
  auto cdf = [&](double v) {
    double c = 0;
    for (std::size_t k = 0; k < 2; ++k) c += w[k] * stats::normal_cdf((v - mu[k]) / sigma[k]);
    return c;
  };
  CHECK(m.cdf(grid).item() == doctest::Approx(cdf(0.0)));
  CHECK(stats::ks_statistic(x, cdf) < stats::ks_critical(n));
}

TEST_CASE("MixtureSameFamily: batches, multivariate components, gradients and shape errors") {
  // batch [2] of 3-component mixtures; values [5, 2]
  const Tensor logits = random_tensor({2, 3}, 40), loc = random_tensor({2, 3}, 41, -2.0, 2.0),
               scale = random_tensor({2, 3}, 42, 0.5, 2.0);
  tfd::MixtureSameFamily m(std::make_shared<tfd::Categorical>(tfd::Logits{constant(logits)}), make_normal(loc, scale));
  CHECK(m.batch_shape() == Shape{2});
  const Tensor x = random_tensor({5, 2}, 43, -3.0, 3.0);
  const Tensor lp = m.log_prob(constant(x)).value();
  REQUIRE(lp.shape() == Shape{5, 2});
  for (std::size_t i = 0; i < 10; ++i) {
    const std::size_t b = i % 2;
    double z = 0, density = 0;
    for (std::size_t k = 0; k < 3; ++k) z += std::exp(logits.at(b * 3 + k));
    for (std::size_t k = 0; k < 3; ++k)
      density += std::exp(logits.at(b * 3 + k)) / z * std::exp(normal_log_pdf(x.at(i), loc.at(b * 3 + k), scale.at(b * 3 + k)));
    CHECK(lp.at(i) == doctest::Approx(std::log(density)).epsilon(1e-12));
  }
  CHECK(m.sample({4}, RandomStream(44, "m")).shape() == Shape{4, 2});
  CHECK_GRADCHECK([](auto& v) {
    return tfd::MixtureSameFamily(std::make_shared<tfd::Categorical>(tfd::Logits{v[0]}),
                                  std::make_shared<tfd::Normal>(v[1], v[2])).log_prob(v[3]);
  }, (Ts{logits, loc, scale, x}));
  CHECK_GRADCHECK([](auto& v) {  // pathwise through the selected components
    return tfd::MixtureSameFamily(std::make_shared<tfd::Categorical>(tfd::Logits{constant(v[0].value())}),
                                  std::make_shared<tfd::Normal>(v[1], v[2])).sample({3}, RandomStream(45, "m"));
  }, (Ts{logits, loc, scale}));

  // components with events: Independent(Normal [K, 4], 1) -> mixture over vectors of length 4
  const Tensor vloc = random_tensor({2, 4}, 46), vscale = random_tensor({2, 4}, 47, 0.5, 1.5);
  tfd::MixtureSameFamily mv(std::make_shared<tfd::Categorical>(tfd::Probs{constant(Tensor::from_vector<double>({2}, {0.4, 0.6}))}),
                            std::make_shared<tfd::Independent>(make_normal(vloc, vscale), 1));
  CHECK(mv.batch_shape() == Shape{});
  CHECK(mv.event_shape() == Shape{4});
  const Tensor v = random_tensor({3, 4}, 48);
  const Tensor vlp = mv.log_prob(constant(v)).value();
  REQUIRE(vlp.shape() == Shape{3});
  for (std::size_t i = 0; i < 3; ++i) {
    double density = 0;
    for (std::size_t k = 0; k < 2; ++k) {
      double l = std::log(k == 0 ? 0.4 : 0.6);
      for (std::size_t d = 0; d < 4; ++d) l += normal_log_pdf(v.at(i * 4 + d), vloc.at(k * 4 + d), vscale.at(k * 4 + d));
      density += std::exp(l);
    }
    CHECK(vlp.at(i) == doctest::Approx(std::log(density)).epsilon(1e-12));
  }
  const std::size_t n = 200000;
  const Tensor draws = mv.sample({n}, RandomStream(49, "mv")).value();
  REQUIRE(draws.shape() == Shape{n, 4});
  const Tensor mean = mv.mean().value(), var = mv.variance().value();
  for (std::size_t d = 0; d < 4; ++d) {
    std::vector<double> col;
    for (std::size_t i = 0; i < n; ++i) col.push_back(draws.at(i * 4 + d));
    const double m_ref = 0.4 * vloc.at(d) + 0.6 * vloc.at(4 + d);
    const double v_ref = 0.4 * (std::pow(vscale.at(d), 2) + std::pow(vloc.at(d) - m_ref, 2)) +
                         0.6 * (std::pow(vscale.at(4 + d), 2) + std::pow(vloc.at(4 + d) - m_ref, 2));
    CHECK(mean.at(d) == doctest::Approx(m_ref).epsilon(1e-12));
    CHECK(var.at(d) == doctest::Approx(v_ref).epsilon(1e-12));
    CHECK(std::fabs(stats::mean(col) - m_ref) < 4 * std::sqrt(v_ref / n));
  }

  auto three = std::make_shared<tfd::Categorical>(tfd::Logits{constant(Tensor::zeros({3}, DType::float64))});
  CHECK_THROWS_WITH_AS((void)tfd::MixtureSameFamily(three, make_normal(Tensor::zeros({2}, DType::float64), Tensor::ones({2}, DType::float64))),
                       doctest::Contains("3 mixture categories"), ShapeError);
  auto batch4 = std::make_shared<tfd::Categorical>(tfd::Logits{constant(Tensor::zeros({4, 3}, DType::float64))});
  CHECK_THROWS_AS((void)tfd::MixtureSameFamily(batch4, make_normal(loc, scale)), ShapeError);
  auto f32 = std::make_shared<tfd::Categorical>(tfd::Logits{constant(Tensor::zeros({3}, DType::float32))});
  CHECK_THROWS_AS((void)tfd::MixtureSameFamily(f32, make_normal(loc, scale)), TypeError);
}

TEST_CASE("JointDistributionSequential: a kernel/bias pair (sample, log_prob, parts)") {
  const Var k_loc = parameter(random_tensor({3, 2}, 50), "kernel_loc");
  const Var k_rho = parameter(random_tensor({3, 2}, 51, -3.0, -1.0), "kernel_rho");
  const Var b_loc = parameter(random_tensor({2}, 52), "bias_loc");
  auto kernel = std::make_shared<tfd::Independent>(
      std::make_shared<tfd::Normal>(k_loc, [k_rho] { return softplus(k_rho) + 1e-5; }, false, "posterior_kernel"), 2);
  auto bias = std::make_shared<tfd::Independent>(
      std::make_shared<tfd::Normal>(b_loc, constant(Tensor::full({2}, DType::float64, 0.1))), 1);
  tfd::JointDistributionSequential q({kernel, bias}, "posterior");
  REQUIRE(q.size() == 2);
  const RandomStream stream(60, "layer");
  const std::vector<Var> theta = q.sample({}, stream);
  REQUIRE(theta.size() == 2);
  CHECK(theta[0].shape() == Shape{3, 2});
  CHECK(theta[1].shape() == Shape{2});
  // parts draw from independent sub-streams
  CHECK(theta[0].value().at(0) != kernel->sample({}, stream).value().at(0));
  CHECK(theta[0].value().to_vector<double>() == kernel->sample({}, stream.fold_in(0)).value().to_vector<double>());
  const Var lp = q.log_prob(theta);
  CHECK(lp.item() == doctest::Approx(kernel->log_prob(theta[0]).item() + bias->log_prob(theta[1]).item()).epsilon(1e-12));
  const auto parts = q.log_prob_parts(theta);
  CHECK(parts.size() == 2);
  backward(lp);  // reaches every parameter, through the deferred scale too
  CHECK(k_loc.grad().defined());
  CHECK(k_rho.grad().defined());
  CHECK(b_loc.grad().defined());
  auto normal = std::dynamic_pointer_cast<tfd::Normal>(tfd::peel_independent(q.part(0)));
  REQUIRE(normal);
  CHECK(normal->name() == "posterior_kernel");
  CHECK(normal->loc().value().shares_storage(k_loc.value()));
  CHECK(normal->scale().value().at(0) == doctest::Approx(std::log1p(std::exp(k_rho.value().at(0))) + 1e-5));
  CHECK(q.part_as<tfd::Independent>(1)->reinterpreted_batch_ndims() == 1);
  CHECK_THROWS_AS(q.part_as<tfd::Normal>(0), TypeError);
  CHECK_THROWS_AS(q.part(2), ValueError);
  CHECK_THROWS_AS(q.log_prob({theta[0]}), ValueError);
  CHECK(q.mean()[1].value().to_vector<double>() == b_loc.value().to_vector<double>());
  CHECK(q.sample({4}, stream)[1].shape() == Shape{4, 2});
}

}  // TEST_SUITE
