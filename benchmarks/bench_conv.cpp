// Convolution engine cases on the four shapes of benchmarks/shapes.hpp (channels-last, SAME).
// FLOPs per conv-transpose: 2*N*H*W*c_in*c_out*k^2 (input-centric); fwdbwd counts 3x that
// (forward, input gradient, kernel gradient).
#include <tapir/tapir.hpp>

#include "bench.hpp"
#include "shapes.hpp"

namespace {

bench::Work conv_transpose_case(const bench::Shape4& s, bool backward) {
  auto x = std::make_shared<tapir::Var>(tapir::parameter(
      tapir::Tensor::full({s.n, s.h, s.h, s.c_in}, tapir::DType::float32, 0.5), "x"));
  auto w = std::make_shared<tapir::Var>(tapir::parameter(
      tapir::Tensor::full({s.k, s.k, s.c_in, s.c_out}, tapir::DType::float32, 0.01), "w"));
  const auto opts = tapir::ConvTransposeOptions().strides(s.stride).padding("SAME");
  const double flops = s.flops() * (backward ? 3.0 : 1.0);
  if (!backward)
    return {[=] {
              tapir::NoGradGuard no_grad;
              tapir::Var y = tapir::conv_transpose(*x, *w, opts);
            },
            flops, 0, "2*N*H*W*c_in*c_out*k^2"};
  // The upstream gradient is made once, as the oneDNN peer's dy is (and PyTorch's, in the peer
  // script): the case times the convolution's three products, not filling a y-sized tensor.
  auto dy = std::make_shared<tapir::Tensor>(
      tapir::Tensor::ones({s.n, s.h * s.stride, s.h * s.stride, s.c_out}, tapir::DType::float32));
  return {[=] {
            tapir::Var y = tapir::conv_transpose(*x, *w, opts);
            tapir::backward(y, *dy);
            x->zero_grad();
            w->zero_grad();
          },
          flops, 0, "3 x 2*N*H*W*c_in*c_out*k^2 (fwd, dx, dW)"};
}

// The mirrored convolution: input of the conv-T's output size with c_out channels, back to c_in.
bench::Work convolution_case(const bench::Shape4& s) {
  const std::size_t big = s.h * s.stride;
  auto x = std::make_shared<tapir::Var>(tapir::constant(
      tapir::Tensor::full({s.n, big, big, s.c_out}, tapir::DType::float32, 0.5)));
  auto w = std::make_shared<tapir::Var>(tapir::constant(
      tapir::Tensor::full({s.k, s.k, s.c_out, s.c_in}, tapir::DType::float32, 0.01)));
  const auto opts = tapir::ConvOptions().strides(s.stride).padding("SAME");
  return {[=] { tapir::Var y = tapir::convolution(*x, *w, opts); }, s.flops(), 0,
          "2*N*Ho*Wo*c_in*c_out*k^2 (same as the conv-T it mirrors)"};
}

}  // namespace

BENCH_CASE("conv_transpose/a/fwd") { return conv_transpose_case(bench::kShapeA, false); }
BENCH_CASE("conv_transpose/b/fwd") { return conv_transpose_case(bench::kShapeB, false); }
BENCH_CASE("conv_transpose/c/fwd") { return conv_transpose_case(bench::kShapeC, false); }
BENCH_CASE("conv_transpose/d/fwd") { return conv_transpose_case(bench::kShapeD, false); }
BENCH_CASE("conv_transpose/a/fwdbwd") { return conv_transpose_case(bench::kShapeA, true); }
BENCH_CASE("conv_transpose/b/fwdbwd") { return conv_transpose_case(bench::kShapeB, true); }
BENCH_CASE("conv_transpose/c/fwdbwd") { return conv_transpose_case(bench::kShapeC, true); }
BENCH_CASE("conv_transpose/d/fwdbwd") { return conv_transpose_case(bench::kShapeD, true); }
BENCH_CASE("convolution/a/fwd") { return convolution_case(bench::kShapeA); }
BENCH_CASE("convolution/b/fwd") { return convolution_case(bench::kShapeB); }
BENCH_CASE("convolution/c/fwd") { return convolution_case(bench::kShapeC); }
BENCH_CASE("convolution/d/fwd") { return convolution_case(bench::kShapeD); }
