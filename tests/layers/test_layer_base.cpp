// tfn::Layer, Sequential, save/load, summary, initializers and util factories.
#include "../testing.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace tapir;
namespace tfn = tapir::nn;
namespace tfd = tapir::distributions;

namespace {

std::string temp_path(const std::string& stem) {
  return "/tmp/tapir_test_layers_" + stem + "_" + std::to_string(::getpid()) + ".npz";
}

template <class E> std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace

TEST_CASE("layer names: class name by default, made unique; explicit names kept") {
  auto a = std::make_shared<tfn::ConvolutionTransposeVariationalFlipout>(2, 3, 3);
  auto b = std::make_shared<tfn::ConvolutionTransposeVariationalFlipout>(2, 3, 3);
  CHECK(a->name().rfind("ConvolutionTransposeVariationalFlipout", 0) == 0);
  CHECK(b->name().rfind("ConvolutionTransposeVariationalFlipout_", 0) == 0);
  CHECK(a->name() != b->name());
  tfn::Affine named(3, 4, tfn::AffineOptions().name("decoder1"));
  CHECK(named.name() == "decoder1");
  CHECK(named.class_name() == "Affine");
  const auto vars = named.variables();
  REQUIRE(vars.size() == 2);
  CHECK(vars[0].name() == "decoder1/kernel");
  CHECK(vars[1].name() == "decoder1/bias");
}

TEST_CASE("variational layer: 4 trainable variables named <layer>/kernel_loc ... and a summary table") {
  tfn::ConvolutionTransposeVariationalFlipout layer(4, 3, {3, 2}, tfn::ConvolutionTransposeOptions().name("decoder1"));
  const auto vars = layer.trainable_variables();
  REQUIRE(vars.size() == 4);
  CHECK(vars[0].name() == "decoder1/kernel_loc");
  CHECK(vars[1].name() == "decoder1/kernel_rho");
  CHECK(vars[2].name() == "decoder1/bias_loc");
  CHECK(vars[3].name() == "decoder1/bias_rho");
  CHECK(vars[0].shape() == Shape{3 * 2 * 4, 3});  // TFP's flat kernel
  CHECK(vars[2].shape() == Shape{3});
  CHECK(layer.non_trainable_variables().empty());
  // σ starts at 1e-3: ρ₀ = log(expm1(1e-3 - 1e-5))
  CHECK(vars[1].value().at(0) == doctest::Approx(std::log(std::expm1(1e-3 - 1e-5))).epsilon(1e-6));
  CHECK(vars[1].value().at(0) == doctest::Approx(-6.917311).epsilon(1e-6));
  const std::string s = layer.summary();
  CHECK(s.find("decoder1/kernel_loc") != std::string::npos);
  CHECK(s.find("[24,3]") != std::string::npos);
  CHECK(s.find("Total: 4 variables, 150 parameters (trainable 150, non-trainable 0)") != std::string::npos);
}

TEST_CASE("Sequential: threads layers and callables, slices, traces, collects variables") {
  auto l1 = std::make_shared<tfn::Affine>(3, 4, tfn::AffineOptions().name("l1").seed(1));
  auto l2 = std::make_shared<tfn::AffineVariationalFlipout>(4, 2, tfn::AffineOptions().name("l2").seed(2));
  tfn::Sequential model(l1, [](const Var& x) { return tapir::relu(x); }, l2);
  CHECK(model.name() == "l1_function_l2");
  CHECK(model.size() == 3);
  CHECK(model.variables().size() == 6);
  CHECK(model.trainable_variables().size() == 6);
  CHECK(model.submodules().size() == 2);
  Var x = constant(testing::random_tensor({5, 3}, 1, -1, 1, DType::float32));
  Var y = model(x);
  CHECK(y.shape() == Shape{5, 2});
  REQUIRE(model.losses().size() == 1);  // l2's KL
  CHECK(std::isfinite(model.losses()[0].item()));

  // slicing: a new Sequential with the same name, sharing the layers
  auto head = model.slice(0, 2);
  CHECK(head->name() == model.name());
  CHECK(head->size() == 2);
  CHECK((*head)(x).shape() == Shape{5, 4});
  CHECK(model.slice(-1)->size() == 1);
  CHECK(model.slice(-1)->variables()[0].impl() == l2->variables()[0].impl());
  CHECK_THROWS_AS(model.slice(2, 1), ValueError);

  // trace mode prints each element's output shape
  std::ostringstream trace;
  model.set_trace(true, &trace);
  model(x);
  CHECK(trace.str() == "l1_function_l2 > l1: [5,4] float32\n"
                       "l1_function_l2 > function: [5,4] float32\n"
                       "l1_function_l2 > l2: [5,2] float32\n");

  // nested Sequentials: variables and losses recurse
  auto inner = std::make_shared<tfn::Sequential>(l2);
  tfn::Sequential outer(l1, inner);
  CHECK(outer.variables().size() == 6);
  CHECK(outer.submodules().size() == 3);
  outer(x);
  CHECK(outer.losses().size() == 1);
}

TEST_CASE("Sequential: an empty list is an error; an empty function is the identity") {
  CHECK_THROWS_AS(tfn::Sequential(std::vector<tfn::Sequential::Element>{}), ValueError);
  tfn::Sequential id(std::function<Var(const Var&)>{});
  Var x = constant(Tensor::ones({2}, DType::float32));
  CHECK(id(x).value().at(1) == 1.0);
}

TEST_CASE("save/load round trip is exact; mismatched or corrupt files fail clearly and change nothing") {
  const std::string path = temp_path("roundtrip");
  auto make = [](std::uint64_t seed) {
    auto enc = std::make_shared<tfn::ConvolutionVariationalFlipout>(
        1, 3, 3, tfn::ConvolutionOptions().name("enc").seed(seed).padding("SAME"));
    auto dec = std::make_shared<tfn::ConvolutionTransposeVariationalFlipout>(
        3, 1, 3, tfn::ConvolutionTransposeOptions().name("dec").seed(seed));
    return std::make_shared<tfn::Sequential>(enc, dec);
  };
  auto a = make(1), b = make(2);
  a->save(path);
  const auto va = a->variables(), vb = b->variables();
  REQUIRE(va.size() == 8);
  CHECK(testing::max_abs_diff(va[0].value(), vb[0].value()) > 0);
  b->load(path);
  for (std::size_t i = 0; i < va.size(); ++i) {
    CHECK(va[i].name() == vb[i].name());
    CHECK(testing::max_abs_diff(va[i].value(), vb[i].value()) == 0.0);
  }

  // a layer with other shapes: ShapeError naming the variable, nothing changed
  auto other = std::make_shared<tfn::Sequential>(
      std::make_shared<tfn::ConvolutionVariationalFlipout>(1, 4, 3, tfn::ConvolutionOptions().name("enc").seed(3)),
      std::make_shared<tfn::ConvolutionTransposeVariationalFlipout>(4, 1, 3,
                                                                    tfn::ConvolutionTransposeOptions().name("dec").seed(3)));
  const auto before = other->variables()[0].value().clone();
  const std::string msg = message_of<ShapeError>([&] { other->load(path); });
  CHECK(msg.find("enc/kernel_loc") != std::string::npos);
  CHECK(msg.find("[3,3,1,4]") != std::string::npos);
  CHECK(testing::max_abs_diff(other->variables()[0].value(), before) == 0.0);

  // a different dtype: TypeError
  auto f64 = std::make_shared<tfn::Sequential>(
      std::make_shared<tfn::ConvolutionVariationalFlipout>(
          1, 3, 3, tfn::ConvolutionOptions().name("enc").seed(3).dtype(DType::float64)),
      std::make_shared<tfn::ConvolutionTransposeVariationalFlipout>(
          3, 1, 3, tfn::ConvolutionTransposeOptions().name("dec").seed(3).dtype(DType::float64)));
  CHECK_THROWS_AS(f64->load(path), TypeError);

  // different names: IOError naming the missing variable
  tfn::ConvolutionVariationalFlipout renamed(1, 3, 3, tfn::ConvolutionOptions().name("encoder").seed(3));
  CHECK(message_of<IOError>([&] { renamed.load(path); }).find("encoder/kernel_loc") != std::string::npos);
  // extra names in the file: IOError
  tfn::ConvolutionVariationalFlipout only_enc(1, 3, 3, tfn::ConvolutionOptions().name("enc").seed(3));
  CHECK(message_of<IOError>([&] { only_enc.load(path); }).find("the file holds 'dec/") != std::string::npos);

  // a truncated file: IOError, nothing changed
  {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  const auto b0 = b->variables()[0].value().clone();
  CHECK_THROWS_AS(b->load(path), IOError);
  CHECK(testing::max_abs_diff(b->variables()[0].value(), b0) == 0.0);
  CHECK_THROWS_AS(b->load(path + ".does_not_exist"), IOError);
  std::remove(path.c_str());
}

TEST_CASE("initializers: TFP fan rules and ranges") {
  using tfn::initializers::compute_fans;
  CHECK(compute_fans({5 * 5 * 64, 32}).fan_in == 1600);  // flat conv-transpose kernel
  CHECK(compute_fans({5 * 5 * 64, 32}).fan_out == 32);
  CHECK(compute_fans({5, 5, 64, 32}).fan_in == 1600);  // 4-D kernel: rf multiplies both
  CHECK(compute_fans({5, 5, 64, 32}).fan_out == 800);
  CHECK(compute_fans({7}).fan_in == 7);  // bias: [c] -> (c, 1)
  CHECK(compute_fans({7}).fan_out == 1);
  CHECK(compute_fans({3, 10, 20}, 1).fan_in == 10);  // batch dim dropped
  const RandomStream s(7, "init");
  struct Case {
    tfn::Initializer init;
    double limit;
    bool uniform;
  };
  const Shape shape{400, 100};
  const double fan_in = 400, fan_out = 100;
  const Case cases[] = {
      {tfn::initializers::glorot_uniform(), std::sqrt(6.0 / (fan_in + fan_out)), true},
      {tfn::initializers::he_uniform(), std::sqrt(6.0 / fan_in), true},
      {tfn::initializers::glorot_normal(), 2 * std::sqrt(2.0 / (fan_in + fan_out)) / 0.87962566103423978, false},
      {tfn::initializers::he_normal(), 2 * std::sqrt(2.0 / fan_in) / 0.87962566103423978, false},
  };
  for (const auto& c : cases) {
    const Tensor t = c.init(shape, DType::float64, 0, s);
    double mx = 0, m2 = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
      mx = std::max(mx, std::fabs(t.at(i)));
      m2 += t.at(i) * t.at(i);
    }
    m2 /= static_cast<double>(t.size());
    CHECK(mx <= c.limit);
    CHECK(mx > 0.95 * c.limit);
    // variance: uniform limit²/3; the truncated normal is scaled to have the untruncated variance
    const double expected = c.uniform ? c.limit * c.limit / 3 : std::pow(c.limit / 2 * 0.87962566103423978, 2);
    CHECK(m2 == doctest::Approx(expected).epsilon(0.03));
  }
  // seeded factories ignore the stream they are handed; unseeded ones follow it
  const auto seeded = tfn::initializers::he_uniform(5);
  CHECK(testing::max_abs_diff(seeded({4, 4}, DType::float32, 0, RandomStream(1, "a")),
                              seeded({4, 4}, DType::float32, 0, RandomStream(2, "b"))) == 0.0);
  const auto free = tfn::initializers::he_uniform();
  CHECK(testing::max_abs_diff(free({4, 4}, DType::float32, 0, RandomStream(1, "a")),
                              free({4, 4}, DType::float32, 0, RandomStream(2, "b"))) > 0.0);
}

TEST_CASE("kernel_initializer option reaches the kernel loc (he_uniform vs glorot_uniform limits)") {
  // flat conv-T kernel [5*5*16, 8]: glorot limit sqrt(6/(400+8)) ~ 0.121, he limit sqrt(6/400) ~ 0.122; use a
  // shape where they differ a lot: c_out = 400
  tfn::ConvolutionTransposeVariationalFlipout g(16, 400, 5, tfn::ConvolutionTransposeOptions().seed(1));
  tfn::ConvolutionTransposeVariationalFlipout h(
      16, 400, 5, tfn::ConvolutionTransposeOptions().seed(1).kernel_initializer(tfn::initializers::he_uniform()));
  auto maxabs = [](const Tensor& t) {
    double m = 0;
    for (std::size_t i = 0; i < t.size(); ++i) m = std::max(m, std::fabs(t.at(i)));
    return m;
  };
  CHECK(maxabs(g.variables()[0].value()) <= std::sqrt(6.0 / 800));
  CHECK(maxabs(g.variables()[0].value()) > 0.95 * std::sqrt(6.0 / 800));
  CHECK(maxabs(h.variables()[0].value()) > 0.95 * std::sqrt(6.0 / 400));
  // bias_initializer
  tfn::AffineVariationalFlipout b(3, 2, tfn::AffineOptions().bias_initializer(tfn::initializers::constant(0.25)));
  CHECK(b.variables()[2].value().at(1) == 0.25);
}

TEST_CASE("util: posterior and prior factories, unpack, flatten_rightmost") {
  auto q = tfn::util::make_kernel_bias_posterior_mvn_diag({6, 2}, {2}, nullptr, nullptr, 0, 0, DType::float64,
                                                          "k", "b", RandomStream(3, "x"));
  REQUIRE(q.variables.size() == 4);
  CHECK(q.variables[0].name() == "k_loc");
  CHECK(q.variables[1].name() == "k_rho");
  auto kn = std::dynamic_pointer_cast<tfd::Normal>(tfd::peel_independent(q.distribution->part(0)));
  REQUIRE(kn);
  CHECK(kn->scale().value().at(0) == doctest::Approx(1e-3).epsilon(1e-9));
  CHECK(q.distribution->part(0)->event_shape() == Shape{6, 2});

  auto p = tfn::util::make_kernel_bias_prior_spike_and_slab({6, 2}, {2}, nullptr, nullptr, 0, 0, DType::float64);
  CHECK(p.variables.empty());
  // log-density by log-sum-exp: finite far in the tails, and equal to the mixture formula
  for (double w : {0.0, 0.5, 3.0, 40.0, 1e4, -1e6}) {
    Var v = parameter(Tensor::full({6, 2}, DType::float64, w));
    Var lp = p.distribution->part(0)->log_prob(v);
    const double n1 = std::exp(-0.5 * w * w) / std::sqrt(2 * M_PI);
    const double n2 = std::exp(-0.5 * (w / 2000) * (w / 2000)) / (2000 * std::sqrt(2 * M_PI));
    const double expected = 12 * std::log(0.5 * n1 + 0.5 * n2);
    CHECK(std::isfinite(lp.item()));
    if (std::isfinite(expected)) CHECK(lp.item() == doctest::Approx(expected).epsilon(1e-9));
    backward(lp);
    CHECK(std::isfinite(v.grad().at(0)));
  }

  // the prior is TFP's structure (Sample of a MixtureSameFamily) and agrees with the generic
  // MixtureSameFamily in value and gradient
  auto sample_part = std::dynamic_pointer_cast<tfd::Sample>(p.distribution->part(0));
  REQUIRE(sample_part);
  REQUIRE(std::dynamic_pointer_cast<tfd::MixtureSameFamily>(sample_part->distribution()));
  auto generic = std::make_shared<tfd::MixtureSameFamily>(
      std::make_shared<tfd::Categorical>(tfd::Probs{tfd::DeferredVar(constant(Tensor::full({2}, DType::float64, 0.5)))}),
      std::make_shared<tfd::Normal>(tfd::DeferredVar(constant(Tensor::zeros({}, DType::float64))),
                                    tfd::DeferredVar(constant(Tensor::from_vector<double>({2}, {1.0, 2000.0})))));
  Tensor w = testing::random_tensor({6, 2}, 5, -8, 8);
  w.data<double>()[0] = 0;
  w.data<double>()[1] = 3000;
  Var wa = parameter(w), wb = parameter(w);
  Var la = sample_part->log_prob(wa), lb = tfd::Sample(generic, {6, 2}).log_prob(wb);
  CHECK(la.item() == doctest::Approx(lb.item()).epsilon(1e-12));
  backward(la);
  backward(lb);
  CHECK(testing::max_abs_diff(wa.grad(), wb.grad()) < 1e-12);

  const auto [k, b] = tfn::util::unpack_kernel_and_bias({constant(Tensor::ones({2}, DType::float32)),
                                                         constant(Tensor::zeros({3}, DType::float32))});
  CHECK(k.shape() == Shape{2});
  CHECK(b.shape() == Shape{3});
  CHECK_FALSE(tfn::util::unpack_kernel_and_bias({k}).second.defined());
  CHECK_THROWS_AS(tfn::util::unpack_kernel_and_bias({k, k, k}), ValueError);

  Var x = constant(Tensor::zeros({2, 14, 14, 32}, DType::float32));
  CHECK(tfn::util::flatten_rightmost(x, 3).shape() == Shape{2, 6272});
  CHECK(tfn::util::flatten_rightmost_fn(2)(x).shape() == Shape{2, 14, 448});
  CHECK_THROWS_AS(tfn::util::flatten_rightmost(x, 5), ShapeError);
}

