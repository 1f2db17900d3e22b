// Every optimizer minimises a convex quadratic and an L2-regularised logistic regression to a
// stated tolerance, through the tape (backward) as a user's training loop would.
#include "helpers.hpp"

#include <cmath>

using namespace tapir;
using namespace optim_testing;
namespace opt = tapir::optim;

namespace {

struct Case {
  const char* name;
  Factory make;
  int steps;
};

/// Each optimizer with settings a user might pick for a small full-batch problem; the schedule
/// (cosine decay) lets the adaptive methods settle instead of hovering at lr-sized steps.
std::vector<Case> cases() {
  return {
      {"SGD+momentum", [](const std::vector<Var>& v) { return std::make_unique<opt::SGD>(v, opt::SGDOptions().learning_rate(0.1).momentum(0.9)); }, 400},
      {"SGD+nesterov", [](const std::vector<Var>& v) { return std::make_unique<opt::SGD>(v, opt::SGDOptions().learning_rate(0.1).momentum(0.9).nesterov(true)); }, 400},
      {"Adam", [](const std::vector<Var>& v) { return std::make_unique<opt::Adam>(v, opt::AdamOptions().learning_rate(0.1)); }, 400},
      {"Adam+amsgrad", [](const std::vector<Var>& v) { return std::make_unique<opt::Adam>(v, opt::AdamOptions().learning_rate(0.1).amsgrad(true)); }, 400},
      {"AdamW", [](const std::vector<Var>& v) { return std::make_unique<opt::AdamW>(v, opt::AdamWOptions().learning_rate(0.1).weight_decay(0)); }, 400},
      {"RMSProp", [](const std::vector<Var>& v) { return std::make_unique<opt::RMSProp>(v, opt::RMSPropOptions().learning_rate(0.05)); }, 400},
      {"RMSProp+centered+momentum", [](const std::vector<Var>& v) { return std::make_unique<opt::RMSProp>(v, opt::RMSPropOptions().learning_rate(0.02).centered(true).momentum(0.5)); }, 400},
      {"Adagrad", [](const std::vector<Var>& v) { return std::make_unique<opt::Adagrad>(v, opt::AdagradOptions().learning_rate(0.5)); }, 400},
  };
}

/// Runs `steps` steps of `loss_fn` with cosine decay; returns the final loss.
double train(opt::Optimizer& o, int steps, const std::function<Var()>& loss_fn) {
  o.set_schedule(opt::cosine_decay(steps));
  for (int t = 0; t < steps; ++t) {
    o.zero_grad();
    Var loss = loss_fn();
    backward(loss);
    o.step(loss);
  }
  NoGradGuard no_grad;
  return loss_fn().item();
}

}  // namespace

TEST_SUITE("optim/convergence") {

TEST_CASE("every optimizer minimises a convex quadratic: f(x_end) < 1e-12 f(x_0)") {
  // f(x) = ½ Σ a_i (x_i - c_i)², curvatures a_i from 0.5 to 5 (condition number 10).
  const std::size_t n = 10;
  Values a(n), c(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = 0.5 + 4.5 * static_cast<double>(i) / (n - 1);
    c[i] = std::sin(1.0 + i);
  }
  const Var A = constant(tensor(a)), C = constant(tensor(c));
  for (const Case& k : cases()) {
    INFO(k.name);
    Var x = parameter(Tensor::zeros({n}, DType::float64), "x");
    auto f = [&] { return 0.5 * sum(A * square(x - C)); };
    const double f0 = f().item();
    auto o = k.make({x});
    const double f_end = train(*o, k.steps, f);
    CHECK(f_end < 1e-12 * f0);
  }
}

TEST_CASE("every optimizer fits a logistic regression to within 1e-9 of the optimal loss") {
  // 64 points in 3-D, labels drawn from a known model (not separable), L2 penalty λ = 0.01.
  const std::size_t n = 64, d = 3;
  const double lambda = 0.01;
  const Tensor X = testing::random_tensor({n, d}, 11, -2, 2);
  const Tensor u = testing::random_tensor({n}, 12, 0, 1);
  const double w_true[d] = {1.5, -2.0, 0.5}, b_true = 0.3;
  Values y(n);
  for (std::size_t i = 0; i < n; ++i) {
    double z = b_true;
    for (std::size_t j = 0; j < d; ++j) z += X.at(i * d + j) * w_true[j];
    y[i] = u.at(i) < 1 / (1 + std::exp(-z)) ? 1.0 : 0.0;
  }
  const Var Xc = constant(X), Y = constant(Tensor::from_vector<double>({n, 1}, y));

  // The optimum by Newton's method on (w, b), for reference.
  double theta[d + 1] = {0, 0, 0, 0};
  auto reference_loss = [&](const double* th) {
    double l = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double z = th[d];
      for (std::size_t j = 0; j < d; ++j) z += X.at(i * d + j) * th[j];
      l += std::log1p(std::exp(-std::fabs(z))) + std::max(z, 0.0) - y[i] * z;
    }
    double reg = 0;
    for (std::size_t j = 0; j < d; ++j) reg += th[j] * th[j];
    return l / n + 0.5 * lambda * reg;
  };
  for (int it = 0; it < 50; ++it) {
    double g[d + 1] = {}, H[d + 1][d + 1] = {};
    for (std::size_t i = 0; i < n; ++i) {
      double xi[d + 1], z = theta[d];
      for (std::size_t j = 0; j < d; ++j) { xi[j] = X.at(i * d + j); z += xi[j] * theta[j]; }
      xi[d] = 1;
      const double s = 1 / (1 + std::exp(-z));
      for (std::size_t j = 0; j <= d; ++j) {
        g[j] += (s - y[i]) * xi[j] / n;
        for (std::size_t k = 0; k <= d; ++k) H[j][k] += s * (1 - s) * xi[j] * xi[k] / n;
      }
    }
    for (std::size_t j = 0; j < d; ++j) { g[j] += lambda * theta[j]; H[j][j] += lambda; }
    // Solve H δ = g by Gaussian elimination (4x4, symmetric positive definite).
    for (std::size_t p = 0; p <= d; ++p)
      for (std::size_t r = p + 1; r <= d; ++r) {
        const double f = H[r][p] / H[p][p];
        for (std::size_t k = p; k <= d; ++k) H[r][k] -= f * H[p][k];
        g[r] -= f * g[p];
      }
    double delta[d + 1];
    for (std::size_t p = d + 1; p-- > 0;) {
      double s = g[p];
      for (std::size_t k = p + 1; k <= d; ++k) s -= H[p][k] * delta[k];
      delta[p] = s / H[p][p];
    }
    for (std::size_t j = 0; j <= d; ++j) theta[j] -= delta[j];
  }
  const double optimum = reference_loss(theta);

  for (const Case& k : cases()) {
    INFO(k.name);
    Var w = parameter(Tensor::zeros({d, 1}, DType::float64), "w");
    Var b = parameter(Tensor::zeros({1}, DType::float64), "b");
    auto loss = [&] {
      Var z = matmul(Xc, w) + b;
      return mean(softplus(z) - Y * z) + (0.5 * lambda) * sum(square(w));
    };
    const double start = loss().item();
    auto o = k.make({w, b});
    const double end = train(*o, k.steps, loss);
    INFO("start " << start << ", end " << end << ", optimum " << optimum);
    CHECK(end - optimum < 1e-9);
    CHECK(end >= optimum - 1e-12);  // the reference really is the minimum
  }
}

}  // TEST_SUITE
