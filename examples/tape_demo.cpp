// A first training loop on the tape: a two-layer tanh network fits sin(3x) on [-1, 1]
// with plain gradient descent. Every piece is public API.
#include <tapir/tapir.hpp>

#include <cmath>
#include <cstdio>

int main() {
  const std::size_t n = 256, hidden = 32;
  xt::xarray<float> xs = xt::linspace<float>(-1.f, 1.f, n);
  xs.reshape({n, 1});
  const xt::xarray<float> ys = xt::sin(3.f * xs);
  tapir::Var x = tapir::constant(xs), y = tapir::constant(ys);

  // Deterministic small initial weights (a real model would use tfn initializers).
  xt::xarray<float> w1 = xt::zeros<float>({std::size_t(1), hidden}), w2 = xt::zeros<float>({hidden, std::size_t(1)});
  for (std::size_t j = 0; j < hidden; ++j) {
    w1(0, j) = 3.f * std::sin(1.7f * j + 0.3f);
    w2(j, 0) = 0.3f * std::cos(2.3f * j + 0.1f);
  }
  tapir::Var W1 = tapir::parameter(w1, "W1"), b1 = tapir::parameter(xt::xarray<float>(xt::zeros<float>({hidden})), "b1");
  tapir::Var W2 = tapir::parameter(w2, "W2"), b2 = tapir::parameter(xt::xarray<float>(xt::zeros<float>({1})), "b2");
  const std::vector<tapir::Var> params{W1, b1, W2, b2};

  for (int step = 0; step <= 3000; ++step) {
    tapir::Var h = tapir::tanh(tapir::matmul(x, W1) + b1);
    tapir::Var loss = tapir::mean(tapir::square(tapir::matmul(h, W2) + b2 - y));
    tapir::zero_grad(params);
    tapir::backward(loss);
    for (tapir::Var p : params) p.mutable_value().add_(tapir::tensor_ops::scale(p.grad(), -0.02));
    if (step % 500 == 0) std::printf("step %4d  mse %.5f\n", step, loss.item());
  }
  return 0;
}
