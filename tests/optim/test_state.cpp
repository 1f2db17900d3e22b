// Saving and loading optimizer state: bit-identical resume, and clear failures for a state file
// that does not fit the optimizer.
#include "helpers.hpp"

#include <cmath>
#include <cstdio>
#include <map>

#include <unistd.h>

using namespace tapir;
using namespace optim_testing;
namespace opt = tapir::optim;

namespace {

std::string temp_file(const std::string& name) {
  return "/tmp/tapir_test_" + std::to_string(::getpid()) + "_" + name;
}

/// Builds an optimizer with two groups (the second without weight decay), plus its schedule.
using GroupFactory = std::function<std::unique_ptr<opt::Optimizer>(const std::vector<Var>&, const std::vector<Var>&)>;

std::vector<std::pair<std::string, GroupFactory>> group_factories() {
  const auto skip = opt::NonFinite::skip;
  return {
      {"Adam", [=](const std::vector<Var>& a, const std::vector<Var>& b) {
         auto o = std::make_unique<opt::Adam>(a, opt::AdamOptions().learning_rate(0.05).amsgrad(true).weight_decay(0.1).on_nonfinite(skip));
         o->add_param_group(b, o->defaults().weight_decay(0));
         return std::unique_ptr<opt::Optimizer>(std::move(o));
       }},
      {"AdamW", [=](const std::vector<Var>& a, const std::vector<Var>& b) {
         auto o = std::make_unique<opt::AdamW>(a, opt::AdamWOptions().learning_rate(0.05).on_nonfinite(skip));
         o->add_param_group(b, o->defaults().weight_decay(0));
         return std::unique_ptr<opt::Optimizer>(std::move(o));
       }},
      {"SGD", [=](const std::vector<Var>& a, const std::vector<Var>& b) {
         auto o = std::make_unique<opt::SGD>(a, opt::SGDOptions().learning_rate(0.05).momentum(0.9).nesterov(true).on_nonfinite(skip));
         o->add_param_group(b, o->defaults().learning_rate(0.01));
         return std::unique_ptr<opt::Optimizer>(std::move(o));
       }},
      {"RMSProp", [=](const std::vector<Var>& a, const std::vector<Var>& b) {
         auto o = std::make_unique<opt::RMSProp>(a, opt::RMSPropOptions().centered(true).momentum(0.5).on_nonfinite(skip));
         o->add_param_group(b, o->defaults().weight_decay(0.1));
         return std::unique_ptr<opt::Optimizer>(std::move(o));
       }},
      {"Adagrad", [=](const std::vector<Var>& a, const std::vector<Var>& b) {
         auto o = std::make_unique<opt::Adagrad>(a, opt::AdagradOptions().lr_decay(0.1).initial_accumulator_value(0.1).on_nonfinite(skip));
         o->add_param_group(b, o->defaults().learning_rate(0.1));
         return std::unique_ptr<opt::Optimizer>(std::move(o));
       }},
  };
}

struct Model {
  Var kernel, bias, head;  // float32 [37] (SIMD body + tail), float64 [3], float64 [2]
  std::vector<Var> all() const { return {kernel, bias, head}; }
};

Model make_model() {
  return {parameter(testing::random_tensor({37}, 1, -1, 1, DType::float32), "dense/kernel"),
          parameter(testing::random_tensor({3}, 2), "dense/bias"),
          parameter(testing::random_tensor({2}, 3), "head")};
}

/// Training step `t`: gradients are a fixed function of (t, the current values); "head" gets a
/// gradient only on even steps; step 1 has a NaN (skipped).
void training_step(const Model& m, opt::Optimizer& o, int t) {
  for (const Var& p : m.all()) {
    Values g = values(p);
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = std::sin(g[i] * (t + 1)) + 0.1 * t;
    if (t == 1 && p.name() == "dense/bias") g[0] = NAN;
    if (p.name() == "head" && t % 2 == 1) Var(p).zero_grad();
    else set_grad(p, g);
  }
  o.step();
}

opt::Schedule schedule() { return opt::linear_warmup(2, opt::halflife_decay(3.0, 1.0, 0.1)); }

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

}  // namespace

TEST_SUITE("optim/state") {

TEST_CASE("a resumed run continues bit-identically to an uninterrupted one") {
  const std::string model_path = temp_file("model.npz"), state_path = temp_file("opt.npz");
  for (const auto& [kind, factory] : group_factories()) {
    INFO(kind);
    // Uninterrupted: 7 steps.
    Model straight = make_model();
    auto o1 = factory({straight.kernel, straight.bias}, {straight.head});
    o1->set_schedule(schedule());
    for (int t = 0; t < 7; ++t) training_step(straight, *o1, t);

    // Interrupted after 4 steps: save model and optimizer, rebuild both from the files.
    Model first = make_model();
    auto o2 = factory({first.kernel, first.bias}, {first.head});
    o2->set_schedule(schedule());
    for (int t = 0; t < 4; ++t) training_step(first, *o2, t);
    io::NamedTensors weights;
    for (const Var& p : first.all()) weights.emplace_back(p.name(), p.value());
    io::save_npz(model_path, weights);
    opt::save_state(*o2, state_path);
    o2.reset();

    Model resumed = make_model();  // fresh values, replaced from the file
    const auto loaded = io::load_npz(model_path);
    REQUIRE(loaded.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) Var(resumed.all()[i]).set_value(loaded[i].second);
    auto o3 = factory({resumed.kernel, resumed.bias}, {resumed.head});
    o3->set_schedule(schedule());
    opt::load_state(*o3, state_path);
    CHECK(o3->step_count() == 3);
    CHECK(o3->skipped_steps() == 1);
    for (int t = 4; t < 7; ++t) training_step(resumed, *o3, t);

    for (std::size_t i = 0; i < 3; ++i) {
      INFO(straight.all()[i].name());
      CHECK(same_bits(straight.all()[i].value(), resumed.all()[i].value()));
    }
    const auto s1 = opt::state_dict(*o1), s3 = opt::state_dict(*o3);
    REQUIRE(s1.size() == s3.size());
    for (std::size_t i = 0; i < s1.size(); ++i) {
      INFO(s1[i].first);
      CHECK(s1[i].first == s3[i].first);
      CHECK(same_bits(s1[i].second, s3[i].second));
    }
    // And the run did move: the state is not trivially equal.
    CHECK(!same_bits(straight.kernel.value(), make_model().kernel.value()));
  }
  std::remove(model_path.c_str());
  std::remove(state_path.c_str());
}

TEST_CASE("the state file is plain .npz with readable keys; hyper-parameters are restored") {
  const std::string path = temp_file("keys.npz");
  Model m = make_model();
  opt::Adam adam(m.all(), opt::AdamOptions().learning_rate(0.01).amsgrad(true));
  training_step(m, adam, 0);
  opt::save_state(adam, path);
  std::map<std::string, Tensor> file;
  for (const auto& [k, t] : io::load_npz(path)) file[k] = t;
  CHECK(file.count("optimizer/kind/Adam"));
  CHECK(file.at("optimizer/step_count").item() == 1);
  CHECK(file.at("group/0/learning_rate").item() == 0.01);
  CHECK(file.at("group/0/amsgrad").item() == 1);
  CHECK(file.at("param/0/dense/kernel/exp_avg").dtype() == DType::float32);
  CHECK(file.at("param/0/dense/kernel/exp_avg").shape() == Shape{37});
  CHECK(file.count("param/2/head/max_exp_avg_sq"));

  Model other = make_model();
  opt::Adam fresh(other.all(), opt::AdamOptions().learning_rate(0.5));
  opt::load_state(fresh, path);
  CHECK(fresh.options(0).learning_rate() == 0.01);
  CHECK(fresh.options(0).amsgrad());
  CHECK(fresh.state(other.kernel).step == 1);
  std::remove(path.c_str());
}

TEST_CASE("a state file for another parameter list fails, naming what differs, changing nothing") {
  const std::string path = temp_file("wrong.npz");
  Var kernel = parameter(testing::random_tensor({2, 3}, 4), "kernel");
  Var bias = parameter(testing::random_tensor({3}, 5), "bias");
  opt::Adam saved({kernel, bias}, opt::AdamOptions().learning_rate(0.1));
  set_grad(kernel, Values(6, 1.0));
  set_grad(bias, Values(3, 1.0));
  saved.step();
  opt::save_state(saved, path);

  auto try_load = [&](opt::Optimizer& o) { opt::load_state(o, path); };
  Var k2 = parameter(testing::random_tensor({2, 3}, 4), "kernel");
  Var b2 = parameter(testing::random_tensor({3}, 5), "bias");

  {  // one parameter too many
    Var extra = parameter(tensor({1.0}), "extra");
    opt::Adam o({k2, b2, extra});
    CHECK_THROWS_WITH_AS(try_load(o), doctest::Contains("has 2 parameters in group 0; the optimizer has 3"), ValueError);
  }
  {  // shape
    Var k_t = parameter(testing::random_tensor({3, 2}, 4), "kernel");
    opt::Adam o({k_t, b2});
    CHECK_THROWS_WITH_AS(try_load(o), doctest::Contains("shape [2,3] for parameter 0 'kernel', which has shape [3,2]"), ValueError);
  }
  {  // dtype
    Var k32 = parameter(testing::random_tensor({2, 3}, 4, -1, 1, DType::float32), "kernel");
    opt::Adam o({k32, b2});
    CHECK_THROWS_WITH_AS(try_load(o), doctest::Contains("float64 for parameter 0 'kernel', which is float32"), ValueError);
  }
  {  // name
    Var renamed = parameter(testing::random_tensor({2, 3}, 4), "weights");
    opt::Adam o({renamed, b2});
    CHECK_THROWS_WITH_AS(try_load(o), doctest::Contains("names parameter 0 'kernel'; the optimizer's parameter 0 is 'weights'"), ValueError);
  }
  {  // order
    opt::Adam o({b2, k2});
    CHECK_THROWS_WITH_AS(try_load(o), doctest::Contains("'bias'"), ValueError);
  }
  {  // groups
    opt::Adam o({k2});
    o.add_param_group({b2});
    CHECK_THROWS_WITH_AS(try_load(o), doctest::Contains("parameter groups"), ValueError);
  }
  {  // optimizer kind
    opt::SGD o({k2, b2});
    CHECK_THROWS_WITH_AS(try_load(o), doctest::Contains("holds Adam state; this optimizer is SGD"), ValueError);
  }

  // A failed load leaves the optimizer exactly as it was: it goes on like an untouched twin.
  Var k3 = parameter(testing::random_tensor({2, 3}, 4), "weights");
  Var twin_k = parameter(testing::random_tensor({2, 3}, 4), "weights");
  opt::Adam target({k3, b2}, opt::AdamOptions().learning_rate(0.3));
  opt::Adam twin({twin_k, Var(parameter(b2.value(), "bias"))}, opt::AdamOptions().learning_rate(0.3));
  for (int t = 0; t < 2; ++t) {
    for (opt::Adam* o : {&target, &twin}) {
      for (Var p : o->parameters()) set_grad(p, Values(p.size(), 0.5 + t));
      o->step();
    }
    if (t == 0) CHECK_THROWS_AS(try_load(target), ValueError);
  }
  CHECK(same_bits(k3.value(), twin_k.value()));
  CHECK(target.options(0).learning_rate() == 0.3);
  CHECK(target.state(k3).step == 2);
  std::remove(path.c_str());
}

TEST_CASE("malformed state is rejected before anything changes") {
  Var p = parameter(tensor({1.0, 2.0}), "p");
  opt::Adam adam({p}, opt::AdamOptions().learning_rate(0.1));
  set_grad(p, {1.0, 1.0});
  adam.step();
  const io::NamedTensors good = opt::state_dict(adam);

  auto edited = [&](const std::string& key, const Tensor& value) {
    io::NamedTensors s = good;
    for (auto& kv : s)
      if (kv.first == key) kv.second = value;
    return s;
  };
  Var q = parameter(tensor({1.0, 2.0}), "p");
  opt::Adam target({q}, opt::AdamOptions().learning_rate(0.7));
  CHECK_THROWS_WITH_AS(opt::load_state_dict(target, edited("group/0/amsgrad", Tensor::scalar(0.5, DType::float64))),
                       doctest::Contains("amsgrad"), ValueError);
  CHECK_THROWS_WITH_AS(opt::load_state_dict(target, edited("group/0/beta1", Tensor::scalar(1.0, DType::float64))),
                       doctest::Contains("beta1"), ValueError);
  CHECK_THROWS_WITH_AS(opt::load_state_dict(target, edited("param/0/p/exp_avg", Tensor::zeros({3}, DType::float64))),
                       doctest::Contains("exp_avg"), ValueError);
  CHECK_THROWS_WITH_AS(opt::load_state_dict(target, edited("optimizer/step_count", Tensor::scalar(1.5, DType::float64))),
                       doctest::Contains("whole number"), ValueError);
  io::NamedTensors extra = good;
  extra.emplace_back("group/0/momentum", Tensor::scalar(0.9, DType::float64));
  CHECK_THROWS_WITH_AS(opt::load_state_dict(target, extra), doctest::Contains("'momentum'"), ValueError);
  io::NamedTensors missing;
  for (const auto& kv : good)
    if (kv.first != "param/0/p/exp_avg_sq") missing.push_back(kv);
  CHECK_THROWS_WITH_AS(opt::load_state_dict(target, missing), doctest::Contains("exp_avg_sq"), ValueError);
  CHECK(target.options(0).learning_rate() == 0.7);
  CHECK(target.state(q).step == 0);

  opt::load_state_dict(target, good);
  CHECK(target.options(0).learning_rate() == 0.1);
  CHECK(target.state(q).step == 1);
  CHECK_THROWS_AS(opt::load_state(target, temp_file("does_not_exist.npz")), IOError);
}

}  // TEST_SUITE
