// Anomaly mode: the first NaN/Inf names its op, the op's input shapes and the scope (layer).
#include "../testing.hpp"

using namespace tapir;
namespace tfn = tapir::nn;
namespace to = tapir::tensor_ops;

namespace {

// A user's layer that pushes its name as the scope of its ops (what tapir's layers should do)
// and computes log(x - shift): log(-1) where x < shift.
class Injector : public tfn::Layer {
 public:
  Injector(const std::string& name, double shift) : Layer("Injector", name), shift_(shift) {}
  Var operator()(const Var& x) override {
    OpScope scope(name());
    return tapir::log(x - shift_);
  }

 private:
  double shift_;
};

// An op whose backward gives an Inf gradient (a broken custom op).
Var broken_backward(const Var& x) {
  return custom_op("broken_backward", x.value().clone(), {x}, [](const Tensor& g) {
    return std::vector<Tensor>{to::scale(g, HUGE_VAL)};
  });
}

}  // namespace

TEST_SUITE("core/anomaly") {

TEST_CASE("off by default: log(-1) is a silent NaN") {
  CHECK(!anomaly_mode_enabled());
  Var y = tapir::log(constant(Tensor::full({2}, DType::float32, -1.0)));
  CHECK(std::isnan(y.value().at(0)));
}

TEST_CASE("an injected log(-1) inside a layer is reported naming the op, the layer and the shapes") {
  auto injector = std::make_shared<Injector>("injector", 2.0);
  auto head = std::make_shared<tfn::Affine>(3, 2, tfn::AffineOptions().name("head").seed(1));
  tfn::Sequential model(head, injector);
  Var x = parameter(Tensor::full({4, 3}, DType::float32, 0.25), "x");
  AnomalyMode anomaly;
  CHECK(anomaly_mode_enabled());
  try {
    model(x);
    FAIL("anomaly mode did not throw");
  } catch (const AnomalyError& e) {
    const std::string msg = e.what();
    CAPTURE(msg);
    CHECK(msg.find("op 'log'") != std::string::npos);
    CHECK(msg.find("in scope 'head_injector/injector'") != std::string::npos);  // model/layer
    CHECK(msg.find("NaN") != std::string::npos);
    CHECK(msg.find("inputs: [4,2] float32") != std::string::npos);
  }
  CHECK_THROWS_AS(model(x), Error);  // AnomalyError is a tapir::Error
}

TEST_CASE("scopes nest and are restored; the guard restores the previous mode") {
  {
    OpScope a("model");
    OpScope b("encoder");
    CHECK(current_op_scope() == "model/encoder");
    AnomalyMode on;
    CHECK_THROWS_WITH_AS(tapir::sqrt(constant(Tensor::full({3}, DType::float64, -4.0))),
                         doctest::Contains("op 'sqrt' (in scope 'model/encoder')"), AnomalyError);
    {
      AnomalyMode off(false);
      CHECK_NOTHROW(tapir::sqrt(constant(Tensor::full({3}, DType::float64, -4.0))));
    }
    CHECK(anomaly_mode_enabled());
  }
  CHECK(current_op_scope().empty());
  CHECK(!anomaly_mode_enabled());
}

TEST_CASE("an input that is already non-finite is pointed out, so the first bad op is findable") {
  AnomalyMode anomaly;
  Tensor bad = Tensor::full({2}, DType::float32, 1.0);
  bad.data<float>()[1] = NAN;
  CHECK_THROWS_WITH_AS(tapir::exp(constant(bad)), doctest::Contains("[2] float32 (already non-finite)"), AnomalyError);
}

TEST_CASE("backward checks each gradient and names the op and the scope it was recorded in") {
  Var x = parameter(Tensor::full({3}, DType::float32, 1.0), "x");
  SUBCASE("a broken custom op") {
    AnomalyMode anomaly;
    Var y;
    {
      OpScope scope("custom_block");
      y = broken_backward(x);
    }
    Var loss = tapir::sum(y);
    CHECK_THROWS_WITH_AS(backward(loss),
                         doctest::Contains("backward of op 'broken_backward' (in scope 'custom_block') gave input 0 "
                                           "a gradient with +Inf at element 0 of [3] float32"),
                         AnomalyError);
  }
  SUBCASE("sqrt at 0: a finite forward whose gradient is Inf") {
    AnomalyMode anomaly;
    Var z = parameter(Tensor::zeros({2}, DType::float64), "z");
    Var loss = tapir::sum(tapir::sqrt(z));
    CHECK_THROWS_WITH_AS(backward(loss), doctest::Contains("backward of op 'sqrt'"), AnomalyError);
  }
  SUBCASE("without anomaly mode the same backward runs and gives Inf") {
    Var y = broken_backward(x);
    backward(tapir::sum(y));
    CHECK(std::isinf(x.grad().at(0)));
  }
}

}  // TEST_SUITE
