// Each optimizer's first three steps against a hand computation of its published update rule
// (float64, element by element), for each option; then float32 and the SIMD/OpenMP paths.
#include "helpers.hpp"

#include <cmath>

#include <tapir/core/kernels/elementwise.hpp>  // kParallelGrain (internal header, in-tree)

using namespace tapir;
using namespace optim_testing;
namespace opt = tapir::optim;

namespace {

/// One reference step: updates p in place from gradient g at step t (1-based).
using RefStep = std::function<void(Values& p, const Values& g, int t)>;

/// Runs three optimizer steps on the 5-element problem and compares each with the reference.
/// Returns the parameter after step 3.
Values check_three_steps(opt::Optimizer& optimizer, Var p, RefStep ref) {
  Values expected = initial_params();
  for (int t = 1; t <= 3; ++t) {
    const Values& g = grad_sequence()[t - 1];
    set_grad(p, g);
    REQUIRE(optimizer.step());
    ref(expected, g, t);
    const Values got = values(p);
    for (std::size_t i = 0; i < got.size(); ++i) {
      INFO("step " << t << ", element " << i);
      CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-13));
    }
  }
  return values(p);
}

Var fresh_param(DType dtype = DType::float64) { return parameter(tensor(initial_params(), dtype), "w"); }

bool differs(const Values& a, const Values& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::fabs(a[i] - b[i]) > 1e-9) return true;
  return false;
}

// ---- reference rules, written from the papers / PyTorch's documented algorithms ----

RefStep sgd_ref(double lr, double mu, double dampening, bool nesterov, double wd) {
  auto buf = std::make_shared<Values>(5, 0.0);
  return [=](Values& p, const Values& grad, int t) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grad[i] + wd * p[i];
      if (mu != 0) {
        double& b = (*buf)[i];
        b = t == 1 ? g : mu * b + (1 - dampening) * g;
        g = nesterov ? g + mu * b : b;
      }
      p[i] -= lr * g;
    }
  };
}

RefStep adam_ref(double lr, double b1, double b2, double eps, double wd, bool amsgrad, bool decoupled) {
  auto m = std::make_shared<Values>(5, 0.0), v = std::make_shared<Values>(5, 0.0),
       vmax = std::make_shared<Values>(5, 0.0);
  return [=](Values& p, const Values& grad, int t) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grad[i];
      if (decoupled) p[i] *= 1 - lr * wd;
      else g += wd * p[i];
      (*m)[i] = b1 * (*m)[i] + (1 - b1) * g;
      (*v)[i] = b2 * (*v)[i] + (1 - b2) * g * g;
      const double m_hat = (*m)[i] / (1 - std::pow(b1, t));
      (*vmax)[i] = std::max((*vmax)[i], (*v)[i]);
      const double v_hat = (amsgrad ? (*vmax)[i] : (*v)[i]) / (1 - std::pow(b2, t));
      p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  };
}

RefStep rmsprop_ref(double lr, double rho, double eps, double wd, double mu, bool centered) {
  auto sq = std::make_shared<Values>(5, 0.0), avg = std::make_shared<Values>(5, 0.0),
       buf = std::make_shared<Values>(5, 0.0);
  return [=](Values& p, const Values& grad, int) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + wd * p[i];
      (*sq)[i] = rho * (*sq)[i] + (1 - rho) * g * g;
      double v = (*sq)[i];
      if (centered) {
        (*avg)[i] = rho * (*avg)[i] + (1 - rho) * g;
        v -= (*avg)[i] * (*avg)[i];
      }
      const double denom = std::sqrt(v) + eps;
      if (mu > 0) {
        (*buf)[i] = mu * (*buf)[i] + g / denom;
        p[i] -= lr * (*buf)[i];
      } else {
        p[i] -= lr * g / denom;
      }
    }
  };
}

RefStep adagrad_ref(double lr, double lr_decay, double wd, double init, double eps) {
  auto sum = std::make_shared<Values>(5, init);
  return [=](Values& p, const Values& grad, int t) {
    const double clr = lr / (1 + (t - 1) * lr_decay);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + wd * p[i];
      (*sum)[i] += g * g;
      p[i] -= clr * g / (std::sqrt((*sum)[i]) + eps);
    }
  };
}

}  // namespace

TEST_SUITE("optim/update_rules") {

TEST_CASE("SGD: plain, momentum, dampening, Nesterov, weight decay") {
  Var p0 = fresh_param();
  opt::SGD plain({p0}, opt::SGDOptions().learning_rate(0.1));
  const Values plain_end = check_three_steps(plain, p0, sgd_ref(0.1, 0, 0, false, 0));

  Var p1 = fresh_param();
  opt::SGD momentum({p1}, opt::SGDOptions().learning_rate(0.1).momentum(0.9));
  const Values momentum_end = check_three_steps(momentum, p1, sgd_ref(0.1, 0.9, 0, false, 0));
  CHECK(differs(momentum_end, plain_end));

  Var p2 = fresh_param();
  opt::SGD damped({p2}, opt::SGDOptions().learning_rate(0.1).momentum(0.9).dampening(0.5));
  CHECK(differs(check_three_steps(damped, p2, sgd_ref(0.1, 0.9, 0.5, false, 0)), momentum_end));

  Var p3 = fresh_param();
  opt::SGD nesterov({p3}, opt::SGDOptions().learning_rate(0.1).momentum(0.9).nesterov(true));
  CHECK(differs(check_three_steps(nesterov, p3, sgd_ref(0.1, 0.9, 0, true, 0)), momentum_end));

  Var p4 = fresh_param();
  opt::SGD decay({p4}, opt::SGDOptions().learning_rate(0.1).momentum(0.5).weight_decay(0.2));
  check_three_steps(decay, p4, sgd_ref(0.1, 0.5, 0, false, 0.2));
}

TEST_CASE("Adam: defaults, AMSGrad, L2 weight decay, betas and epsilon") {
  Var p0 = fresh_param();
  opt::Adam adam({p0}, opt::AdamOptions().learning_rate(0.1));
  const Values adam_end = check_three_steps(adam, p0, adam_ref(0.1, 0.9, 0.999, 1e-8, 0, false, false));

  // beta2 = 0.5 makes v follow g² quickly, so AMSGrad's max(v) differs once |g| falls.
  Var p1 = fresh_param();
  opt::Adam ams({p1}, opt::AdamOptions().learning_rate(0.1).betas(0.9, 0.5).amsgrad(true));
  const Values ams_end = check_three_steps(ams, p1, adam_ref(0.1, 0.9, 0.5, 1e-8, 0, true, false));
  Var p1b = fresh_param();
  opt::Adam no_ams({p1b}, opt::AdamOptions().learning_rate(0.1).betas(0.9, 0.5));
  CHECK(differs(ams_end, check_three_steps(no_ams, p1b, adam_ref(0.1, 0.9, 0.5, 1e-8, 0, false, false))));

  Var p2 = fresh_param();
  opt::Adam l2({p2}, opt::AdamOptions().learning_rate(0.1).weight_decay(0.5));
  CHECK(differs(check_three_steps(l2, p2, adam_ref(0.1, 0.9, 0.999, 1e-8, 0.5, false, false)), adam_end));

  Var p3 = fresh_param();
  opt::Adam custom({p3}, opt::AdamOptions().learning_rate(0.05).betas(0.8, 0.9).epsilon(0.1));
  check_three_steps(custom, p3, adam_ref(0.05, 0.8, 0.9, 0.1, 0, false, false));
}

TEST_CASE("AdamW: decoupled weight decay, with and without AMSGrad") {
  Var p0 = fresh_param();
  opt::AdamW adamw({p0}, opt::AdamWOptions().learning_rate(0.1).weight_decay(0.5));
  const Values decoupled = check_three_steps(adamw, p0, adam_ref(0.1, 0.9, 0.999, 1e-8, 0.5, false, true));
  Var p1 = fresh_param();
  opt::Adam coupled({p1}, opt::AdamOptions().learning_rate(0.1).weight_decay(0.5));
  CHECK(differs(decoupled, check_three_steps(coupled, p1, adam_ref(0.1, 0.9, 0.999, 1e-8, 0.5, false, false))));

  Var p2 = fresh_param();
  opt::AdamW ams({p2}, opt::AdamWOptions().learning_rate(0.1).betas(0.9, 0.5).amsgrad(true));
  check_three_steps(ams, p2, adam_ref(0.1, 0.9, 0.5, 1e-8, 0.01, true, true));
  CHECK(opt::AdamWOptions().weight_decay() == 0.01);  // PyTorch's default
}

TEST_CASE("RMSProp: plain, centered, momentum, both, weight decay") {
  Var p0 = fresh_param();
  opt::RMSProp plain({p0}, opt::RMSPropOptions().learning_rate(0.01));
  const Values plain_end = check_three_steps(plain, p0, rmsprop_ref(0.01, 0.99, 1e-8, 0, 0, false));

  Var p1 = fresh_param();
  opt::RMSProp centered({p1}, opt::RMSPropOptions().learning_rate(0.01).rho(0.9).centered(true));
  CHECK(differs(check_three_steps(centered, p1, rmsprop_ref(0.01, 0.9, 1e-8, 0, 0, true)), plain_end));

  Var p2 = fresh_param();
  opt::RMSProp momentum({p2}, opt::RMSPropOptions().learning_rate(0.01).momentum(0.9));
  CHECK(differs(check_three_steps(momentum, p2, rmsprop_ref(0.01, 0.99, 1e-8, 0, 0.9, false)), plain_end));

  Var p3 = fresh_param();
  opt::RMSProp both({p3}, opt::RMSPropOptions().learning_rate(0.01).rho(0.9).momentum(0.5).centered(true));
  check_three_steps(both, p3, rmsprop_ref(0.01, 0.9, 1e-8, 0, 0.5, true));

  Var p4 = fresh_param();
  opt::RMSProp decay({p4}, opt::RMSPropOptions().learning_rate(0.01).weight_decay(0.3).epsilon(1e-3));
  check_three_steps(decay, p4, rmsprop_ref(0.01, 0.99, 1e-3, 0.3, 0, false));
}

TEST_CASE("Adagrad: plain, lr_decay, initial accumulator, weight decay") {
  Var p0 = fresh_param();
  opt::Adagrad plain({p0}, opt::AdagradOptions().learning_rate(0.1));
  const Values plain_end = check_three_steps(plain, p0, adagrad_ref(0.1, 0, 0, 0, 1e-10));

  Var p1 = fresh_param();
  opt::Adagrad decayed({p1}, opt::AdagradOptions().learning_rate(0.1).lr_decay(0.5));
  CHECK(differs(check_three_steps(decayed, p1, adagrad_ref(0.1, 0.5, 0, 0, 1e-10)), plain_end));

  Var p2 = fresh_param();
  opt::Adagrad init({p2}, opt::AdagradOptions().learning_rate(0.1).initial_accumulator_value(0.1));
  CHECK(differs(check_three_steps(init, p2, adagrad_ref(0.1, 0, 0, 0.1, 1e-10)), plain_end));

  Var p3 = fresh_param();
  opt::Adagrad decay({p3}, opt::AdagradOptions().learning_rate(0.1).weight_decay(0.3).epsilon(1e-3));
  check_three_steps(decay, p3, adagrad_ref(0.1, 0, 0.3, 0, 1e-3));
}

TEST_CASE("defaults follow PyTorch") {
  CHECK(opt::SGDOptions().learning_rate() == 1e-3);
  CHECK(opt::AdamOptions().learning_rate() == 1e-3);
  CHECK(opt::AdamOptions().betas() == std::make_pair(0.9, 0.999));
  CHECK(opt::AdamOptions().epsilon() == 1e-8);
  CHECK(opt::AdamOptions().weight_decay() == 0.0);
  CHECK(opt::RMSPropOptions().learning_rate() == 1e-2);
  CHECK(opt::RMSPropOptions().rho() == 0.99);
  CHECK(opt::AdagradOptions().learning_rate() == 1e-2);
  CHECK(opt::AdagradOptions().epsilon() == 1e-10);
  CHECK(opt::AdamOptions().on_nonfinite() == opt::NonFinite::raise);
}

TEST_CASE("float32 parameters follow the same rule") {
  Var p = fresh_param(DType::float32);
  opt::Adam adam({p}, opt::AdamOptions().learning_rate(0.1).amsgrad(true).weight_decay(0.1));
  RefStep ref = adam_ref(0.1, 0.9, 0.999, 1e-8, 0.1, true, false);
  Values expected = initial_params();
  for (int t = 1; t <= 3; ++t) {
    set_grad(p, grad_sequence()[t - 1]);
    adam.step();
    ref(expected, grad_sequence()[t - 1], t);
  }
  CHECK(p.dtype() == DType::float32);
  const Values got = values(p);
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-5));
}

TEST_CASE("SIMD body, padded tail and OpenMP path compute every element alike") {
  // n > kParallelGrain and not a multiple of any SIMD width: body on several threads + tail.
  const std::size_t n = tapir::kernels::kParallelGrain + 3;
  const std::vector<Factory> factories{
      [](const std::vector<Var>& v) { return std::make_unique<opt::Adam>(v, opt::AdamOptions().learning_rate(0.1).amsgrad(true).weight_decay(0.1)); },
      [](const std::vector<Var>& v) { return std::make_unique<opt::AdamW>(v, opt::AdamWOptions().learning_rate(0.1)); },
      [](const std::vector<Var>& v) { return std::make_unique<opt::SGD>(v, opt::SGDOptions().learning_rate(0.1).momentum(0.9).nesterov(true).weight_decay(0.1)); },
      [](const std::vector<Var>& v) { return std::make_unique<opt::RMSProp>(v, opt::RMSPropOptions().centered(true).momentum(0.5)); },
      [](const std::vector<Var>& v) { return std::make_unique<opt::Adagrad>(v, opt::AdagradOptions().lr_decay(0.1)); },
  };
  for (DType dtype : {DType::float32, DType::float64}) {
    for (std::size_t f = 0; f < factories.size(); ++f) {
      Values big_init(n), small_init = initial_params();
      for (std::size_t i = 0; i < n; ++i) big_init[i] = small_init[i % 5];
      Var big = parameter(tensor(big_init, dtype), "big");
      Var small = parameter(tensor(small_init, dtype), "small");
      auto opt_big = factories[f]({big});
      auto opt_small = factories[f]({small});
      for (int t = 0; t < 3; ++t) {
        Values g(n);
        for (std::size_t i = 0; i < n; ++i) g[i] = grad_sequence()[t][i % 5];
        set_grad(big, g);
        set_grad(small, grad_sequence()[t]);
        opt_big->step();
        opt_small->step();
      }
      const Values b = values(big), s = values(small);
      std::size_t mismatches = 0;
      for (std::size_t i = 0; i < n; ++i) mismatches += b[i] != s[i % 5];
      INFO(opt_big->kind() << " " << dtype_name(dtype));
      CHECK(mismatches == 0);
      CHECK(b[0] != small_init[0]);  // something happened
    }
  }
}

}  // TEST_SUITE
