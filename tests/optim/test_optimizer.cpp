// Behaviour shared by all optimizers: parameters without gradients, parameter groups, state
// allocation, argument checking.
#include "helpers.hpp"

#include <cmath>

using namespace tapir;
using namespace optim_testing;
namespace opt = tapir::optim;

TEST_SUITE("optim/optimizer") {

TEST_CASE("a parameter without a gradient is untouched, and so are its state and step count") {
  Var a = parameter(tensor({1.0, 2.0}), "a");
  Var b = parameter(tensor({3.0, 4.0}), "b");
  opt::Adam adam({a, b}, opt::AdamOptions().learning_rate(0.1));
  set_grad(a, {1.0, -1.0});
  set_grad(b, {0.5, 0.5});
  adam.step();
  const Values b_after_1 = values(b);
  CHECK(adam.state(b).step == 1);

  b.zero_grad();  // b gets no gradient in step 2
  set_grad(a, {1.0, -1.0});
  adam.step();
  CHECK(values(b) == b_after_1);
  CHECK(adam.state(a).step == 2);
  CHECK(adam.state(b).step == 1);

  // A parameter first updated late starts at t = 1: it moves like a fresh Adam's first step.
  Var c = parameter(tensor({5.0}), "c");
  Var d = parameter(tensor({6.0}), "d");
  opt::Adam late({c, d}, opt::AdamOptions().learning_rate(0.1));
  set_grad(c, {1.0});
  late.step();
  late.step();
  CHECK(values(d) == Values{6.0});
  CHECK(late.state(d).buffers.empty());  // no state allocated for it yet
  set_grad(d, {2.0});
  late.step();
  CHECK(late.state(d).step == 1);
  CHECK(values(d)[0] == doctest::Approx(6.0 - 0.1));  // Adam's first step moves lr * sign(g)
}

TEST_CASE("zero_grad clears every parameter's gradient") {
  Var a = parameter(tensor({1.0}), "a");
  Var b = parameter(tensor({1.0}), "b");
  opt::SGD sgd({a});
  sgd.add_param_group({b});
  backward(sum(a * b));
  CHECK(a.grad().defined());
  sgd.zero_grad();
  CHECK(!a.grad().defined());
  CHECK(!b.grad().defined());
}

TEST_CASE("per-group options: no weight decay and another rate for biases") {
  Var w = parameter(tensor({1.0, -1.0}), "kernel");
  Var bias = parameter(tensor({0.5}), "bias");
  opt::SGD sgd({w}, opt::SGDOptions().learning_rate(0.1).weight_decay(0.5));
  sgd.add_param_group({bias}, sgd.defaults().weight_decay(0).learning_rate(0.01));
  REQUIRE(sgd.num_param_groups() == 2);
  CHECK(sgd.options(1).weight_decay() == 0.0);
  CHECK(sgd.defaults().weight_decay() == 0.5);  // defaults() returned a copy
  set_grad(w, {1.0, 1.0});
  set_grad(bias, {1.0});
  sgd.step();
  CHECK(values(w)[0] == doctest::Approx(1.0 - 0.1 * (1.0 + 0.5 * 1.0)));
  CHECK(values(w)[1] == doctest::Approx(-1.0 - 0.1 * (1.0 + 0.5 * -1.0)));
  CHECK(values(bias)[0] == doctest::Approx(0.5 - 0.01 * 1.0));
  CHECK(sgd.learning_rate(1) == doctest::Approx(0.01));
  CHECK(sgd.parameters().size() == 2);
}

TEST_CASE("state is allocated once; steps update in place and allocate nothing") {
  Var p = parameter(testing::random_tensor({1000}, 1), "p");
  opt::Adam adam({p}, opt::AdamOptions().amsgrad(true));
  set_grad(p, Values(1000, 0.5));
  adam.step();
  const opt::ParamState& st = adam.state(p);
  REQUIRE(st.buffers.size() == 3);
  const void* value_ptr = p.value().raw_data();
  const void* m_ptr = st.buffers[0].raw_data();
  const std::int64_t live = tapir::live_tensor_bytes();
  adam.step();
  adam.step();
  CHECK(tapir::live_tensor_bytes() == live);
  CHECK(p.value().raw_data() == value_ptr);
  CHECK(adam.state(p).buffers[0].raw_data() == m_ptr);
  CHECK(adam.state(p).step == 3);
  CHECK(adam.buffer_names(0) == std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"});
}

TEST_CASE("a graph recorded before the step keeps the value it saw") {
  Var p = parameter(tensor({2.0}), "p");
  Var y = p * p;  // saves p's value for its backward
  opt::SGD sgd({p}, opt::SGDOptions().learning_rate(0.5));
  set_grad(p, {1.0});
  sgd.step();
  CHECK(values(p)[0] == 1.5);
  backward(y);  // d(p²)/dp at the recorded p = 2
  CHECK(p.grad().item() == doctest::Approx(1.0 + 4.0));
}

TEST_CASE("bad parameter lists and options are rejected, naming what is wrong") {
  Var p = parameter(tensor({1.0}), "kernel");
  Var c = constant(tensor({1.0}), "c");
  CHECK_THROWS_WITH_AS(opt::SGD({}), doctest::Contains("empty"), ValueError);
  CHECK_THROWS_WITH_AS(opt::SGD({c}), doctest::Contains("'c'"), ValueError);
  CHECK_THROWS_WITH_AS(opt::SGD({p * 2.0}), doctest::Contains("not a leaf"), ValueError);
  CHECK_THROWS_WITH_AS(opt::SGD({p, p}), doctest::Contains("more than once"), ValueError);
  CHECK_THROWS_AS(opt::SGD({Var()}), ValueError);
  opt::Adam adam({p});
  CHECK_THROWS_WITH_AS(adam.add_param_group({p}), doctest::Contains("'kernel'"), ValueError);

  Var q = parameter(tensor({1.0}), "q");
  CHECK_THROWS_WITH_AS(opt::Adam({q}, opt::AdamOptions().learning_rate(-1)), doctest::Contains("learning_rate"), ValueError);
  CHECK_THROWS_WITH_AS(opt::Adam({q}, opt::AdamOptions().betas(1.0, 0.999)), doctest::Contains("beta1"), ValueError);
  CHECK_THROWS_WITH_AS(opt::Adam({q}, opt::AdamOptions().epsilon(NAN)), doctest::Contains("epsilon"), ValueError);
  CHECK_THROWS_WITH_AS(opt::SGD({q}, opt::SGDOptions().nesterov(true)), doctest::Contains("nesterov"), ValueError);
  CHECK_THROWS_WITH_AS(opt::RMSProp({q}, opt::RMSPropOptions().rho(1.5)), doctest::Contains("rho"), ValueError);
  CHECK_THROWS_WITH_AS(opt::Adagrad({q}, opt::AdagradOptions().lr_decay(-0.1)), doctest::Contains("lr_decay"), ValueError);
  CHECK_THROWS_AS(adam.options(3), ValueError);

  // A gradient of the wrong shape (set by hand) is a ShapeError naming the parameter.
  Var r = parameter(tensor({1.0, 2.0}), "r");
  opt::SGD sgd({r});
  r.mutable_grad() = tensor({1.0, 2.0, 3.0});
  CHECK_THROWS_WITH_AS(sgd.step(), doctest::Contains("'r'"), ShapeError);
  CHECK(values(r) == Values{1.0, 2.0});
}

TEST_CASE("set_options changes rates at once but not the state layout after the first step") {
  Var p = parameter(tensor({1.0}), "p");
  opt::Adam adam({p}, opt::AdamOptions().learning_rate(0.1));
  adam.set_options(0, adam.options(0).amsgrad(true));  // fine before any state exists
  set_grad(p, {1.0});
  adam.step();
  CHECK_THROWS_WITH_AS(adam.set_options(0, adam.options(0).amsgrad(false)),
                       doctest::Contains("max_exp_avg_sq"), ValueError);
  CHECK(adam.options(0).amsgrad());
  adam.set_options(0, adam.options(0).learning_rate(0.0));
  const Values before = values(p);
  adam.step();
  CHECK(values(p) == before);  // lr 0: nothing moves
  CHECK(adam.state(p).step == 2);
}

TEST_CASE("on_nonfinite must agree across groups") {
  Var a = parameter(tensor({1.0}), "a");
  Var b = parameter(tensor({1.0}), "b");
  opt::SGD sgd({a}, opt::SGDOptions().on_nonfinite(opt::NonFinite::skip));
  CHECK_THROWS_WITH_AS(sgd.add_param_group({b}, opt::SGDOptions()), doctest::Contains("on_nonfinite"), ValueError);
  sgd.add_param_group({b}, sgd.defaults().learning_rate(1));
  CHECK(sgd.on_nonfinite() == opt::NonFinite::skip);
}

}  // TEST_SUITE
