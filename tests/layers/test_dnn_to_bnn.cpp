// dnn_to_bnn with MOPED, the configurable posterior/prior factories, use_bias(false), and
// Monte Carlo prediction.
#include "../testing.hpp"

#include <cmath>

using namespace tapir;
namespace tfn = tapir::nn;
namespace tfd = tapir::distributions;

namespace {

std::shared_ptr<tfn::Sequential> deterministic_cnn(DType dt) {
  auto conv = std::make_shared<tfn::Convolution>(1, 4, 3, tfn::ConvolutionOptions().padding("SAME").dtype(dt).seed(1)
                                                               .activation_fn(tapir::relu).name("conv"));
  auto pool = std::make_shared<tfn::MaxPooling>(2);
  auto up = std::make_shared<tfn::ConvolutionTranspose>(
      4, 2, 3, tfn::ConvolutionTransposeOptions().strides(2).padding("SAME").dtype(dt).seed(2).name("up"));
  auto flat = std::make_shared<tfn::Flatten>();
  auto head = std::make_shared<tfn::Affine>(2 * 8 * 8, 3, tfn::AffineOptions().dtype(dt).seed(3).name("head"));
  return std::make_shared<tfn::Sequential>(conv, pool, up, flat, head);
}

}  // namespace

TEST_CASE("dnn_to_bnn: structure, MOPED values, and the sigma -> 0 twin equals the deterministic model") {
  auto det = deterministic_cnn(DType::float64);
  const Var x = constant(testing::random_tensor({2, 8, 8, 1}, 4));
  const Tensor y_det = (*det)(x).value();
  auto bnn = std::dynamic_pointer_cast<tfn::Sequential>(
      tfn::dnn_to_bnn(det, tfn::DnnToBnnOptions().moped_enable(true).moped_delta(0.1).seed(5)));
  REQUIRE(bnn);
  REQUIRE(bnn->size() == 5);
  CHECK(bnn->layer(0)->class_name() == "ConvolutionVariationalFlipout");
  CHECK(bnn->layer(1).get() == det->layer(1).get());  // pooling kept and shared
  CHECK(bnn->layer(2)->class_name() == "ConvolutionTransposeVariationalFlipout");
  CHECK(bnn->layer(4)->class_name() == "AffineVariationalFlipout");
  CHECK(bnn->layer(0)->name() == "conv");
  // MOPED: posterior loc = w, σ = δ|w| (floored), prior centred on w
  auto* q = dynamic_cast<tfn::VariationalKernelBiasLayer*>(bnn->layer(4).get());
  auto* d = dynamic_cast<tfn::KernelBiasLayer*>(det->layer(4).get());
  REQUIRE(q);
  REQUIRE(d);
  const auto qn = std::dynamic_pointer_cast<tfd::Normal>(tfd::peel_independent(q->posterior()->part(0)));
  const auto pn = std::dynamic_pointer_cast<tfd::Normal>(tfd::peel_independent(q->prior()->part(0)));
  REQUIRE(qn);
  REQUIRE(pn);
  const Tensor w = d->kernel().value();
  CHECK(testing::max_abs_diff(qn->loc().value(), w) == 0.0);
  CHECK(testing::max_abs_diff(pn->loc().value(), w) == 0.0);
  const Tensor sigma = qn->scale().value();
  for (std::size_t i = 0; i < w.size(); i += 17)
    CHECK(sigma.at(i) == doctest::Approx(std::max(1e-4, 0.1 * std::fabs(w.at(i)))).epsilon(1e-9));
  CHECK(pn->scale().value().at(0) == doctest::Approx(1.0));
  // σ -> 0: the Bayesian twin reproduces the deterministic model
  auto tiny = tfn::dnn_to_bnn(det, tfn::DnnToBnnOptions().moped_enable(true).moped_delta(1e-9).min_scale(2e-5).seed(6));
  CHECK(testing::max_abs_diff((*tiny)(x).value(), y_det) < 1e-3);
  auto rep = std::dynamic_pointer_cast<tfn::Sequential>(
      tfn::dnn_to_bnn(det, tfn::DnnToBnnOptions().estimator(tfn::Estimator::reparameterization).moped_enable(true)
                               .moped_delta(1e-9).min_scale(2e-5).seed(6)));
  CHECK(rep->layer(0)->class_name() == "ConvolutionVariationalReparameterization");
  CHECK(testing::max_abs_diff((*rep)(x).value(), y_det) < 1e-3);
  // a wide posterior differs from the deterministic output, and trains: KL is finite
  CHECK(testing::max_abs_diff((*bnn)(x).value(), y_det) > 1e-6);
  CHECK(std::isfinite(tfn::losses::compute_extra_loss(*bnn).item()));
  // without MOPED: N(prior_mu, prior_sigma) prior and σ from posterior_rho_init
  auto plain = std::dynamic_pointer_cast<tfn::Sequential>(
      tfn::dnn_to_bnn(det, tfn::DnnToBnnOptions().prior_sigma(0.5).prior_mu(0.25).posterior_rho_init(-4.0).seed(7)));
  auto* pl = dynamic_cast<tfn::VariationalKernelBiasLayer*>(plain->layer(0).get());
  const auto pq = std::dynamic_pointer_cast<tfd::Normal>(tfd::peel_independent(pl->posterior()->part(0)));
  const auto pp = std::dynamic_pointer_cast<tfd::Normal>(tfd::peel_independent(pl->prior()->part(0)));
  CHECK(pq->scale().value().at(0) == doctest::Approx(std::log1p(std::exp(-4.0)) + 1e-5).epsilon(1e-9));
  CHECK(pp->loc().value().at(0) == 0.25);
  CHECK(pp->scale().value().at(0) == 0.5);
  CHECK_THROWS_AS(tfn::dnn_to_bnn(det, tfn::DnnToBnnOptions().moped_delta(0)), ValueError);
  CHECK_THROWS_AS(tfn::dnn_to_bnn(nullptr), ValueError);
}

TEST_CASE("factories: posterior starting scale and locs, Normal and trainable priors, use_bias(false)") {
  tfn::AffineVariationalFlipout layer(
      3, 2, tfn::AffineOptions().seed(1).make_posterior_fn(tfn::util::posterior_mvn_diag_fn(
                                              tfn::util::PosteriorOptions().initial_scale(0.05)))
                .make_prior_fn(tfn::util::prior_normal_fn(tfn::util::NormalPriorOptions().scale(0.3).trainable(true))));
  const auto q = std::dynamic_pointer_cast<tfd::Normal>(tfd::peel_independent(layer.posterior()->part(0)));
  CHECK(q->scale().value().at(0) == doctest::Approx(0.05).epsilon(1e-6));
  // the empirical-Bayes prior owns a trainable ρ per tensor that receives a gradient
  std::vector<Var> prior_rho;
  for (const auto& v : layer.trainable_variables())
    if (v.name().find("prior") != std::string::npos) prior_rho.push_back(v);
  REQUIRE(prior_rho.size() == 2);
  CHECK(prior_rho[0].shape() == Shape{});
  layer(constant(Tensor::ones({4, 3}, DType::float32)));
  zero_grad(layer.trainable_variables());
  backward(tfn::losses::compute_extra_loss(layer));
  CHECK(prior_rho[0].grad().defined());
  CHECK(prior_rho[0].grad().at(0) != 0.0);
  // exact KL is available against the Normal prior
  CHECK(std::isfinite(tfn::losses::compute_extra_loss(layer, tfn::losses::kl_divergence_exact).item()));
  // use_bias(false): no bias variables, posterior or prior part, or bias in the output
  tfn::ConvolutionVariationalFlipout nobias(2, 3, 3, tfn::ConvolutionOptions().use_bias(false).seed(2));
  CHECK(nobias.trainable_variables().size() == 2);
  CHECK(nobias.posterior()->size() == 1);
  CHECK(nobias.prior()->size() == 1);
  CHECK(nobias(constant(Tensor::zeros({1, 5, 5, 2}, DType::float32))).value().at(0) == 0.0);
  tfn::Affine det(3, 2, tfn::AffineOptions().use_bias(false));
  CHECK(det.variables().size() == 1);
  CHECK(!det.bias().defined());
  CHECK_THROWS_AS(tfn::util::posterior_mvn_diag_fn(tfn::util::PosteriorOptions().initial_scale(0.0)), ValueError);
  CHECK_THROWS_AS(tfn::util::prior_normal_fn(tfn::util::NormalPriorOptions().scale(-1)), ValueError);
  CHECK_THROWS_AS(tfn::AffineVariationalFlipout(3, 2, tfn::AffineOptions().make_posterior_fn(tfn::util::posterior_mvn_diag_fn(
                      tfn::util::PosteriorOptions().kernel_loc(Tensor::zeros({2, 2}, DType::float32))))),
                  ShapeError);
}

TEST_CASE("monte_carlo: running mean and variance of S passes, batched, in inference mode, mode restored") {
  auto dense = std::make_shared<tfn::AffineVariationalFlipout>(3, 2, tfn::AffineOptions().seed(9).dtype(DType::float64)
      .make_posterior_fn(tfn::util::posterior_mvn_diag_fn(tfn::util::PosteriorOptions().initial_scale(0.2))));
  auto drop = std::make_shared<tfn::Dropout>(0.5, tfn::DropoutOptions().seed(1));
  tfn::Sequential model(dense, drop);
  const Tensor x = testing::random_tensor({5, 3}, 3);
  const std::uint64_t counter = dense->seed_stream().counter();
  const auto mc = tfn::predictive::monte_carlo(
      model, x, 7, tfn::predictive::MonteCarloOptions().batch_size(5).keep_samples(true));
  CHECK(mc.mean.shape() == Shape{5, 2});
  CHECK(mc.samples.shape() == Shape{7, 5, 2});
  CHECK(model.training());  // restored
  CHECK(drop->training());
  // the same passes by hand (dropout is the identity at inference)
  dense->seed_stream().set_counter(counter);
  std::vector<Tensor> passes;
  {
    NoGradGuard no_grad;
    for (int s = 0; s < 7; ++s) passes.push_back((*dense)(constant(x)).value().clone());
  }
  for (std::size_t i = 0; i < 10; ++i) {
    double m = 0, v = 0;
    for (const auto& p : passes) m += p.at(i) / 7;
    for (const auto& p : passes) v += (p.at(i) - m) * (p.at(i) - m) / 7;
    CHECK(mc.mean.at(i) == doctest::Approx(m).epsilon(1e-12));
    CHECK(mc.variance.at(i) == doctest::Approx(v).epsilon(1e-9));
    CHECK(mc.samples.at(3 * 10 + i) == passes[3].at(i));
  }
  CHECK(mc.variance.at(0) > 0.0);
  // a transform, smaller batches; no tape is left behind
  const std::int64_t nodes = live_node_count();
  const auto probs = tfn::predictive::monte_carlo(
      model, x, 3, tfn::predictive::MonteCarloOptions().batch_size(2).transform([](const Var& y) { return softmax(y); }));
  CHECK(probs.mean.at(0) + probs.mean.at(1) == doctest::Approx(1.0));
  CHECK(live_node_count() == nodes);
  CHECK(!probs.samples.defined());
  CHECK_THROWS_AS(tfn::predictive::monte_carlo(model, x, 0), ValueError);
  CHECK_THROWS_AS(tfn::predictive::monte_carlo(model, Tensor::zeros({0, 3}, DType::float64), 2), ShapeError);
}
