// Every op: forward values against the definition, gradients against finite differences
// (float64), including broadcasting and fan-out.
#include "../testing.hpp"

using namespace tapir;
using testing::random_tensor;
using Fn = std::function<Var(const std::vector<Var>&)>;
using Ts = std::vector<Tensor>;

TEST_SUITE("core/ops") {

TEST_CASE("binary ops: gradcheck with broadcasting and fan-out") {
  const Ts same{random_tensor({3, 4}, 1, 0.5, 2.0), random_tensor({3, 4}, 2, 0.5, 2.0)};
  const Ts bcast{random_tensor({2, 3, 4}, 3, 0.5, 2.0), random_tensor({3, 1}, 4, 0.5, 2.0)};
  const Ts bcast2{random_tensor({4}, 5, 0.5, 2.0), random_tensor({2, 1, 4}, 6, 0.5, 2.0)};
  const Ts scalar{random_tensor({3, 4}, 7, 0.5, 2.0), random_tensor({}, 8, 0.5, 2.0)};
  const std::vector<std::pair<const char*, Fn>> ops{
      {"add", [](auto& v) { return add(v[0], v[1]); }},
      {"sub", [](auto& v) { return sub(v[0], v[1]); }},
      {"mul", [](auto& v) { return mul(v[0], v[1]); }},
      {"div", [](auto& v) { return div(v[0], v[1]); }},
      {"pow", [](auto& v) { return pow(v[0], v[1]); }},
      {"minimum", [](auto& v) { return minimum(v[0], v[1]); }},
      {"maximum", [](auto& v) { return maximum(v[0], v[1]); }},
      {"fan-out", [](auto& v) { return mul(add(v[0], v[1]), sub(v[0], v[1])) / v[1]; }},
  };
  for (const auto& [name, fn] : ops)
    for (const Ts* in : {&same, &bcast, &bcast2, &scalar}) {
      CAPTURE(name);
      CHECK_GRADCHECK(fn, *in);
    }
}

TEST_CASE("unary ops: values and gradcheck") {
  const Tensor x = random_tensor({4, 5}, 11, -3.0, 3.0);
  const Tensor xpos = random_tensor({4, 5}, 12, 0.2, 3.0);
  struct Case { const char* name; Fn fn; double (*ref)(double); bool positive; };
  const std::vector<Case> cases{
      {"neg", [](auto& v) { return neg(v[0]); }, [](double a) { return -a; }, false},
      {"exp", [](auto& v) { return exp(v[0]); }, [](double a) { return std::exp(a); }, false},
      {"log", [](auto& v) { return log(v[0]); }, [](double a) { return std::log(a); }, true},
      {"log1p", [](auto& v) { return log1p(v[0]); }, [](double a) { return std::log1p(a); }, true},
      {"expm1", [](auto& v) { return expm1(v[0]); }, [](double a) { return std::expm1(a); }, false},
      {"softplus", [](auto& v) { return softplus(v[0]); }, [](double a) { return std::log1p(std::exp(a)); }, false},
      {"sigmoid", [](auto& v) { return sigmoid(v[0]); }, [](double a) { return 1 / (1 + std::exp(-a)); }, false},
      {"tanh", [](auto& v) { return tanh(v[0]); }, [](double a) { return std::tanh(a); }, false},
      {"relu", [](auto& v) { return relu(v[0]); }, [](double a) { return a > 0 ? a : 0; }, false},
      {"leaky_relu", [](auto& v) { return leaky_relu(v[0]); }, [](double a) { return a > 0 ? a : 0.2 * a; }, false},
      {"elu", [](auto& v) { return elu(v[0]); }, [](double a) { return a > 0 ? a : std::expm1(a); }, false},
      {"abs", [](auto& v) { return abs(v[0]); }, [](double a) { return std::fabs(a); }, false},
      {"square", [](auto& v) { return square(v[0]); }, [](double a) { return a * a; }, false},
      {"sqrt", [](auto& v) { return sqrt(v[0]); }, [](double a) { return std::sqrt(a); }, true},
      {"pow 3", [](auto& v) { return pow(v[0], 3.0); }, [](double a) { return a * a * a; }, false},
      {"pow -1.5", [](auto& v) { return pow(v[0], -1.5); }, [](double a) { return std::pow(a, -1.5); }, true},
      {"scale", [](auto& v) { return v[0] * 2.5; }, [](double a) { return 2.5 * a; }, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const Tensor& in = c.positive ? xpos : x;
    for (DType dt : {DType::float64, DType::float32}) {
      Var y = c.fn({constant(in.astype(dt))});
      for (std::size_t i = 0; i < in.size(); ++i)
        CHECK(y.value().at(i) == doctest::Approx(c.ref(in.at(i))).epsilon(dt == DType::float32 ? 1e-5 : 1e-12));
    }
    CHECK_GRADCHECK(c.fn, Ts{in});
  }
}

TEST_CASE("float32 softplus is accurate to 5e-7 relative over [-40, 40]") {
  std::vector<float> xs;
  for (int i = 0; i <= 80000; ++i) xs.push_back(-40.f + 0.001f * static_cast<float>(i));
  const Var y = softplus(constant(Tensor::from_vector<float>({xs.size()}, xs)));
  double worst = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i], ref = std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
    worst = std::max(worst, std::fabs(y.value().at(i) - ref) / ref);
  }
  CHECK(worst < 5e-7);
}

TEST_CASE("transcendental ops that two threads share from 8K values on: values and gradients, same bits at 1 and 2 threads") {
  // 10007 values: above simd::kCostlyGrain (8192), below the cheap ops' grain, an odd tail
  const Tensor base = random_tensor({10007}, 31);
  using UnaryOp = Var (*)(const Var&);
  const std::pair<const char*, UnaryOp> ops[] = {{"softplus", softplus}, {"sigmoid", sigmoid}, {"tanh", tanh},
                                                 {"log", log}, {"log1p", log1p}};
  for (const auto& [name, op] : ops)
    for (DType dt : {DType::float64, DType::float32}) {
      CAPTURE(name);
      CAPTURE(dtype_name(dt));
      const Tensor x = tensor_ops::add(tensor_ops::mul(base, base), Tensor::full({1}, DType::float64, 0.5)).astype(dt);
      std::vector<Tensor> values, grads;
      const int saved = num_threads();
      for (int t : {1, 2}) {
        set_num_threads(t);
        Var v = parameter(x);
        Var y = op(v);
        backward(sum(y));
        values.push_back(y.value());
        grads.push_back(v.grad());
      }
      set_num_threads(saved);
      CHECK(values[0].to_vector<double>() == values[1].to_vector<double>());  // exact: float -> double
      CHECK(grads[0].to_vector<double>() == grads[1].to_vector<double>());
      // every value, the tail's included, is the op's
      for (std::size_t i : {std::size_t(0), std::size_t(5000), std::size_t(9999), std::size_t(10000), std::size_t(10006)}) {
        const double xi = x.at(i);
        const double ref = std::string(name) == "softplus" ? std::log1p(std::exp(xi))
                           : std::string(name) == "sigmoid" ? 1 / (1 + std::exp(-xi))
                           : std::string(name) == "tanh"    ? std::tanh(xi)
                           : std::string(name) == "log"     ? std::log(xi)
                                                            : std::log1p(xi);
        CHECK(values[0].at(i) == doctest::Approx(ref).epsilon(dt == DType::float64 ? 1e-12 : 1e-5));
      }
    }
}

TEST_CASE("softplus, sigmoid and logsumexp are stable for large |x|") {
  Var x = parameter(Tensor::from_vector<float>({4}, {-1000.f, -50.f, 50.f, 1000.f}));
  Var sp = softplus(x);
  CHECK(sp.value().at(0) == 0.0);
  CHECK(sp.value().at(1) == doctest::Approx(std::exp(-50.0)));
  CHECK(sp.value().at(3) == 1000.0);
  backward(sum(sp));
  CHECK(x.grad().at(0) == 0.0);
  CHECK(x.grad().at(3) == 1.0);
  CHECK(sigmoid(x).value().at(0) == 0.0);
  CHECK(sigmoid(x).value().at(3) == 1.0);
  Var l = logsumexp(constant(Tensor::from_vector<double>({2}, {1000.0, 1000.0})));
  CHECK(l.item() == doctest::Approx(1000.0 + std::log(2.0)));
  Var ninf = logsumexp(constant(Tensor::full({3}, DType::float64, -INFINITY)));
  CHECK(ninf.item() == -INFINITY);
}

TEST_CASE("where, with broadcasting; no gradient to the condition") {
  const Tensor cond = Tensor::from_vector<double>({3, 1}, {1, 0, 1});
  Fn fn = [cond](auto& v) { return where(constant(cond), v[0], v[1]); };
  CHECK_GRADCHECK(fn, (Ts{random_tensor({3, 4}, 21), random_tensor({4}, 22)}));
  Var y = where(constant(cond), constant(Tensor::full({3, 2}, DType::float64, 1.0)),
                constant(Tensor::full({2}, DType::float64, 2.0)));
  CHECK(y.value().to_vector<double>() == std::vector<double>{1, 1, 2, 2, 1, 1});
}

TEST_CASE("reductions over axes with keepdims") {
  const Tensor x = random_tensor({2, 3, 4}, 31);
  for (bool keep : {false, true})
    for (const std::vector<int>& axes : {std::vector<int>{}, {0}, {1}, {-1}, {0, 2}, {1, 2}}) {
      CAPTURE(keep);
      CHECK_GRADCHECK([=](auto& v) { return sum(v[0], axes, keep); }, Ts{x});
      CHECK_GRADCHECK([=](auto& v) { return mean(v[0], axes, keep); }, Ts{x});
      CHECK_GRADCHECK([=](auto& v) { return max(v[0], axes, keep); }, Ts{x});
      CHECK_GRADCHECK([=](auto& v) { return logsumexp(v[0], axes, keep); }, Ts{x});
    }
  Var s = sum(constant(x), {0, 2}, true);
  CHECK(s.shape() == Shape{1, 3, 1});
  double ref = 0;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 4; ++k) ref += x.at(i * 12 + 1 * 4 + k);
  CHECK(s.value().at(1) == doctest::Approx(ref));
  CHECK(sum(constant(x), {1}).shape() == Shape{2, 4});
  CHECK(max(constant(x), {-1}).shape() == Shape{2, 3});
  CHECK_THROWS_AS(sum(constant(x), {3}), ValueError);
  CHECK_THROWS_AS(sum(constant(x), {1, 1}), ValueError);
}

TEST_CASE("row-sum fast path (bias gradients) equals the definition") {
  const Tensor x = random_tensor({3, 5, 16}, 77);
  for (const Shape& target : {Shape{16}, Shape{1, 16}, Shape{1, 1, 16}, Shape{5, 16}}) {
    const Tensor s = tensor_ops::sum_to(x, target);
    REQUIRE(s.shape() == target);
    const std::size_t n = numel(target);
    for (std::size_t j = 0; j < n; ++j) {
      double ref = 0;
      for (std::size_t r = 0; r < x.size() / n; ++r) ref += x.at(r * n + j);
      CHECK(s.at(j) == doctest::Approx(ref).epsilon(1e-14));
    }
  }
  CHECK_GRADCHECK([](auto& v) { return v[0] + v[1]; }, (Ts{random_tensor({4, 5, 16}, 78), random_tensor({16}, 79)}));
}

TEST_CASE("row sums over many rows (runs of rows): the definition, the same bits at 1 and 2 threads") {
  // 3000 rows of 48: the rows are summed in runs whose sums are then added in order (5 runs here,
  // not a multiple of the threads); 40 rows of 48 take the column split instead
  for (const Shape& in : {Shape{3000, 48}, Shape{40, 48}, Shape{2, 1500, 48}})
    for (DType dt : {DType::float64, DType::float32}) {
      CAPTURE(shape_str(in));
      const Tensor x = random_tensor(in, 80).astype(dt);
      std::vector<std::vector<double>> results;
      const int saved = num_threads();
      for (int t : {1, 2}) {
        set_num_threads(t);
        results.push_back(tensor_ops::sum_to(x, {48}).to_vector<double>());
      }
      set_num_threads(saved);
      CHECK(results[0] == results[1]);
      const auto xv = x.to_vector<double>();
      for (std::size_t j = 0; j < 48; ++j) {
        double ref = 0;
        for (std::size_t r = 0; r < x.size() / 48; ++r) ref += xv[r * 48 + j];
        CHECK(results[0][j] == doctest::Approx(ref).epsilon(dt == DType::float64 ? 1e-12 : 1e-4));
      }
    }
}

TEST_CASE("row sums over no rows (an empty batch's bias gradient) are zeros") {
  for (const Shape& in : {Shape{0, 16}, Shape{0, 5, 16}, Shape{0, 3}})
    for (DType dt : {DType::float64, DType::float32}) {
      CAPTURE(shape_str(in));
      const Tensor s = tensor_ops::sum_to(Tensor::zeros(in, dt), {in.back()});
      REQUIRE(s.shape() == Shape{in.back()});
      for (double v : s.to_vector<double>()) CHECK(v == 0.0);
    }
}

TEST_CASE("max shares the gradient among ties") {
  Var x = parameter(Tensor::from_vector<double>({3}, {2, 5, 5}));
  backward(max(x));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0.5, 0.5});
}

TEST_CASE("shape ops: values and gradcheck") {
  const Tensor x = random_tensor({2, 3, 4}, 41);
  CHECK_GRADCHECK([](auto& v) { return reshape(v[0], {4, 6}) * reshape(v[0], {4, 6}); }, Ts{x});
  CHECK_GRADCHECK([](auto& v) { return permute(v[0], {2, 0, 1}); }, Ts{x});
  CHECK_GRADCHECK([](auto& v) { return transpose(v[0]); }, Ts{x});
  CHECK_GRADCHECK([](auto& v) { return broadcast_to(v[0], {5, 2, 3, 4}); }, Ts{x});
  CHECK_GRADCHECK([](auto& v) { return broadcast_to(v[0], {2, 3, 4}); }, Ts{random_tensor({3, 1}, 42)});
  CHECK_GRADCHECK([](auto& v) { return concat({v[0], v[1], v[0]}, 1); },
                  (Ts{x, random_tensor({2, 2, 4}, 43)}));
  CHECK_GRADCHECK([](auto& v) { return concat({v[0], v[1]}, -1); }, (Ts{x, random_tensor({2, 3, 1}, 44)}));
  CHECK_GRADCHECK([](auto& v) { return slice(v[0], {{1, 2}, {0, INT64_MAX, 2}, {-3, -1}}); }, Ts{x});
  CHECK_GRADCHECK([](auto& v) { return pad(v[0], {{1, 0}, {0, 2}, {1, 1}}, 0.5); }, Ts{x});

  Var p = permute(constant(x), {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.value().at(1 * 6 + 1 * 3 + 2) == x.at(1 * 12 + 2 * 4 + 1));  // p[1,1,2] = x[1,2,1]
  Var c = concat({constant(x), constant(x)}, 0);
  CHECK(c.shape() == Shape{4, 3, 4});
  CHECK(c.value().at(12 * 2 + 5) == x.at(5));
  Var s = slice(constant(x), {{0, 2}, {1, 3}, {0, 4, 3}});
  CHECK(s.shape() == Shape{2, 2, 2});
  CHECK(s.value().at(3) == x.at(0 * 12 + 2 * 4 + 3));
  Var pd = pad(constant(x), {{0, 0}, {1, 1}, {0, 0}}, 7.0);
  CHECK(pd.shape() == Shape{2, 5, 4});
  CHECK(pd.value().at(0) == 7.0);
  CHECK(pd.value().at(4) == x.at(0));

  CHECK_THROWS_AS(reshape(constant(x), {5, 5}), ShapeError);
  CHECK_THROWS_AS(permute(constant(x), {0, 0, 1}), ValueError);
  CHECK_THROWS_AS(concat({constant(x), constant(random_tensor({2, 4, 4}, 1))}, 0), ShapeError);
  CHECK_THROWS_AS(slice(constant(x), {{0, 5}}), ValueError);
  CHECK_THROWS_AS(pad(constant(x), {{1, 1}}), ShapeError);
}

TEST_CASE("matmul: batched, broadcast, against a loop") {
  const Tensor a = random_tensor({2, 3, 4}, 51), b = random_tensor({4, 5}, 52);
  Var c = matmul(constant(a), constant(b));
  REQUIRE(c.shape() == Shape{2, 3, 5});
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t j = 0; j < 5; ++j) {
        double r = 0;
        for (std::size_t k = 0; k < 4; ++k) r += a.at(n * 12 + i * 4 + k) * b.at(k * 5 + j);
        CHECK(c.value().at(n * 15 + i * 5 + j) == doctest::Approx(r).epsilon(1e-12));
      }
  CHECK_GRADCHECK([](auto& v) { return matmul(v[0], v[1]); }, (Ts{a, b}));
  CHECK_GRADCHECK([](auto& v) { return matmul(v[0], v[1]); },
                  (Ts{random_tensor({3, 4}, 53), random_tensor({2, 4, 2}, 54)}));
  CHECK_GRADCHECK([](auto& v) { return matmul(v[0], v[1]); },
                  (Ts{random_tensor({2, 1, 3, 4}, 55), random_tensor({3, 4, 2}, 56)}));
  CHECK_GRADCHECK([](auto& v) { return matmul(v[0], v[0]); }, Ts{random_tensor({3, 3}, 57)});
  CHECK_THROWS_WITH_AS(matmul(constant(a), constant(a)), doctest::Contains("[2,3,4] @ [2,3,4]"), ShapeError);
  CHECK_THROWS_AS(matmul(constant(random_tensor({4}, 1)), constant(b)), ShapeError);
}

TEST_CASE("dtype mismatch is a typed error naming both") {
  Var a = constant(Tensor::zeros({2}, DType::float32));
  Var b = constant(Tensor::zeros({2}, DType::float64));
  CHECK_THROWS_WITH_AS(a + b, doctest::Contains("float32"), TypeError);
  CHECK((a + 1.0).dtype() == DType::float32);
}

}
