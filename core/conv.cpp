// Convolution and conv-transpose as implicit GEMMs (kernels/conv_gemm.hpp): image patches are
// packed straight into the GEMM's panels, never into a column matrix. With W[tap, c_in, c_out]:
//
//   convolution       y  = patches(x) @ W                       dW = patches(x)^T @ dy
//                     dx = gather of dy through W^T, output-centric (phase by phase)
//   conv_transpose    y  = gather of x through W, output-centric  dW = x^T @ patches(dy)
//                     dx = patches(dy) @ W^T
//
// so the backward of one op is the forward machinery of the other. The "gather" side computes
// each output pixel from the taps that reach it (one GEMM per stride phase), which makes it
// parallel without atomics and the results bit-identical at any thread count. Channel counts up
// to kernels::kThinChannels (a convolution's c_in, a conv-transpose's c_out) take the direct
// kernels of kernels/conv_thin.hpp instead, without GEMM.
#include <tapir/core/conv.hpp>

#include <tapir/core/simd.hpp>
#include "conv_engine.hpp"
#include "kernels/conv_thin.hpp"
#include <tapir/core/shape_arith.hpp>
#include <tapir/core/tensor_ops.hpp>

namespace tapir {

using kernels::to_geo3;

namespace conv_engine {

// The GEMM-engine op on a checked call (thin channel counts are handled before).
Var gemm_conv_op(bool transpose, const Var& x, const Var& kernel, const ConvCall& c, const Geo3& g, const Shape& y_shape) {
  const char* name = transpose ? "conv_transpose" : "convolution";
  const bool recording = grad_enabled();
  const bool need_x = recording && x.requires_grad(), need_w = recording && kernel.requires_grad();
  const auto conv = std::make_shared<const GemmConv>(transpose, g, c, GemmConv::Wanted{need_x, need_w});
  const Tensor xv = x.value(), wv = kernel.value();
  const Shape x_shape = x.shape(), w_shape = kernel.shape();
  Tensor y = Tensor::empty(y_shape, xv.dtype());
  TAPIR_DISPATCH(xv.dtype(), T, conv->forward(xv.data<T>(), wv.data<T>(), y.data<T>()));
  return custom_op(name, y, {x, kernel}, [=](const Tensor& gy) {
    Tensor dx, dw;
    TAPIR_DISPATCH(gy.dtype(), T, {
      if (need_x) {
        dx = Tensor::empty(x_shape, gy.dtype());
        conv->input_grad(gy.data<T>(), wv.data<T>(), dx.data<T>());
      }
      if (need_w) {
        dw = Tensor::empty(w_shape, gy.dtype());
        conv->kernel_grad(xv.data<T>(), gy.data<T>(), dw.data<T>());
      }
    });
    return std::vector<Tensor>{dx, dw};
  });
}

Tensor ThinConv::weights(const Tensor& kernel) const {
  if (!transpose_) return kernel;  // [filter..., c_in (thin), c_out (wide)]
  const std::size_t taps = static_cast<std::size_t>(g_.taps());
  return tensor_ops::permute(kernel.reshape({taps, static_cast<std::size_t>(wide_), static_cast<std::size_t>(thin_)}), {0, 2, 1});
}

void ThinConv::gather(bool to_big, const Tensor& src, const Tensor& wt, Tensor& dst) const {
  TAPIR_DISPATCH(src.dtype(), T, {
    if (to_big)
      kernels::gather_to_big<T>(src.data<T>(), wt.data<T>(), g_, images_, thin_, wide_, dst.data<T>());
    else
      kernels::gather_to_small<T>(src.data<T>(), wt.data<T>(), g_, images_, thin_, wide_, dst.data<T>());
  });
}

// a conv-transpose's output is its big side; a convolution's input gradient lands there
void ThinConv::forward(const Tensor& x, const Tensor& wt, Tensor& y) const { gather(transpose_, x, wt, y); }
void ThinConv::input_grad(const Tensor& dy, const Tensor& wt, Tensor& dx) const { gather(!transpose_, dy, wt, dx); }

Tensor ThinConv::kernel_grad(const Tensor& x, const Tensor& dy, const Shape& kernel_shape) const {
  // dWt[tap, thin, wide] sums the thin side's (big) pixels times the wide side's (small) ones
  const Tensor& big = transpose_ ? dy : x;
  const Tensor& small = transpose_ ? x : dy;
  const std::size_t taps = static_cast<std::size_t>(g_.taps());
  Tensor dwt = Tensor::empty({taps, static_cast<std::size_t>(thin_), static_cast<std::size_t>(wide_)}, dy.dtype());
  TAPIR_DISPATCH(dy.dtype(), T,
                 kernels::weight_grad<T>(big.data<T>(), small.data<T>(), g_, images_, thin_, wide_, dwt.data<T>()));
  return transpose_ ? tensor_ops::permute(dwt, {0, 2, 1}).reshape(kernel_shape) : dwt.reshape(kernel_shape);
}

// The thin-kernel op on a checked call.
static Var thin_conv_op(bool transpose, const Var& x, const Var& kernel, const ConvCall& c, const Geo3& g,
                        const Shape& y_shape) {
  const bool recording = grad_enabled();
  const bool need_x = recording && x.requires_grad(), need_w = recording && kernel.requires_grad();
  const auto conv = std::make_shared<const ThinConv>(transpose, g, c);
  const Tensor xv = x.value(), wt = conv->weights(kernel.value());
  const Shape x_shape = x.shape(), w_shape = kernel.shape();
  Tensor y = Tensor::empty(y_shape, xv.dtype());
  conv->forward(xv, wt, y);
  return custom_op(transpose ? "conv_transpose" : "convolution", y, {x, kernel}, [=](const Tensor& gy) {
    Tensor dx, dw;
    if (need_x) {
      dx = Tensor::empty(x_shape, gy.dtype());
      conv->input_grad(gy, wt, dx);
    }
    if (need_w) dw = conv->kernel_grad(xv, gy, w_shape);
    return std::vector<Tensor>{dx, dw};
  });
}

}  // namespace conv_engine

using namespace conv_engine;

// The op on a checked call: x and kernel inspected (c), geom computed for them.
static Var convolution_checked(const Var& x, const Var& kernel, const ConvCall& c, const ConvGeometry& geom) {
  checked_tensor_bytes(with_spatial(c.batch, geom.small, c.c_out), x.dtype(), "convolution");
  const Geo3 g = to_geo3(geom);
  // the GEMM's dimensions (rows: images * pixels; depth: taps * channels) must fit
  checked_mul(c.images, static_cast<std::size_t>(g.small_pixels()), "convolution: images * output pixels");
  checked_mul(static_cast<std::size_t>(g.taps()), std::max(c.c_in, c.c_out), "convolution: taps * channels");
  const Shape y_shape = with_spatial(c.batch, geom.small, c.c_out);
  if (thin(/*transpose=*/false, c)) return thin_conv_op(/*transpose=*/false, x, kernel, c, g, y_shape);
  return gemm_conv_op(/*transpose=*/false, x, kernel, c, g, y_shape);
}

Var convolution(const Var& x, const Var& kernel, const ConvOptions& options) {
  const ConvCall c = inspect(x, kernel, "convolution");
  return convolution_checked(x, kernel, c,
                             conv_geometry(spatial_of(x, c.rank), filter_of(kernel, c.rank), options));
}

Var convolution(const Var& x, const Var& kernel, const ConvGeometry& geom) {
  const ConvCall c = inspect(x, kernel, "convolution");
  check_geometry(c, x, kernel, geom, /*transpose=*/false, "convolution");
  return convolution_checked(x, kernel, c, geom);
}

// The op on a checked call: x and kernel inspected (c), geom computed for them.
static Var conv_transpose_checked(const Var& x, const Var& kernel, const ConvCall& c, const ConvGeometry& geom) {
  checked_tensor_bytes(with_spatial(c.batch, geom.big, c.c_out), x.dtype(), "conv_transpose");
  const Geo3 g = to_geo3(geom);
  const std::size_t taps = static_cast<std::size_t>(g.taps());
  // the GEMM's dimensions (rows: images * pixels; depth: taps * channels) must fit
  checked_mul(c.images, static_cast<std::size_t>(g.big_pixels()), "conv_transpose: images * output pixels");
  checked_mul(taps, std::max(c.c_in, c.c_out), "conv_transpose: taps * channels");
  const Shape y_shape = with_spatial(c.batch, geom.big, c.c_out);
  if (thin(/*transpose=*/true, c)) return thin_conv_op(/*transpose=*/true, x, kernel, c, g, y_shape);
  return gemm_conv_op(/*transpose=*/true, x, kernel, c, g, y_shape);
}

Var conv_transpose(const Var& x, const Var& kernel, const ConvTransposeOptions& options) {
  const ConvCall c = inspect(x, kernel, "conv_transpose");
  return conv_transpose_checked(x, kernel, c,
                                conv_transpose_geometry(spatial_of(x, c.rank), filter_of(kernel, c.rank), options));
}

Var conv_transpose(const Var& x, const Var& kernel, const ConvGeometry& geom) {
  const ConvCall c = inspect(x, kernel, "conv_transpose");
  check_geometry(c, x, kernel, geom, /*transpose=*/true, "conv_transpose");
  return conv_transpose_checked(x, kernel, c, geom);
}

}  // namespace tapir
