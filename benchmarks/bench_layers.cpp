// Whole-layer cases: ConvolutionTransposeVariationalFlipout on the four shapes of
// benchmarks/shapes.hpp (SAME, the shape's stride). One run = a forward pass (posterior
// sample θ, input signs, ε, output signs, mean path, perturbation path, sampled bias, MC KL
// against the spike-and-slab prior) and the backward pass of sum(y) + KL to the input and all
// four variables. FLOPs are counted as 6 conv-transposes (2 forward, 2 input gradients, 2 kernel
// gradients); the elementwise work (sampling, signs, KL) is extra time at no counted FLOPs.
#include <tapir/tapir.hpp>

#include "bench.hpp"
#include "shapes.hpp"

namespace {

bench::Work flipout_case(const bench::Shape4& s) {
  auto layer = std::make_shared<tfn::ConvolutionTransposeVariationalFlipout>(
      s.c_in, s.c_out, static_cast<int>(s.k),
      tfn::ConvolutionTransposeOptions().strides(static_cast<int>(s.stride)).padding("SAME").seed(42));
  auto x = std::make_shared<tapir::Var>(tapir::parameter(
      tapir::random::normal({s.n, s.h, s.h, s.c_in}, tapir::DType::float32, tapir::RandomStream(1, "bench_x")), "x"));
  auto vars = std::make_shared<std::vector<tapir::Var>>(layer->trainable_variables());
  return {[=] {
            tapir::Var y = (*layer)(*x);
            tapir::Var loss = tapir::sum(y) + layer->losses()[0];
            tapir::backward(loss);
            x->zero_grad();
            tapir::zero_grad(*vars);
          },
          6.0 * s.flops(), 0, "6 x 2*N*H*W*c_in*c_out*k^2 (fwd mean + perturbation, dx x2, dW x2)"};
}

}  // namespace

BENCH_CASE("flipout_conv_transpose/a/fwdbwd") { return flipout_case(bench::kShapeA); }
BENCH_CASE("flipout_conv_transpose/b/fwdbwd") { return flipout_case(bench::kShapeB); }
BENCH_CASE("flipout_conv_transpose/c/fwdbwd") { return flipout_case(bench::kShapeC); }
BENCH_CASE("flipout_conv_transpose/d/fwdbwd") { return flipout_case(bench::kShapeD); }
