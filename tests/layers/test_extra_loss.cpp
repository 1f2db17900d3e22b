// The ELBO's extra terms: each layer's divergence is computed once, in its forward pass, and
// compute_extra_loss adds up what every layer — built-in or user-written — left in losses().
#include "../testing.hpp"

#include <cmath>
#include <memory>

using namespace tapir;
namespace tfn = tapir::nn;

namespace {

// A user layer written the way the custom-layer notebook teaches: it leaves its divergence in
// own_losses_ (here a constant 3, so the expected sums are exact).
class ConstantDivergenceLayer : public tfn::Layer {
 public:
  explicit ConstantDivergenceLayer(double divergence, DType dtype = DType::float32)
      : tfn::Layer("ConstantDivergenceLayer", ""), divergence_(divergence), dtype_(dtype) {}
  Var operator()(const Var& x) override {
    own_losses_ = {constant(Tensor::scalar(divergence_, dtype_))};
    return x;
  }

 private:
  double divergence_;
  DType dtype_;
};

// A divergence_fn that counts its evaluations and returns the MC KL.
struct CountingDivergence {
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  Var operator()(const tfn::JointDistribution& q, const tfn::JointDistribution& p, const std::vector<Var>& w) const {
    ++*calls;
    return tfn::losses::kl_divergence_monte_carlo(q, p, w);
  }
};

double sum_of(const std::vector<Var>& terms) {
  double s = 0;
  for (const auto& t : terms) s += t.item();
  return s;
}

Var input(std::size_t rows = 4, std::size_t cols = 3) {
  return constant(testing::random_tensor({rows, cols}, 5).astype(DType::float32));
}

}  // namespace

TEST_CASE("compute_extra_loss counts a user layer's own_losses_ beside the built-in layers") {
  auto user = std::make_shared<ConstantDivergenceLayer>(3.0);
  auto flipout = std::make_shared<tfn::AffineVariationalFlipout>(3, 2, tfn::AffineOptions().seed(1));
  tfn::Sequential model(user, flipout);
  model(input());
  const double kl = flipout->losses().at(0).item();
  CHECK(kl != 0.0);
  const double total = tfn::losses::compute_extra_loss(model).item();
  CHECK(total == doctest::Approx(kl + 3.0).epsilon(1e-12));
  CHECK(total == doctest::Approx(sum_of(model.losses())).epsilon(1e-12));
  // the explicit loss_fn recomputes for the variational layer and still adds the user layer's term
  CHECK(tfn::losses::compute_extra_loss(model, tfn::losses::kl_divergence_monte_carlo).item() ==
        doctest::Approx(kl + 3.0).epsilon(1e-6));
}

TEST_CASE("the divergence is evaluated once per forward pass; the default compute_extra_loss does not recompute") {
  CountingDivergence counter;
  auto a = std::make_shared<tfn::AffineVariationalFlipout>(3, 4, tfn::AffineOptions().seed(2).divergence_fn(counter));
  auto b = std::make_shared<tfn::AffineVariationalReparameterization>(4, 2,
                                                                      tfn::AffineOptions().seed(3).divergence_fn(counter));
  tfn::Sequential model(a, b);
  model(input());
  CHECK(*counter.calls == 2);
  const Var total = tfn::losses::compute_extra_loss(model);
  CHECK(*counter.calls == 2);  // summed, not evaluated again
  CHECK(total.item() == doctest::Approx(sum_of(model.losses())).epsilon(1e-6));
  tfn::losses::compute_extra_loss(model, counter);
  CHECK(*counter.calls == 4);  // an explicit loss_fn is TFP's contract: recompute per layer
  // and the sum stays connected to the graph: its gradient reaches the posterior's variables
  const auto vars = model.trainable_variables();
  zero_grad(vars);
  model(input());
  backward(tfn::losses::compute_extra_loss(model));
  std::size_t with_grad = 0;
  for (const auto& v : vars) with_grad += v.grad().defined() ? 1 : 0;
  CHECK(with_grad == vars.size());
}

TEST_CASE("a layer's divergence_fn is what it contributes") {
  auto seven = [](const tfn::JointDistribution&, const tfn::JointDistribution&, const std::vector<Var>&) {
    return constant(Tensor::scalar(7.0, DType::float32));
  };
  tfn::AffineVariationalFlipout layer(3, 2, tfn::AffineOptions().seed(4).divergence_fn(seven));
  layer(input());
  CHECK(tfn::losses::compute_extra_loss(layer).item() == 7.0);
  CHECK(tfn::losses::compute_extra_loss(layer, tfn::losses::kl_divergence_monte_carlo).item() != 7.0);
}

TEST_CASE("without terms the extra loss is a zero of the model's dtype") {
  tfn::Affine det64(3, 2, tfn::AffineOptions().dtype(DType::float64));
  det64(constant(testing::random_tensor({2, 3}, 1)));
  const Var zero = tfn::losses::compute_extra_loss(det64);
  CHECK(zero.item() == 0.0);
  CHECK(zero.dtype() == DType::float64);
  tfn::Sequential no_variables(std::function<Var(const Var&)>([](const Var& x) { return x; }));
  CHECK(tfn::losses::compute_extra_loss(no_variables).dtype() == DType::float32);
  ConstantDivergenceLayer user64(2.5, DType::float64);
  user64(constant(testing::random_tensor({2, 3}, 1)));
  CHECK(tfn::losses::compute_extra_loss(user64).item() == 2.5);
}

TEST_CASE("under NoGradGuard no divergence is computed unless a KeepDivergenceGuard asks for it") {
  CountingDivergence counter;
  tfn::AffineVariationalFlipout layer(3, 2, tfn::AffineOptions().seed(5).divergence_fn(counter).name("quiet"));
  {
    NoGradGuard no_grad;
    layer(input());
  }
  CHECK(*counter.calls == 0);
  CHECK(layer.losses().empty());
  CHECK(layer.divergence_skipped());
  CHECK_THROWS_WITH_AS(tfn::losses::compute_extra_loss(layer), doctest::Contains("'quiet'"), ValueError);
  CHECK(std::isfinite(tfn::losses::compute_extra_loss(layer, tfn::losses::kl_divergence_monte_carlo).item()));
  {
    NoGradGuard no_grad;
    tfn::KeepDivergenceGuard keep;
    layer(input());
  }
  CHECK(*counter.calls == 1);
  CHECK(layer.losses().size() == 1);
  CHECK(!layer.divergence_skipped());
  CHECK(std::isfinite(tfn::losses::compute_extra_loss(layer).item()));
  CHECK(!tfn::KeepDivergenceGuard::active());
}

TEST_CASE("layer sizes are checked under the layer's name; anomaly reports name the layer") {
  CHECK_THROWS_WITH_AS(tfn::ConvolutionTransposeVariationalFlipout(16, 2, {1 << 30, 1 << 30}),
                       doctest::Contains("ConvolutionTransposeVariationalFlipout"), ShapeError);
  CHECK_THROWS_WITH_AS(tfn::AffineVariationalFlipout(std::size_t(1) << 62, 4), doctest::Contains("kernel"), ShapeError);
  CHECK_THROWS_AS(tfn::Convolution(std::size_t(1) << 40, std::size_t(1) << 30, 3), ShapeError);
  // a NaN made inside a Sequential's layer is reported with "model/layer"
  auto dense = std::make_shared<tfn::Affine>(2, 2, tfn::AffineOptions().name("dense").seed(1)
                                                       .activation_fn([](const Var& y) { return tapir::log(y - 10.0); }));
  tfn::Sequential model(std::vector<tfn::Sequential::Element>{dense}, "model");
  AnomalyMode anomaly;
  CHECK_THROWS_WITH_AS(model(constant(Tensor::ones({1, 2}, DType::float32))), doctest::Contains("model/dense"),
                       AnomalyError);
}
