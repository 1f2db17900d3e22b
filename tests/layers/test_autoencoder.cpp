// The seed page's Bayesian autoencoder (reference section 8): BayesConv2D / BayesDeconv2D partials
// with he_uniform, the exact stack and shapes, the parameter count, and one Adam step lowering
// the negative ELBO on a fixed batch (the layers' draws replayed, so the loss is a function of
// the weights only).
#include "../testing.hpp"

#include <cmath>

using namespace tapir;
namespace tfn = tapir::nn;
namespace tfd = tapir::distributions;

namespace {

// functools.partial(tfn.ConvolutionVariationalFlipout, rank=2, filter_shape=5, kernel_initializer=he_uniform())
std::shared_ptr<tfn::Layer> BayesConv2D(std::size_t in, std::size_t out, tfn::ConvolutionOptions o, IntOrList filter = 5) {
  return std::make_shared<tfn::ConvolutionVariationalFlipout>(
      in, out, filter, o.rank(2).kernel_initializer(tfn::initializers::he_uniform()));
}
std::shared_ptr<tfn::Layer> BayesDeconv2D(std::size_t in, std::size_t out, tfn::ConvolutionTransposeOptions o,
                                          IntOrList filter = 5) {
  return std::make_shared<tfn::ConvolutionTransposeVariationalFlipout>(
      in, out, filter, o.rank(2).kernel_initializer(tfn::initializers::he_uniform()));
}
Var leaky(const Var& x) { return leaky_relu(x); }

}  // namespace

TEST_CASE("Bayesian autoencoder of the seed page: shapes, parameter count, one Adam step lowers the loss") {
  const std::size_t batch = 2, train_size = 128;
  auto encoder = std::make_shared<tfn::Sequential>(
      BayesConv2D(1, 32, tfn::ConvolutionOptions().strides(2).padding("same").activation_fn(leaky).seed(1).name("enc_conv")),
      tfn::util::flatten_rightmost_fn(3),
      std::make_shared<tfn::AffineVariationalReparameterization>(6272, 2, tfn::AffineOptions().seed(2).name("enc_affine")));
  auto decoder = std::make_shared<tfn::Sequential>(
      std::function<Var(const Var&)>([](const Var& z) { return reshape(z, {z.shape()[0], 1, 1, 2}); }),
      BayesDeconv2D(2, 64, tfn::ConvolutionTransposeOptions().padding("VALID").activation_fn(leaky).seed(3).name("dec1"), 7),
      BayesDeconv2D(64, 32, tfn::ConvolutionTransposeOptions().strides(4).padding("same").activation_fn(leaky).seed(4).name("dec2"), 4),
      BayesConv2D(32, 1, tfn::ConvolutionOptions().padding("same").seed(5).name("dec_conv"), 2));
  tfn::Sequential model(encoder, decoder);

  // shapes, stage by stage
  const Tensor images = testing::random_tensor({batch, 28, 28, 1}, 7, 0.001, 0.999, DType::float32);
  Var x = constant(images);
  CHECK((*encoder->slice(0, 1))(x).shape() == Shape{2, 14, 14, 32});
  CHECK((*encoder->slice(0, 2))(x).shape() == Shape{2, 6272});
  Var z = (*encoder)(x);
  CHECK(z.shape() == Shape{2, 2});
  CHECK((*decoder->slice(0, 2))(z).shape() == Shape{2, 7, 7, 64});
  CHECK((*decoder->slice(0, 3))(z).shape() == Shape{2, 28, 28, 32});
  CHECK(model(x).shape() == Shape{2, 28, 28, 1});

  // weight means 800+32, 12544+2, 6272+64, 32768+32, 128+1 = 52,643; twice that with the scales
  std::size_t count = 0;
  for (const auto& v : model.trainable_variables()) count += v.size();
  CHECK(count == 2 * 52643);
  CHECK(model.trainable_variables().size() == 20);

  // likelihood Independent(LogitNormal(loc, softplus(rho)), 3) with the scale initialised to 1
  Var scale_rho = parameter(Tensor::scalar(std::log(std::expm1(1.0)), DType::float32), "scale_rho");
  auto negative_elbo = [&] {
    Var loc = model(x);
    auto likelihood = std::make_shared<tfd::Independent>(
        std::make_shared<tfd::LogitNormal>(tfd::DeferredVar(loc), tfd::DeferredVar([scale_rho] { return softplus(scale_rho); })),
        3);
    Var nll = -mean(likelihood->log_prob(x));
    return nll + tfn::losses::compute_extra_loss(model) * tfn::losses::KLWeight(train_size)(0);
  };

  // rewind every layer's draw counter so both evaluations see the same noise
  std::vector<std::pair<tfn::VariationalLayer*, std::uint64_t>> counters;
  for (auto& m : model.submodules())
    if (auto* v = dynamic_cast<tfn::VariationalLayer*>(m.get())) counters.emplace_back(v, v->seed_stream().counter());
  auto rewind = [&] {
    for (auto& [v, c] : counters) v->seed_stream().set_counter(c);
  };

  auto params = model.trainable_variables();
  params.push_back(scale_rho);
  tapir::optim::Adam adam(params, tapir::optim::AdamOptions().learning_rate(1e-3));
  rewind();
  Var loss0 = negative_elbo();
  REQUIRE(std::isfinite(loss0.item()));
  adam.zero_grad();
  backward(loss0);
  for (const auto& p : params) CHECK(p.grad().defined());
  adam.step();
  rewind();
  const double loss1 = negative_elbo().item();
  INFO("loss before " << loss0.item() << ", after " << loss1);
  CHECK(loss1 < loss0.item());
}
