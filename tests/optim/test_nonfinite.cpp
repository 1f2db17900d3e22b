#include "helpers.hpp"

#include <cmath>

using namespace tapir;
using namespace optim_testing;
namespace opt = tapir::optim;

TEST_SUITE("optim/nonfinite") {

TEST_CASE("a non-finite gradient raises ValueError naming the parameter; nothing changes") {
  Var w = parameter(tensor({1.0, 2.0}), "dense/kernel");
  Var b = parameter(tensor({0.5}), "dense/bias");
  opt::Adam adam({b, w});
  set_grad(b, {1.0});
  set_grad(w, {1.0, NAN});
  CHECK_THROWS_WITH_AS(adam.step(), doctest::Contains("'dense/kernel'"), ValueError);
  CHECK(values(b) == Values{0.5});  // checked before any update, so b did not move either
  CHECK(values(w) == Values{1.0, 2.0});
  CHECK(adam.state(b).step == 0);
  CHECK(adam.step_count() == 0);

  set_grad(w, {-INFINITY, 1.0});
  CHECK_THROWS_WITH_AS(adam.step(), doctest::Contains("-inf"), ValueError);

  set_grad(w, {1.0, 1.0});
  Var loss = constant(Tensor::scalar(INFINITY, DType::float64), "elbo");
  CHECK_THROWS_WITH_AS(adam.step(loss), doctest::Contains("loss 'elbo'"), ValueError);
  CHECK(adam.step_count() == 0);
  CHECK(adam.step(constant(Tensor::scalar(1.0, DType::float64))));
  CHECK(adam.step_count() == 1);
}

TEST_CASE("skip mode counts skipped steps and leaves parameters and state untouched") {
  Var w = parameter(tensor({1.0, 2.0}, DType::float32), "w");
  opt::SGD sgd({w}, opt::SGDOptions().learning_rate(0.1).momentum(0.9).on_nonfinite(opt::NonFinite::skip));
  sgd.set_schedule(opt::step_decay(1, 0.5));
  set_grad(w, {NAN, 1.0});
  CHECK(!sgd.step());
  CHECK(!sgd.step(constant(Tensor::scalar(NAN, DType::float64))));
  CHECK(sgd.skipped_steps() == 2);
  CHECK(sgd.step_count() == 0);  // the schedule did not advance
  CHECK(sgd.state(w).step == 0);
  CHECK(values(w) == Values{1.0, 2.0});

  set_grad(w, {1.0, 1.0});
  CHECK(sgd.step());
  CHECK(values(w)[0] == doctest::Approx(0.9));  // full lr: the first schedule factor
  CHECK(sgd.step_count() == 1);
  CHECK(sgd.skipped_steps() == 2);
}

}  // TEST_SUITE
