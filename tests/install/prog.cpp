// Built against an installed tapir: fits y = 2x - 1 by gradient descent on the tape.
#include <tapir/tapir.hpp>

#include <cmath>
#include <cstdio>

int main() {
  xt::xarray<double> xs = {0.0, 0.5, 1.0, 1.5, 2.0};
  xs.reshape({5, 1});
  xt::xarray<double> ys = 2.0 * xs - 1.0;
  xt::xarray<double> w0 = xt::zeros<double>({1, 1});
  tapir::Var x = tapir::constant(xs), y = tapir::constant(ys);
  tapir::Var w = tapir::parameter(w0, "w");
  tapir::Var b = tapir::parameter(xt::xarray<double>{0.0}, "b");
  double loss_value = 0;
  for (int step = 0; step < 500; ++step) {
    tapir::Var loss = tapir::mean(tapir::square(tapir::matmul(x, w) + b - y));
    tapir::zero_grad({w, b});
    tapir::backward(loss);
    loss_value = loss.item();
    for (tapir::Var v : {w, b}) v.mutable_value().add_(tapir::tensor_ops::scale(v.grad(), -0.2));
  }
  const double wv = w.item(), bv = b.item();
  std::printf("w = %.4f, b = %.4f, loss = %.2e\n", wv, bv, loss_value);
  return std::fabs(wv - 2.0) < 1e-3 && std::fabs(bv + 1.0) < 1e-3 ? 0 : 1;
}
