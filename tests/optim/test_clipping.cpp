#include "helpers.hpp"

#include <cmath>

using namespace tapir;
using namespace optim_testing;
namespace opt = tapir::optim;

TEST_SUITE("optim/clipping") {

TEST_CASE("clip_grad_norm returns the pre-clip global norm and scales to max_norm") {
  Var a = parameter(tensor({0, 0}), "a");
  Var b = parameter(tensor({0}, DType::float32), "b");
  Var none = parameter(tensor({0}), "no_grad");
  set_grad(a, {3.0, 4.0});
  set_grad(b, {12.0});
  const std::vector<Var> params{a, b, none};
  CHECK(opt::global_grad_norm(params) == 13.0);
  CHECK(opt::clip_grad_norm(params, 6.5) == 13.0);
  CHECK(opt::global_grad_norm(params) == doctest::Approx(6.5).epsilon(1e-7));
  CHECK(a.grad().at(0) == doctest::Approx(1.5));
  CHECK(a.grad().at(1) == doctest::Approx(2.0));
  CHECK(b.grad().at(0) == doctest::Approx(6.0));
  CHECK(!none.grad().defined());

  // Under the limit nothing changes, bit for bit.
  const Tensor before = a.grad().clone();
  CHECK(opt::clip_grad_norm({a}, 100.0) == doctest::Approx(2.5));
  CHECK(testing::max_abs_diff(a.grad(), before) == 0.0);
}

TEST_CASE("the global norm of a large gradient is exact and thread-count independent") {
  Var p = parameter(testing::random_tensor({100003}, 7), "p");
  p.mutable_grad() = testing::random_tensor({100003}, 8);
  double naive = 0;
  for (std::size_t i = 0; i < p.grad().size(); ++i) naive += p.grad().at(i) * p.grad().at(i);
  const int threads = tapir::num_threads();
  tapir::set_num_threads(1);
  const double one = opt::global_grad_norm({p});
  tapir::set_num_threads(2);
  const double two = opt::global_grad_norm({p});
  tapir::set_num_threads(threads);
  CHECK(one == two);
  CHECK(one == doctest::Approx(std::sqrt(naive)).epsilon(1e-13));
  CHECK(opt::clip_grad_norm({p}, 1.0) == one);
  CHECK(opt::global_grad_norm({p}) == doctest::Approx(1.0).epsilon(1e-13));
}

TEST_CASE("clip_grad_value clamps each element; NaN passes through") {
  Var a = parameter(tensor({0, 0, 0, 0, 0}), "a");
  set_grad(a, {-3.0, -0.5, 0.0, 0.7, NAN});
  opt::clip_grad_value({a}, 0.6);
  const Values g = a.grad().to_vector<double>();
  CHECK(g[0] == -0.6);
  CHECK(g[1] == -0.5);
  CHECK(g[2] == 0.0);
  CHECK(g[3] == 0.6);
  CHECK(std::isnan(g[4]));
}

TEST_CASE("a non-finite norm leaves gradients for step() to report") {
  Var a = parameter(tensor({0, 0}), "a");
  set_grad(a, {INFINITY, 1.0});
  CHECK(std::isinf(opt::clip_grad_norm({a}, 1.0)));
  CHECK(a.grad().at(1) == 1.0);
}

TEST_CASE("clipping copies a gradient buffer shared elsewhere instead of writing into it") {
  Var a = parameter(tensor({0, 0}), "a");
  set_grad(a, {3.0, 4.0});
  const Tensor kept = a.grad();  // shares the buffer
  opt::clip_grad_norm({a}, 1.0);
  CHECK(kept.at(0) == 3.0);
  CHECK(a.grad().at(0) == doctest::Approx(0.6));
}

TEST_CASE("bad clip arguments") {
  Var a = parameter(tensor({0}), "a");
  CHECK_THROWS_WITH_AS(opt::clip_grad_norm({a}, 0.0), doctest::Contains("max_norm"), ValueError);
  CHECK_THROWS_WITH_AS(opt::clip_grad_value({a}, -1.0), doctest::Contains("clip_value"), ValueError);
}

}  // TEST_SUITE
