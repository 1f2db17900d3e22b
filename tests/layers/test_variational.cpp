// The kernel-bias layers: constructor arguments, error messages, σ → 0 against the deterministic
// twins, Flipout's mean and variance, gradients, reproducibility, losses.
#include "../testing.hpp"

#include <cmath>
#include <memory>

using namespace tapir;
namespace tfn = tapir::nn;

namespace {

template <class E> std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}

Var find_var(const tfn::Layer& l, const std::string& suffix) {
  for (const auto& v : l.variables())
    if (v.name().size() >= suffix.size() && v.name().compare(v.name().size() - suffix.size(), suffix.size(), suffix) == 0)
      return v;
  FAIL("no variable ending in " << suffix);
  return Var();
}

void set_all(const Var& v, double value) {
  Var w = v;
  w.set_value(Tensor::full(v.shape(), v.dtype(), value));
}

// Rewinds every variational layer in `l` (and below) to the draw counters saved in `c`.
struct Rewinder {
  std::vector<std::pair<tfn::VariationalLayer*, std::uint64_t>> saved;
  explicit Rewinder(tfn::Layer& l) {
    auto add = [&](tfn::Layer* x) {
      if (auto* v = dynamic_cast<tfn::VariationalLayer*>(x)) saved.emplace_back(v, v->seed_stream().counter());
    };
    add(&l);
    for (auto& m : l.submodules()) add(m.get());
  }
  void operator()() const {
    for (auto& [v, c] : saved) v->seed_stream().set_counter(c);
  }
};

// Finite differences of L = sum(w ⊙ layer(x)) + Σ losses w.r.t. x and every trainable variable,
// with the layer's draws replayed for every evaluation (float64).
void check_layer_gradients(tfn::Layer& layer, const Tensor& x0, double rtol = 1e-5, double atol = 1e-7) {
  Rewinder rewind(layer);
  const auto vars = layer.trainable_variables();
  Tensor w;
  auto loss = [&](const Var& x) {
    rewind();
    Var y = layer(x);
    if (!w.defined()) w = testing::random_tensor(y.shape(), 99);
    Var l = sum(y * constant(w));
    for (const auto& kl : layer.losses()) l = l + kl;
    return l;
  };
  // analytic
  zero_grad(vars);
  Var x = parameter(x0);
  backward(loss(x));
  std::vector<Tensor> analytic{x.grad()};
  for (const auto& v : vars) analytic.push_back(v.grad().clone());
  // numeric
  const double h = 1e-6;
  std::vector<Var> targets{x};
  targets.insert(targets.end(), vars.begin(), vars.end());
  NoGradGuard no_grad;
  tfn::KeepDivergenceGuard keep_divergence;  // the numeric loss needs the KL terms too
  double worst = 0;
  std::string where;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    Var target = targets[t];
    const Tensor base = target.value().clone();
    for (std::size_t i = 0; i < base.size(); ++i) {
      Tensor plus = base.clone(), minus = base.clone();
      plus.data<double>()[i] += h;
      minus.data<double>()[i] -= h;
      target.set_value(plus);
      const double lp = loss(t == 0 ? constant(plus) : constant(x0)).item();
      target.set_value(minus);
      const double lm = loss(t == 0 ? constant(minus) : constant(x0)).item();
      target.set_value(base);
      const double numeric = (lp - lm) / (2 * h), a = analytic[t].at(i);
      const double ratio = std::fabs(a - numeric) / (atol + rtol * std::fabs(numeric));
      if (ratio > worst) {
        worst = ratio;
        where = (t == 0 ? std::string("input") : vars[t - 1].name()) + "[" + std::to_string(i) + "]: analytic " +
                std::to_string(a) + " numeric " + std::to_string(numeric);
      }
    }
  }
  INFO(layer.class_name() << " worst " << where << " ratio " << worst);
  CHECK(worst <= 1.0);
}

tfn::ConvolutionTransposeOptions convt_opts() {
  return tfn::ConvolutionTransposeOptions().rank(2).strides(2).padding("SAME").dtype(DType::float64);
}

}  // namespace

TEST_CASE("the seed page's example surface") {
  tfn::ConvolutionTransposeVariationalFlipout layer(
      64, 32, 5, tfn::ConvolutionTransposeOptions().rank(2).strides(2).padding("SAME").seed(42).activation_fn(tapir::relu));
  Var x = constant(testing::random_tensor({2, 7, 7, 64}, 1, -1, 1, DType::float32));
  Var out = layer(x);
  CHECK(out.shape() == Shape{2, 14, 14, 32});
  CHECK(layer.trainable_variables().size() == 4);
  REQUIRE(layer.losses().size() == 1);
  CHECK(layer.losses()[0].shape() == Shape{});
  CHECK(std::isfinite(layer.losses()[0].item()));
  CHECK(layer.posterior()->size() == 2);
  CHECK(layer.prior()->size() == 2);
  REQUIRE(layer.posterior_value().size() == 2);
  CHECK(layer.posterior_value()[0].shape() == Shape{5 * 5 * 64, 32});
  for (std::size_t i = 0; i < out.size(); i += 97) CHECK(out.value().at(i) >= 0.0);  // relu
}

TEST_CASE("a recognised activation runs inside the fused Flipout op: the values and gradients of a separate op") {
  // tfn::LeakyRelu and tapir::relu are recognised (fused_activation); the same activation as a
  // lambda runs as a separate op after the layer: both give the same bits, at 1 and 2 threads
  CHECK(tfn::fused_activation(tfn::LeakyRelu{0.1}).kind == FusedActivation::Kind::leaky_relu);
  CHECK(tfn::fused_activation(tfn::LeakyRelu{0.1}).negative_slope == 0.1);
  CHECK(tfn::fused_activation(tapir::relu).kind == FusedActivation::Kind::relu);
  CHECK(!tfn::fused_activation([](const Var& v) { return tapir::relu(v); }));
  CHECK(!tfn::fused_activation(tfn::LeakyRelu{-0.5}));  // a negative slope runs as the op
  CHECK(!tfn::fused_activation(tfn::Activation()));
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (bool transpose : {false, true})
      for (bool relu : {false, true}) {
        CAPTURE(threads);
        CAPTURE(transpose);
        CAPTURE(relu);
        const tfn::Activation recognised = relu ? tfn::Activation(tapir::relu) : tfn::Activation(tfn::LeakyRelu{0.1});
        const tfn::Activation lambda = relu ? tfn::Activation([](const Var& v) { return tapir::relu(v); })
                                            : tfn::Activation([](const Var& v) { return tapir::leaky_relu(v, 0.1); });
        const Tensor xv = testing::random_tensor({3, 6, 6, 16}, 40).astype(DType::float32);
        std::vector<Tensor> results[2];
        std::int64_t nodes[2] = {};
        for (int fused = 0; fused < 2; ++fused) {
          const tfn::Activation act = fused ? recognised : lambda;
          std::shared_ptr<tfn::Layer> layer;
          if (transpose)
            layer = std::make_shared<tfn::ConvolutionTransposeVariationalFlipout>(
                16, 24, 3, tfn::ConvolutionTransposeOptions().strides(2).padding("SAME").seed(3).name("l").activation_fn(act));
          else
            layer = std::make_shared<tfn::ConvolutionVariationalFlipout>(
                16, 24, 3, tfn::ConvolutionOptions().padding("SAME").seed(3).name("l").activation_fn(act));
          Var x = parameter(xv);
          const std::int64_t before = live_node_count();
          const Var y = (*layer)(x);
          nodes[fused] = live_node_count() - before;
          backward(sum(y * constant(testing::random_tensor(y.shape(), 41).astype(DType::float32))));
          results[fused] = {y.value(), x.grad()};
          for (const Var& v : layer->trainable_variables()) results[fused].push_back(v.grad());
        }
        CHECK(nodes[1] == nodes[0] - 1);  // no separate activation node: it ran inside the op
        REQUIRE(results[0].size() == results[1].size());
        bool negative_seen = false;
        for (std::size_t i = 0; i < results[0][0].size(); ++i) negative_seen |= results[0][0].at(i) < 0 || results[0][0].at(i) == 0;
        CHECK(negative_seen);  // the activation's other branch is taken
        for (std::size_t k = 0; k < results[0].size(); ++k) {
          CAPTURE(k);
          CHECK(results[1][k].to_vector<float>() == results[0][k].to_vector<float>());
        }
      }
  }
  set_num_threads(saved);
}

TEST_CASE("constructor arguments have observable effects") {
  Var x = constant(testing::random_tensor({3, 5, 5, 2}, 2));
  SUBCASE("strides, padding, output_padding, dilations, rank") {
    auto shape_of = [&](const tfn::ConvolutionTransposeOptions& o, const Var& in, IntOrList f = 3) {
      tfn::ConvolutionTransposeVariationalFlipout l(2, 4, f, o);
      return l(in).shape();
    };
    const auto base = tfn::ConvolutionTransposeOptions().dtype(DType::float64);
    CHECK(shape_of(base, x) == Shape{3, 7, 7, 4});  // VALID, stride 1: n + k - 1
    CHECK(shape_of(tfn::ConvolutionTransposeOptions(base).strides(2), x) == Shape{3, 11, 11, 4});
    CHECK(shape_of(tfn::ConvolutionTransposeOptions(base).strides(2).padding("same"), x) == Shape{3, 10, 10, 4});
    CHECK(shape_of(tfn::ConvolutionTransposeOptions(base).strides({2, 3}).padding("SAME"), x) == Shape{3, 10, 15, 4});
    CHECK(shape_of(tfn::ConvolutionTransposeOptions(base).strides(2).padding("SAME").output_padding(0), x) ==
          Shape{3, 9, 9, 4});
    CHECK(shape_of(tfn::ConvolutionTransposeOptions(base).dilations(2), x) == Shape{3, 9, 9, 4});
    CHECK(shape_of(base, x, {3, 1}) == Shape{3, 7, 5, 4});
    Var x1 = constant(testing::random_tensor({3, 5, 2}, 3));
    CHECK(shape_of(tfn::ConvolutionTransposeOptions(base).rank(1).strides(2), x1) == Shape{3, 11, 4});
    Var x3 = constant(testing::random_tensor({2, 3, 3, 3, 2}, 3));
    CHECK(shape_of(tfn::ConvolutionTransposeOptions(base).rank(3), x3) == Shape{2, 5, 5, 5, 4});
    Var unbatched = constant(testing::random_tensor({5, 5, 2}, 3));
    CHECK(shape_of(base, unbatched) == Shape{7, 7, 4});
  }
  SUBCASE("activation, dtype, seed, name") {
    tfn::ConvolutionTransposeVariationalFlipout relu_layer(
        2, 4, 3, tfn::ConvolutionTransposeOptions().dtype(DType::float64).seed(1).activation_fn(tapir::relu));
    tfn::ConvolutionTransposeVariationalFlipout plain(2, 4, 3,
                                                      tfn::ConvolutionTransposeOptions().dtype(DType::float64).seed(1));
    // same seed, same (default) name stem but different unique names -> still same initial values? No: the
    // name salts the stream, so give both the same explicit name to compare the activation alone.
    tfn::ConvolutionTransposeVariationalFlipout a(2, 4, 3, convt_opts().seed(7).name("same"));
    tfn::ConvolutionTransposeVariationalFlipout b(2, 4, 3, convt_opts().seed(7).name("same").activation_fn(tapir::relu));
    const Tensor ya = a(x).value(), yb = b(x).value();
    bool negative_seen = false;
    for (std::size_t i = 0; i < ya.size(); ++i) {
      CHECK(yb.at(i) == std::max(0.0, ya.at(i)));
      negative_seen |= ya.at(i) < 0;
    }
    CHECK(negative_seen);
    CHECK(a(x).dtype() == DType::float64);
    tfn::ConvolutionTransposeVariationalFlipout f32(2, 4, 3, tfn::ConvolutionTransposeOptions());
    CHECK(f32.variables()[0].dtype() == DType::float32);
    tfn::ConvolutionTransposeVariationalFlipout c(2, 4, 3, convt_opts().seed(8).name("same"));
    CHECK(testing::max_abs_diff(c.variables()[0].value(), a.variables()[0].value()) > 0);  // seed changes init
  }
  SUBCASE("sign_mode, posterior_value_fn, unpack_weights_fn, make_posterior_fn") {
    // per_example_channel: the same seed gives other outputs than elementwise
    tfn::ConvolutionTransposeVariationalFlipout e(2, 4, 3, convt_opts().seed(3).name("s"));
    tfn::ConvolutionTransposeVariationalFlipout p(2, 4, 3, convt_opts().seed(3).name("s").sign_mode(tfn::SignMode::per_example_channel));
    CHECK(p.sign_mode() == tfn::SignMode::per_example_channel);
    CHECK(testing::max_abs_diff(e(x).value(), p(x).value()) > 0);
    // posterior_value_fn = the posterior mean: a Reparameterization layer becomes its deterministic twin
    tfn::ConvolutionTransposeVariationalReparameterization r(
        2, 4, 3, convt_opts().seed(3).posterior_value_fn([](const tfn::JointDistribution& q, const RandomStream&) {
          return q.mean();
        }));
    tfn::ConvolutionTranspose d(2, 4, 3, convt_opts());
    Var dk = d.kernel(), db = d.bias();
    dk.set_value(find_var(r, "kernel_loc").value());
    db.set_value(testing::random_tensor(db.shape(), 4));
    find_var(r, "bias_loc").set_value(db.value());
    CHECK(testing::max_abs_diff(r(x).value(), d(x).value()) < 1e-12);
    // unpack_weights_fn dropping the bias: the output loses the bias
    tfn::ConvolutionTransposeVariationalReparameterization nb(
        2, 4, 3, convt_opts().seed(3).posterior_value_fn([](const tfn::JointDistribution& q, const RandomStream&) {
          return q.mean();
        }).unpack_weights_fn([](const std::vector<Var>& w) { return std::make_pair(w[0], Var()); }));
    find_var(nb, "kernel_loc").set_value(find_var(r, "kernel_loc").value());
    set_all(find_var(nb, "bias_loc"), 100.0);
    const Tensor ynb = nb(x).value(), yr = r(x).value();
    for (std::size_t i = 0; i < ynb.size(); i += 7) CHECK(ynb.at(i) == doctest::Approx(yr.at(i) - db.value().at(i % 4)));
    // make_posterior_fn: a custom factory's variables are the layer's
    int calls = 0;
    tfn::AffineVariationalFlipout custom(3, 2, tfn::AffineOptions().dtype(DType::float64).make_posterior_fn(
        [&calls](auto&&... args) { ++calls; return tfn::util::make_kernel_bias_posterior_mvn_diag(args...); }));
    CHECK(calls == 1);
    CHECK(custom.trainable_variables().size() == 4);
  }
  SUBCASE("method and index_dtype are accepted and have no effect") {
    tfn::ConvolutionTransposeVariationalFlipout a(2, 4, 3, convt_opts().seed(3).name("m"));
    tfn::ConvolutionTransposeVariationalFlipout b(2, 4, 3,
                                                  convt_opts().seed(3).name("m").method("dilation").index_dtype("int64"));
    CHECK(testing::max_abs_diff(a(x).value(), b(x).value()) == 0.0);
  }
}

TEST_CASE("invalid arguments raise typed errors that name them") {
  using O = tfn::ConvolutionTransposeOptions;
  auto msg = [](const std::function<void()>& f) { return message_of<ValueError>(f); };
  auto has = [](const std::string& m, const std::string& what) {
    INFO(m);
    CHECK(m.find(what) != std::string::npos);
  };
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(0, 4, 3); }), "input_size");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 0, 3); }), "output_size");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, 3, O().rank(4)); }), "rank");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, {3, 3, 3}, O()); }), "filter_shape");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, 0, O()); }), "filter_shape");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, O()); }), "filter_shape is required");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, 3, O().padding("CAUSAL")); }), "padding");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, 3, O().strides(2).dilations(2)); }), "dilations");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, 3, O().strides(2).output_padding(2)); }),
      "output_padding");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, 3, O().strides({1, 2, 3})); }), "strides");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, 3, O().method("fast")); }), "method");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, 3, O().index_dtype("int8")); }), "index_dtype");
  has(msg([] { tfn::ConvolutionTransposeVariationalReparameterization(
                   2, 4, 3, O().sign_mode(tfn::SignMode::per_example_channel)); }),
      "sign_mode");
  has(msg([] { tfn::ConvolutionTranspose(2, 4, 3, O().make_posterior_fn(tfn::util::make_kernel_bias_posterior_mvn_diag)); }),
      "make_posterior_fn");
  has(msg([] { tfn::ConvolutionTransposeVariationalFlipout(2, 4, 3, O().make_kernel_bias_fn(tfn::util::make_kernel_bias)); }),
      "make_kernel_bias_fn");
  has(msg([] { tfn::AffineVariationalFlipout(2, 4, tfn::AffineOptions().batch_shape({3})); }), "batch_shape");
  has(msg([] { tfn::ConvolutionVariationalFlipout(2, 4, 3, tfn::ConvolutionOptions().rank(0)); }), "rank");
  {
    tfn::AffineVariationalFlipout checked(2, 2, tfn::AffineOptions().validate_args(true).name("checked"));
    Tensor bad = Tensor::zeros({1, 2}, DType::float32);
    bad.data<float>()[1] = std::nanf("");
    has(msg([&] { checked(constant(bad)); }), "'checked': validate_args: input element 1");
    tfn::AffineVariationalFlipout unchecked(2, 2);
    CHECK_NOTHROW(unchecked(constant(bad)));
  }

  // call-time errors name the layer and the shapes
  tfn::ConvolutionTransposeVariationalFlipout decoder(64, 32, 5,
                                                      O().strides(2).padding("SAME").name("decoder1"));
  const std::string m = message_of<ShapeError>(
      [&] { decoder(constant(Tensor::zeros({32, 7, 7, 48}, DType::float32))); });
  CHECK(m == "ConvolutionTransposeVariationalFlipout 'decoder1': input has 48 channels, layer expects input_size=64 "
             "(input shape [32,7,7,48])");
  has(message_of<ShapeError>([&] { decoder(constant(Tensor::zeros({7, 64}, DType::float32))); }), "decoder1");
  has(message_of<TypeError>([&] { decoder(constant(Tensor::zeros({1, 7, 7, 64}, DType::float64))); }), "float64");
  tfn::ConvolutionVariationalFlipout enc(1, 2, 5, tfn::ConvolutionOptions().name("enc"));
  has(message_of<ValueError>([&] { enc(constant(Tensor::zeros({1, 3, 3, 1}, DType::float32))); }), "enc");
  tfn::AffineVariationalFlipout dense(6, 2, tfn::AffineOptions().name("dense"));
  CHECK(message_of<ShapeError>([&] { dense(constant(Tensor::zeros({4, 5}, DType::float32))); }) ==
        "AffineVariationalFlipout 'dense': input has 5 features, layer expects input_size=6 (input shape [4,5])");
}

TEST_CASE("with sigma -> 0 every variational layer equals its deterministic twin with kernel = loc") {
  const double rho = -60;  // σ = softplus(-60) + 1e-5 ≈ 1e-5
  auto compare = [&](tfn::VariationalKernelBiasLayer& v, tfn::KernelBiasLayer& d, const Tensor& x) {
    set_all(find_var(v, "kernel_rho"), rho);
    set_all(find_var(v, "bias_rho"), rho);
    Var dk = d.kernel(), db = d.bias();
    dk.set_value(find_var(v, "kernel_loc").value().clone());
    db.set_value(testing::random_tensor(db.shape(), 5));
    find_var(v, "bias_loc").set_value(db.value().clone());
    const Tensor yv = v(constant(x)).value(), yd = d(constant(x)).value();
    INFO(v.class_name());
    CHECK(testing::max_abs_diff(yv, yd) < 2e-3);
    CHECK(testing::max_abs_diff(yv, yd) > 0);  // the perturbation is still there, just tiny
  };
  const auto f64 = DType::float64;
  const Tensor xa = testing::random_tensor({4, 6}, 11), xc = testing::random_tensor({2, 5, 5, 3}, 12);
  for (auto mode : {tfn::SignMode::elementwise, tfn::SignMode::per_example_channel}) {
    tfn::AffineVariationalFlipout af(6, 3, tfn::AffineOptions().dtype(f64).seed(1).sign_mode(mode));
    tfn::Affine ad(6, 3, tfn::AffineOptions().dtype(f64));
    compare(af, ad, xa);
    tfn::ConvolutionVariationalFlipout cf(3, 2, 3, tfn::ConvolutionOptions().dtype(f64).seed(1).sign_mode(mode).padding("SAME"));
    tfn::Convolution cd(3, 2, 3, tfn::ConvolutionOptions().dtype(f64).padding("SAME"));
    compare(cf, cd, xc);
    tfn::ConvolutionVariationalFlipoutV2 cf2(3, 2, 3, tfn::ConvolutionOptions().dtype(f64).seed(1).sign_mode(mode).strides(2));
    tfn::ConvolutionV2 cd2(3, 2, 3, tfn::ConvolutionOptions().dtype(f64).strides(2));
    compare(cf2, cd2, xc);
    tfn::ConvolutionTransposeVariationalFlipout tf(3, 2, 3, convt_opts().seed(1).sign_mode(mode));
    tfn::ConvolutionTranspose td(3, 2, 3, convt_opts());
    compare(tf, td, xc);
  }
  tfn::AffineVariationalReparameterization ar(6, 3, tfn::AffineOptions().dtype(f64).seed(1));
  tfn::Affine ad(6, 3, tfn::AffineOptions().dtype(f64));
  compare(ar, ad, xa);
  tfn::AffineVariationalReparameterizationLocal al(6, 3, tfn::AffineOptions().dtype(f64).seed(1));
  compare(al, ad, xa);
  tfn::ConvolutionVariationalReparameterization cr(3, 2, 3, tfn::ConvolutionOptions().dtype(f64).seed(1));
  tfn::Convolution cd(3, 2, 3, tfn::ConvolutionOptions().dtype(f64));
  compare(cr, cd, xc);
  tfn::ConvolutionVariationalReparameterizationV2 cr2(3, 2, 3, tfn::ConvolutionOptions().dtype(f64).seed(1));
  tfn::ConvolutionV2 cd2(3, 2, 3, tfn::ConvolutionOptions().dtype(f64));
  compare(cr2, cd2, xc);
  tfn::ConvolutionTransposeVariationalReparameterization tr(3, 2, 3, convt_opts().seed(1).output_padding(1));
  tfn::ConvolutionTranspose td(3, 2, 3, convt_opts().output_padding(1));
  compare(tr, td, xc);
}

TEST_CASE("Flipout statistics: mean = mean path, variance = sum x^2 sigma^2 + bias variance (both sign modes)") {
  const std::size_t draws = 20000;
  const Tensor x = testing::random_tensor({2, 3, 3, 2}, 21);
  for (auto mode : {tfn::SignMode::elementwise, tfn::SignMode::per_example_channel}) {
    tfn::ConvolutionTransposeVariationalFlipout layer(
        2, 2, 3,
        convt_opts().seed(5).sign_mode(mode).divergence_fn(
            [](const auto&, const auto&, const auto&) { return constant(Tensor::scalar(0, DType::float64)); }));
    Var kloc = find_var(layer, "kernel_loc"), krho = find_var(layer, "kernel_rho");
    Var bloc = find_var(layer, "bias_loc"), brho = find_var(layer, "bias_rho");
    krho.set_value(testing::random_tensor(krho.shape(), 22, -1.5, 0.5));
    bloc.set_value(testing::random_tensor(bloc.shape(), 23));
    brho.set_value(testing::random_tensor(brho.shape(), 24, -2, -1));
    NoGradGuard no_grad;
    const Var xs = constant(x);
    // expectations: mean = convT(x, μ) + μ_b; variance = convT(x², σ²) + σ_b²
    const Var sk = softplus(krho) + 1e-5, sb = softplus(brho) + 1e-5;
    const auto convt = [](const Var& in, const Var& k) {
      return conv_transpose(in, reshape(k, {3, 3, 2, 2}), ConvTransposeOptions().strides(2).padding("SAME"));
    };
    const Tensor mean_expected = (convt(xs, kloc) + bloc).value();
    const Tensor var_expected = (convt(square(xs), square(sk)) + square(sb)).value();
    const std::size_t n = mean_expected.size();
    std::vector<double> s1(n, 0), s2(n, 0);
    for (std::size_t d = 0; d < draws; ++d) {
      const Tensor y = layer(xs).value();
      const double* p = y.data<double>();
      for (std::size_t i = 0; i < n; ++i) {
        const double c = p[i] - mean_expected.at(i);  // centred on the expected mean
        s1[i] += c;
        s2[i] += c * c;
      }
    }
    double worst_z = 0, worst_rel = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double m = s1[i] / draws;
      const double v = s2[i] / draws - m * m;
      const double se = std::sqrt(var_expected.at(i) / draws);
      worst_z = std::max(worst_z, std::fabs(m) / se);
      worst_rel = std::max(worst_rel, std::fabs(v / var_expected.at(i) - 1));
    }
    INFO("sign mode " << std::string(tfn::sign_mode_name(mode)) << ": worst |mean error| " << worst_z << " SE, worst variance error "
                      << worst_rel);
    CHECK(worst_z < 4.0);
    CHECK(worst_rel < 0.05);
  }
}

TEST_CASE("gradcheck of every layer w.r.t. input and every trainable variable (float64, draws fixed by seed)") {
  const auto f64 = DType::float64;
  const Tensor xa = testing::random_tensor({3, 4}, 31), xc = testing::random_tensor({2, 3, 3, 2}, 32);
  const Tensor x1 = testing::random_tensor({2, 4, 2}, 33);
  auto moderate = [](tfn::Layer& l) {  // σ ~ 0.3 so that ρ's gradients are not negligible
    for (auto v : l.trainable_variables())
      if (v.name().find("_rho") != std::string::npos) v.set_value(testing::random_tensor(v.shape(), 34, -1.5, -0.5));
  };
  auto run = [&](tfn::Layer& l, const Tensor& x) {
    moderate(l);
    check_layer_gradients(l, x);
  };
  for (auto mode : {tfn::SignMode::elementwise, tfn::SignMode::per_example_channel}) {
    tfn::ConvolutionTransposeVariationalFlipout t(2, 3, 2, convt_opts().seed(1).sign_mode(mode).activation_fn(tapir::tanh));
    run(t, xc);
    tfn::ConvolutionVariationalFlipout c(2, 3, 2, tfn::ConvolutionOptions().dtype(f64).seed(1).sign_mode(mode).padding("SAME"));
    run(c, xc);
    tfn::AffineVariationalFlipout a(4, 3, tfn::AffineOptions().dtype(f64).seed(1).sign_mode(mode));
    run(a, xa);
  }
  tfn::ConvolutionTransposeVariationalFlipout t1(2, 3, 3, tfn::ConvolutionTransposeOptions().dtype(f64).rank(1).strides(2).seed(1));
  run(t1, x1);
  tfn::ConvolutionTransposeVariationalReparameterization tr(2, 3, 2, convt_opts().seed(1));
  run(tr, xc);
  tfn::ConvolutionVariationalReparameterization cr(2, 3, 2, tfn::ConvolutionOptions().dtype(f64).seed(1));
  run(cr, xc);
  tfn::ConvolutionVariationalFlipoutV2 c2(2, 3, 2, tfn::ConvolutionOptions().dtype(f64).seed(1));
  run(c2, xc);
  tfn::AffineVariationalReparameterization ar(4, 3, tfn::AffineOptions().dtype(f64).seed(1));
  run(ar, xa);
  tfn::ConvolutionVariationalReparameterizationV2 cr2(2, 3, 2, tfn::ConvolutionOptions().dtype(f64).seed(1).strides(2).padding("SAME"));
  run(cr2, xc);
  tfn::ConvolutionV2 cd2(2, 3, 2, tfn::ConvolutionOptions().dtype(f64).seed(1).dilations(2).padding("SAME"));
  run(cd2, xc);
  tfn::ConvolutionTransposeVariationalFlipout t3(
      2, 2, 2, tfn::ConvolutionTransposeOptions().dtype(f64).rank(3).strides({1, 2, 1}).padding("SAME").seed(1));
  run(t3, testing::random_tensor({1, 2, 2, 2, 2}, 35));
  tfn::AffineVariationalReparameterizationLocal al(4, 3, tfn::AffineOptions().dtype(f64).seed(1));
  run(al, xa);
  tfn::ConvolutionTranspose td(2, 3, 2, convt_opts().seed(1));
  run(td, xc);
  tfn::Convolution cd(2, 3, 2, tfn::ConvolutionOptions().dtype(f64).seed(1));
  run(cd, xc);
  tfn::Affine ad(4, 3, tfn::AffineOptions().dtype(f64).seed(1).batch_shape({2, 1}));
  run(ad, xa);
}

TEST_CASE("same seed -> identical outputs at 1 and 2 threads; names give independent streams") {
  const Tensor x = testing::random_tensor({4, 7, 7, 8}, 41, -1, 1, DType::float32);
  auto run = [&](int threads, const std::string& name, std::uint64_t seed) {
    set_num_threads(threads);
    tfn::ConvolutionTransposeVariationalFlipout l(8, 4, 5, tfn::ConvolutionTransposeOptions().strides(2).padding("SAME").seed(seed).name(name));
    Tensor a = l(constant(x)).value();
    Tensor b = l(constant(x)).value();  // the second call draws new numbers
    return std::make_pair(a, b);
  };
  const int before = num_threads();
  const auto one = run(1, "dec", 42), two = run(2, "dec", 42);
  set_num_threads(before);
  CHECK(testing::max_abs_diff(one.first, two.first) == 0.0);
  CHECK(testing::max_abs_diff(one.second, two.second) == 0.0);
  CHECK(testing::max_abs_diff(one.first, one.second) > 0.0);
  const auto other_name = run(before, "dec2", 42), other_seed = run(before, "dec", 43);
  CHECK(testing::max_abs_diff(one.first, other_name.first) > 0.0);
  CHECK(testing::max_abs_diff(one.first, other_seed.first) > 0.0);

  // two layers with the same seed and different names draw independent perturbations: with equal
  // variables, their outputs differ and the differences are uncorrelated across names
  tfn::ConvolutionTransposeVariationalFlipout a(8, 4, 5, tfn::ConvolutionTransposeOptions().seed(1).name("a"));
  tfn::ConvolutionTransposeVariationalFlipout b(8, 4, 5, tfn::ConvolutionTransposeOptions().seed(1).name("b"));
  const auto av = a.variables(), bv = b.variables();
  for (std::size_t i = 0; i < av.size(); ++i) {
    Var t = bv[i];
    t.set_value(av[i].value().clone());
  }
  for (auto& v : a.variables())
    if (v.name().find("rho") != std::string::npos) set_all(v, 0.0);
  for (auto& v : b.variables())
    if (v.name().find("rho") != std::string::npos) set_all(v, 0.0);
  CHECK(testing::max_abs_diff(a(constant(x)).value(), b(constant(x)).value()) > 0.1);
}

TEST_CASE("losses: MC KL at the forward pass's theta, exact KL, compute_extra_loss, KLWeight") {
  const auto f64 = DType::float64;
  auto l1 = std::make_shared<tfn::AffineVariationalFlipout>(3, 2, tfn::AffineOptions().dtype(f64).seed(1).name("l1"));
  auto l2 = std::make_shared<tfn::ConvolutionTransposeVariationalReparameterization>(
      2, 2, 1, tfn::ConvolutionTransposeOptions().dtype(f64).seed(2).name("l2").rank(1)
                   .make_prior_fn(tfn::util::make_kernel_bias_prior_normal));
  auto inner = std::make_shared<tfn::Sequential>(std::function<Var(const Var&)>([](const Var& x) {
                                                   return reshape(x, {x.shape()[0], 1, x.shape()[1]});
                                                 }),
                                                 l2);
  tfn::Sequential model(l1, inner);
  CHECK_THROWS_AS(tfn::losses::compute_extra_loss(model), ValueError);  // not called yet
  Var x = constant(testing::random_tensor({5, 3}, 51));
  CHECK(model(x).shape() == Shape{5, 1, 2});

  // MC KL = log q(θ) - log p(θ) at the θ of the call, by hand for l1
  const auto theta = l1->posterior_value();
  const Tensor kl = l1->losses()[0].value();
  double by_hand = 0;
  const auto v = l1->variables();  // kernel_loc, kernel_rho, bias_loc, bias_rho
  for (int part = 0; part < 2; ++part) {
    const Tensor t = theta[part].value(), loc = v[2 * part].value(), rho = v[2 * part + 1].value();
    for (std::size_t i = 0; i < t.size(); ++i) {
      const double s = std::log1p(std::exp(rho.at(i))) + 1e-5, z = (t.at(i) - loc.at(i)) / s;
      const double log_q = -0.5 * z * z - std::log(s) - 0.5 * std::log(2 * M_PI);
      const double w = t.at(i);
      const double log_p = std::log(0.5 * std::exp(-0.5 * w * w) / std::sqrt(2 * M_PI) +
                                    0.5 * std::exp(-0.5 * w * w / 4e6) / (2000 * std::sqrt(2 * M_PI)));
      by_hand += log_q - log_p;
    }
  }
  CHECK(kl.item() == doctest::Approx(by_hand).epsilon(1e-10));

  // compute_extra_loss sums both (nested Sequential included) with the MC default...
  const double total = tfn::losses::compute_extra_loss(model).item();
  CHECK(total == doctest::Approx(l1->losses()[0].item() + l2->losses()[0].item()).epsilon(1e-12));
  CHECK(model.losses().size() == 2);
  // ... and passes loss_fn down into nested Sequentials: exact KL fails for l1 (spike-and-slab prior)
  CHECK_THROWS_AS(tfn::losses::compute_extra_loss(model, tfn::losses::kl_divergence_exact), NotImplementedError);
  // while l2's Normal prior has a closed form: KL(N(μ,σ) || N(0,1)) summed
  const double exact = tfn::losses::compute_extra_loss(*inner, tfn::losses::kl_divergence_exact).item();
  double expected = 0;
  const auto w2 = l2->variables();
  for (int part = 0; part < 2; ++part) {
    const Tensor loc = w2[2 * part].value(), rho = w2[2 * part + 1].value();
    for (std::size_t i = 0; i < loc.size(); ++i) {
      const double s = std::log1p(std::exp(rho.at(i))) + 1e-5;
      expected += -std::log(s) + 0.5 * (s * s + loc.at(i) * loc.at(i)) - 0.5;
    }
  }
  CHECK(exact == doctest::Approx(expected).epsilon(1e-10));

  // the KL is differentiable w.r.t. the variables
  Var loss = tfn::losses::compute_extra_loss(model);
  backward(loss);
  CHECK(l1->trainable_variables()[1].grad().defined());

  // a model with no variational layer: zero
  tfn::Affine det(3, 2);
  CHECK(tfn::losses::compute_extra_loss(det).item() == 0.0);

  tfn::losses::KLWeight weight(1000);
  CHECK(weight(0) == 1e-3);
  tfn::losses::KLWeight warm(100, 10);
  CHECK(warm(0) == 0.0);
  CHECK(warm(5) == doctest::Approx(0.005));
  CHECK(warm(50) == doctest::Approx(0.01));
  CHECK_THROWS_AS(tfn::losses::KLWeight(0), ValueError);

  // negloglik: -mean over the last axis
  Var nll = tfn::losses::negloglik(x, x, [](const Var& a, const Var& b) { return -square(a - b) + 1.0; });
  CHECK(nll.shape() == Shape{5});
  CHECK(nll.value().at(0) == -1.0);
}

TEST_CASE("training steps keep tape nodes and tensor memory flat") {
  tfn::ConvolutionTransposeVariationalFlipout layer(3, 2, 3, tfn::ConvolutionTransposeOptions().strides(2).seed(1));
  const auto vars = layer.trainable_variables();
  const Var x = constant(testing::random_tensor({2, 4, 4, 3}, 61, -1, 1, DType::float32));
  std::int64_t nodes = 0, bytes = 0;
  for (int step = 0; step < 6; ++step) {
    if (step == 3) {  // the previous step's Vars are gone; the layer keeps only its last θ and KL
      nodes = live_node_count();
      bytes = live_tensor_bytes();
    }
    Var y = layer(x);  // before compute_extra_loss: operand evaluation order is unspecified
    Var loss = sum(square(y)) + tfn::losses::compute_extra_loss(layer) * 1e-3;
    zero_grad(vars);
    backward(loss);
    for (auto v : vars) v.mutable_value().add_(tensor_ops::scale(v.grad(), -1e-3));
  }
  CHECK(live_node_count() == nodes);
  CHECK(live_tensor_bytes() == bytes);
}

// A user-supplied prior factory with trainable parameters (what TFP issue #1337 asks for): a
// Normal(loc, softplus(rho)) prior per kernel and bias element whose loc/rho are layer variables.
namespace {
tfn::TrackedDistribution make_trainable_normal_prior(
    const Shape& kernel_shape, const Shape& bias_shape, const tfn::Initializer&, const tfn::Initializer&, std::size_t,
    std::size_t, DType dtype, const std::string& kernel_name, const std::string& bias_name, const RandomStream&) {
  namespace tfd = tapir::distributions;
  std::vector<Var> vars;
  auto part = [&](const Shape& s, const std::string& name) -> tfd::DistributionPtr {
    Var loc = parameter(Tensor::zeros(s, dtype), name + "_prior_loc");
    Var rho = parameter(Tensor::zeros(s, dtype), name + "_prior_rho");
    vars.push_back(loc);
    vars.push_back(rho);
    auto normal = std::make_shared<tfd::Normal>(tfd::DeferredVar(loc),
                                                tfd::DeferredVar([rho] { return softplus(rho) + 1e-5; }), false, name);
    return std::make_shared<tfd::Independent>(normal, s.size(), false, name);
  };
  auto kernel = part(kernel_shape, kernel_name);
  auto bias = part(bias_shape, bias_name);
  return tfn::TrackedDistribution(
      std::make_shared<tfn::JointDistribution>(std::vector<tfd::DistributionPtr>{kernel, bias}, "prior"), vars);
}
}  // namespace

TEST_CASE("a user-supplied trainable Normal prior trains with the layer (TFP issue #1337)") {
  const auto f64 = DType::float64;
  tfn::ConvolutionTransposeVariationalFlipout layer(
      2, 3, 3, tfn::ConvolutionTransposeOptions().rank(2).strides(2).padding("SAME").dtype(f64).seed(5).name("tp")
                   .make_prior_fn(make_trainable_normal_prior));
  // posterior loc/rho for kernel and bias, plus the prior's loc/rho for kernel and bias
  REQUIRE(layer.trainable_variables().size() == 8);
  Var prior_kernel_loc;
  for (const Var& v : layer.trainable_variables())
    if (v.name() == "tp/prior_kernel_prior_loc") prior_kernel_loc = v;
  REQUIRE(prior_kernel_loc.defined());
  const Tensor before = prior_kernel_loc.value().clone();

  const Var x = constant(testing::random_tensor({2, 4, 4, 2}, 61));
  optim::Adam adam(layer.trainable_variables(), optim::AdamOptions().learning_rate(0.05));
  double first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    layer(x);
    Var kl = tfn::losses::compute_extra_loss(layer, tfn::losses::kl_divergence_exact);  // Normal‖Normal: closed form
    adam.zero_grad();
    backward(kl);
    if (step == 0) {
      REQUIRE(prior_kernel_loc.grad().defined());
      double g = 0;
      for (std::size_t i = 0; i < prior_kernel_loc.grad().size(); ++i) g += std::fabs(prior_kernel_loc.grad().at(i));
      CHECK(g > 0);  // the KL's gradient reaches the prior's parameters
      first = kl.item();
    }
    adam.step();
    last = kl.item();
  }
  CHECK(testing::max_abs_diff(prior_kernel_loc.value(), before) > 1e-3);  // the prior moved
  CHECK(last < 0.5 * first);  // prior and posterior move towards each other
  // MC KL against the same prior is finite and differentiable too
  layer(x);
  CHECK(std::isfinite(tfn::losses::compute_extra_loss(layer).item()));
}

TEST_CASE("Flipout's gradient of E[sum(tanh(y))] w.r.t. loc and rho matches the reparameterization estimator") {
  // Both estimators are unbiased for the same expectation, so their mean gradients over many seeded
  // draws agree within sampling error; tanh makes the expectation depend on the scales (for a
  // linear readout the rho gradient would be zero for both).
  const std::size_t draws = 4000;
  const Var x = constant(testing::random_tensor({2, 3, 3, 2}, 31));
  auto no_kl = [](const auto&, const auto&, const auto&) { return constant(Tensor::scalar(0, DType::float64)); };
  for (auto mode : {tfn::SignMode::elementwise, tfn::SignMode::per_example_channel}) {
    tfn::ConvolutionTransposeVariationalFlipout flip(2, 2, 3, convt_opts().seed(7).sign_mode(mode).divergence_fn(no_kl).name("flip"));
    tfn::ConvolutionTransposeVariationalReparameterization rep(2, 2, 3, convt_opts().seed(8).divergence_fn(no_kl).name("rep"));
    const char* names[] = {"kernel_loc", "kernel_rho", "bias_loc", "bias_rho"};
    const Tensor values[] = {testing::random_tensor({18, 2}, 32), testing::random_tensor({18, 2}, 33, -1.5, -0.5),
                             testing::random_tensor({2}, 34), testing::random_tensor({2}, 35, -2, -1)};
    for (int k = 0; k < 4; ++k) {
      Var a = find_var(flip, names[k]), b = find_var(rep, names[k]);
      a.set_value(values[k].reshape(a.shape()));
      b.set_value(values[k].reshape(b.shape()));
    }
    // per estimator and variable: running sum and sum of squares of the gradient
    auto moments = [&](tfn::Layer& layer) {
      std::vector<std::vector<double>> s1(4), s2(4);
      for (std::size_t d = 0; d < draws; ++d) {
        zero_grad(layer.trainable_variables());
        backward(sum(tanh(layer(x))));
        for (int k = 0; k < 4; ++k) {
          const Tensor& g = find_var(layer, names[k]).grad();
          s1[k].resize(g.size());
          s2[k].resize(g.size());
          for (std::size_t i = 0; i < g.size(); ++i) {
            s1[k][i] += g.at(i);
            s2[k][i] += g.at(i) * g.at(i);
          }
        }
      }
      return std::make_pair(s1, s2);
    };
    const auto [f1, f2] = moments(flip);
    const auto [r1, r2] = moments(rep);
    double worst = 0;
    for (int k = 0; k < 4; ++k)
      for (std::size_t i = 0; i < f1[k].size(); ++i) {
        const double mf = f1[k][i] / draws, mr = r1[k][i] / draws;
        const double vf = f2[k][i] / draws - mf * mf, vr = r2[k][i] / draws - mr * mr;
        const double se = std::sqrt((vf + vr) / draws) + 1e-12;
        worst = std::max(worst, std::fabs(mf - mr) / se);
      }
    INFO("sign mode " << std::string(tfn::sign_mode_name(mode)) << ": worst gradient difference " << worst << " SE");
    CHECK(worst < 4.5);
  }
}

TEST_CASE("ExampleOffsetGuard: two halves of a batch draw the whole batch's per-example noise") {
  const Shape x_shape{6, 5};
  Tensor xv = Tensor::from_vector<double>(x_shape, std::vector<double>(30, 0.0));
  for (std::size_t i = 0; i < 30; ++i) xv.data<double>()[i] = std::sin(0.3 * i);
  auto rows = [&](std::size_t begin, std::size_t end) {
    std::vector<double> v(xv.data<double>() + begin * 5, xv.data<double>() + end * 5);
    return constant(Tensor::from_vector<double>({end - begin, 5}, v));
  };
  auto flip = []() -> std::shared_ptr<tfn::VariationalLayer> { return std::make_shared<tfn::AffineVariationalFlipout>(5, 3, tfn::AffineOptions().seed(9).name("f").dtype(DType::float64)); };
  auto local = []() -> std::shared_ptr<tfn::VariationalLayer> { return std::make_shared<tfn::AffineVariationalReparameterizationLocal>(5, 3, tfn::AffineOptions().seed(9).name("l").dtype(DType::float64)); };
  for (int kind = 0; kind < 2; ++kind) {
    auto whole = kind ? local() : flip();
    auto half = kind ? local() : flip();
    const std::vector<double> y = (*whole)(constant(xv)).value().to_vector<double>();
    std::vector<double> top = (*half)(rows(0, 2)).value().to_vector<double>();
    half->seed_stream().set_counter(0);  // the same weight draws for the second part
    std::vector<double> bottom;
    {
      tfn::ExampleOffsetGuard offset(2);
      CHECK(tfn::ExampleOffsetGuard::current() == 2);
      bottom = (*half)(rows(2, 6)).value().to_vector<double>();
    }
    CHECK(tfn::ExampleOffsetGuard::current() == 0);
    top.insert(top.end(), bottom.begin(), bottom.end());
    REQUIRE(top.size() == y.size());
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(top[i] == doctest::Approx(y[i]).epsilon(1e-13));
    // without the guard the second part repeats the first rows' noise: different outputs
    half->seed_stream().set_counter(0);
    const std::vector<double> unshifted = (*half)(rows(2, 6)).value().to_vector<double>();
    bool differs = false;
    for (std::size_t i = 0; i < unshifted.size(); ++i) differs = differs || std::abs(unshifted[i] - y[6 + i]) > 1e-9;
    CHECK(differs);
  }
}
