#include "../testing.hpp"

#include <cmath>
#include <string>
#include <thread>

using namespace tapir;
using testing::random_tensor;

TEST_SUITE("core/tape") {

TEST_CASE("gradients accumulate on fan-out") {
  Var x = parameter(Tensor::from_vector<double>({2}, {3.0, -2.0}), "x");
  Var y = x * x + x * 3.0;  // x used three times
  backward(sum(y));
  CHECK(x.grad().at(0) == doctest::Approx(2 * 3.0 + 3.0));
  CHECK(x.grad().at(1) == doctest::Approx(2 * -2.0 + 3.0));
  // a second graph accumulates into the same .grad until zero_grad
  backward(sum(x));
  CHECK(x.grad().at(0) == doctest::Approx(10.0));
  x.zero_grad();
  CHECK(!x.grad().defined());
}

TEST_CASE("backward frees the graph; a second backward through it is an error") {
  Var x = parameter(Tensor::scalar(2.0, DType::float64));
  Var y = exp(x);
  backward(y);
  CHECK_THROWS_AS(backward(y), AutodiffError);
}

TEST_CASE("constants and NoGradGuard record nothing") {
  Var c = constant(Tensor::scalar(2.0, DType::float64));
  CHECK(!(c * c).requires_grad());
  Var x = parameter(Tensor::scalar(1.0, DType::float64));
  {
    NoGradGuard guard;
    CHECK(!grad_enabled());
    Var y = x * x;
    CHECK(!y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK(grad_enabled());
  CHECK((x * x).requires_grad());
  CHECK_THROWS_AS(backward(c), AutodiffError);
}

TEST_CASE("detach cuts the graph") {
  Var x = parameter(Tensor::scalar(3.0, DType::float64));
  Var y = x * detach(x);  // d/dx = detach(x) = 3
  backward(y);
  CHECK(x.grad().item() == doctest::Approx(3.0));
}

TEST_CASE("a non-scalar root needs a matching seed") {
  Var x = parameter(random_tensor({2, 3}, 1));
  Var y = x * 2.0;
  CHECK_THROWS_AS(backward(y), ShapeError);
  CHECK_THROWS_AS(backward(y, Tensor::ones({3, 2}, DType::float64)), ShapeError);
  backward(y, Tensor::ones({2, 3}, DType::float64));
  CHECK(x.grad().at(4) == 2.0);
}

TEST_CASE("tape memory stays flat over 10,000 training steps") {
  Var w = parameter(random_tensor({8, 4}, 2), "w");
  Var b = parameter(Tensor::zeros({4}, DType::float64), "b");
  const Tensor xb = random_tensor({16, 8}, 3);
  auto step = [&] {
    Var h = tanh(matmul(constant(xb), w) + b);
    Var loss = mean(square(h - 0.5));
    zero_grad({w, b});
    backward(loss);
    NoGradGuard ng;
    w.mutable_value().add_(tensor_ops::scale(w.grad(), -0.01));
  };
  for (int i = 0; i < 50; ++i) step();
  const auto nodes = live_node_count();
  const auto bytes = live_tensor_bytes();
  for (int i = 0; i < 10000; ++i) step();
  CHECK(live_node_count() == nodes);
  CHECK(live_tensor_bytes() == bytes);
  CHECK(live_node_count() == 0);
}

// A user-defined op: cube(x) = x^3 with backward 3x^2, from forward value + backward lambda.
Var cube(const Var& x) {
  const Tensor xv = x.value();
  Tensor y = tensor_ops::mul(tensor_ops::mul(xv, xv), xv);
  return custom_op("cube", y, {x}, [xv](const Tensor& g) {
    return std::vector<Tensor>{tensor_ops::mul(g, tensor_ops::scale(tensor_ops::mul(xv, xv), 3.0))};
  });
}

TEST_CASE("custom ops are first-class and pass gradcheck") {
  CHECK_GRADCHECK([](const std::vector<Var>& v) { return cube(v[0]) * v[1]; },
                  (std::vector<Tensor>{random_tensor({3, 4}, 4), random_tensor({4}, 5)}));
}

TEST_CASE("gradcheck catches a wrong gradient and names the element") {
  auto wrong = [](const std::vector<Var>& v) {
    const Tensor xv = v[0].value();
    return custom_op("wrong_square", tensor_ops::mul(xv, xv), {v[0]},
                     [xv](const Tensor& g) { return std::vector<Tensor>{tensor_ops::mul(g, xv)}; });
  };
  auto r = gradcheck(wrong, {random_tensor({5}, 6, 0.5, 1.0)});
  CHECK(!r.ok);
  CHECK(r.worst.find("element") != std::string::npos);
  CHECK_THROWS_AS(gradcheck(wrong, {random_tensor({5}, 6, 0.5, 1.0, DType::float32)}), TypeError);
}

TEST_CASE("NoGradGuard is per thread; graphs on separate threads are independent") {
  std::vector<double> grads(2);
  bool other_thread_recording = true;
  NoGradGuard main_guard;  // disables recording on this thread only
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([t, &grads, &other_thread_recording] {
      if (t == 0) other_thread_recording = grad_enabled();
      Var x = parameter(Tensor::scalar(1.0 + t, DType::float64));
      backward(x * x);
      grads[t] = x.grad().item();
    });
  for (auto& th : threads) th.join();
  CHECK(!grad_enabled());
  CHECK(other_thread_recording);
  CHECK(grads[0] == 2.0);
  CHECK(grads[1] == 4.0);
}

TEST_CASE("grad-ready hooks run once per backward, after a leaf's last contribution") {
  Var a = parameter(Tensor::from_vector<double>({2}, {1.0, 2.0}), "a");
  Var b = parameter(Tensor::from_vector<double>({2}, {3.0, 4.0}), "b");
  Var unused = parameter(Tensor::scalar(1.0, DType::float64), "unused");
  std::vector<std::string> calls;
  std::vector<double> seen;
  auto record = [&](const Var& v) {
    calls.push_back(v.name());
    seen.push_back(v.grad().at(0));  // the complete gradient, not a partial sum
  };
  const auto ia = a.add_grad_ready_hook(record);
  b.add_grad_ready_hook(record);
  unused.add_grad_ready_hook(record);
  // a is used early and late on the tape; b only in the last op.
  Var h = exp(a) * 2.0;
  Var y = sum(h * a) + sum(h) + sum(b * b);
  backward(y);
  REQUIRE(calls.size() == 2);  // `unused` is not reached: no call
  CHECK(calls[0] == "b");      // b's only edge is the last node: it is final first
  CHECK(calls[1] == "a");
  CHECK(seen[0] == doctest::Approx(6.0));
  CHECK(seen[1] == doctest::Approx(2 * std::exp(1.0) * 1.0 + 2 * std::exp(1.0) + 2 * std::exp(1.0)));
  CHECK(seen[1] == doctest::Approx(a.grad().at(0)));
  // removed hooks stay silent; a root that is itself a leaf calls its hooks too
  a.remove_grad_ready_hook(ia);
  calls.clear();
  backward(sum(a * 3.0));
  CHECK(calls.empty());
  backward(unused);
  CHECK(calls == std::vector<std::string>{"unused"});
  CHECK_THROWS_AS(constant(Tensor::scalar(1.0, DType::float64)).add_grad_ready_hook(record), AutodiffError);
  CHECK_THROWS_AS((a * 2.0).add_grad_ready_hook(record), AutodiffError);
}

}
