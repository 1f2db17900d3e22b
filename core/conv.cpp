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
#include "kernels/conv_gemm.hpp"
#include "kernels/conv_thin.hpp"
#include <tapir/core/shape_arith.hpp>
#include <tapir/core/tensor_ops.hpp>

namespace tapir {

using kernels::Geo3;
using kernels::to_geo3;

namespace {

struct ConvCall {
  std::size_t rank, images, c_in, c_out;
  Shape batch;  // leading batch dims of x
};

// Validates x/kernel shapes (shared by both ops) and splits x's shape.
ConvCall inspect(const Var& x, const Var& kernel, const char* who) {
  const Shape& xs = x.shape();
  const Shape& ks = kernel.shape();
  if (x.dtype() != kernel.dtype())
    throw TypeError(std::string(who) + ": input is " + dtype_name(x.dtype()) + " but kernel is " +
                    dtype_name(kernel.dtype()));
  if (ks.size() < 3 || ks.size() > 5)
    throw ShapeError(std::string(who) + ": kernel must be [filter..., c_in, c_out] with 1 to 3 filter dims, got " +
                     shape_str(ks));
  ConvCall c;
  c.rank = ks.size() - 2;
  if (xs.size() < c.rank + 1)
    throw ShapeError(std::string(who) + ": input " + shape_str(xs) + " has rank " + std::to_string(xs.size()) +
                     "; a rank-" + std::to_string(c.rank) + " op with kernel " + shape_str(ks) +
                     " needs at least " + std::to_string(c.rank + 1) + " dims (spatial... , channels)");
  c.c_in = ks[c.rank];
  c.c_out = ks[c.rank + 1];
  if (xs.back() != c.c_in)
    throw ShapeError(std::string(who) + ": input has " + std::to_string(xs.back()) + " channels but kernel " +
                     shape_str(ks) + " expects c_in=" + std::to_string(c.c_in) + " (input shape " + shape_str(xs) + ")");
  if (c.c_out == 0) throw ValueError(std::string(who) + ": kernel " + shape_str(ks) + " has c_out = 0");
  c.batch.assign(xs.begin(), xs.end() - static_cast<long>(c.rank) - 1);
  c.images = numel(c.batch);
  return c;
}

std::vector<std::size_t> spatial_of(const Var& x, std::size_t rank) {
  const Shape& xs = x.shape();
  return std::vector<std::size_t>(xs.end() - static_cast<long>(rank) - 1, xs.end() - 1);
}

std::vector<std::size_t> filter_of(const Var& kernel, std::size_t rank) {
  return std::vector<std::size_t>(kernel.shape().begin(), kernel.shape().begin() + static_cast<long>(rank));
}

// The geometry a caller computed must be the one of this x and kernel.
void check_geometry(const ConvCall& c, const Var& x, const Var& kernel, const ConvGeometry& g, bool transpose,
                    const char* who) {
  const std::vector<std::size_t> in = spatial_of(x, c.rank), filter = filter_of(kernel, c.rank);
  if (g.rank != c.rank || (transpose ? g.small : g.big) != in || g.filter != filter)
    throw ShapeError(std::string(who) + ": the geometry was computed for input spatial sizes " +
                     shape_str(transpose ? g.small : g.big) + " and filter " + shape_str(g.filter) +
                     ", but the input is " + shape_str(x.shape()) + " and the kernel " + shape_str(kernel.shape()));
}

Shape with_spatial(const Shape& batch, const std::vector<std::size_t>& spatial, std::size_t channels) {
  Shape s = batch;
  s.insert(s.end(), spatial.begin(), spatial.end());
  s.push_back(channels);
  return s;
}

// The patch plans of one call's geometry: built once in forward, shared by the backward.
struct PatchPlans {
  kernels::GatherPlan small_rows;               // output on the small side
  std::vector<kernels::GatherPlan> big_rows;    // output on the big side, one plan per stride phase
  PatchPlans(const Geo3& g, long images)
      : small_rows(kernels::small_row_plan(g, images)), big_rows(kernels::big_row_plans(g, images)) {}

  // out (small side) = patches(src on the big side) @ W
  template <class T>
  void to_small(const T* src, long src_channels, const T* w, kernels::WeightRead read, long out_channels, T* out) const {
    kernels::patch_gemm<T>(small_rows, src, src_channels, w, read, out_channels, out);
  }
  // out (big side) = the gather, phase by phase, of src on the small side through W
  template <class T>
  void to_big(const T* src, long src_channels, const T* w, kernels::WeightRead read, long out_channels, T* out) const {
    for (const auto& plan : big_rows) kernels::patch_gemm<T>(plan, src, src_channels, w, read, out_channels, out);
  }
};

}  // namespace

// The op on a checked call: x and kernel inspected (c), geom computed for them.
static Var convolution_checked(const Var& x, const Var& kernel, const ConvCall& c, const ConvGeometry& geom) {
  const Shape& xs = x.shape();
  checked_tensor_bytes(with_spatial(c.batch, geom.small, c.c_out), x.dtype(), "convolution");
  const Geo3 g = to_geo3(geom);
  // the GEMM's dimensions (rows: images * pixels; depth: taps * channels) must fit
  checked_mul(c.images, static_cast<std::size_t>(g.small_pixels()), "convolution: images * output pixels");
  checked_mul(static_cast<std::size_t>(g.taps()), std::max(c.c_in, c.c_out), "convolution: taps * channels");
  const Tensor xv = x.value(), wv = kernel.value();
  const bool need_x = x.requires_grad(), need_w = kernel.requires_grad();
  const Shape x_shape = xs, w_shape = kernel.shape();
  const long images = static_cast<long>(c.images), c_in = static_cast<long>(c.c_in), c_out = static_cast<long>(c.c_out);
  if (c_in <= kernels::kThinChannels) {  // direct kernels: the kernel is already [tap, thin, wide]
    Tensor y = Tensor::empty(with_spatial(c.batch, geom.small, c.c_out), xv.dtype());
    TAPIR_DISPATCH(xv.dtype(), T, kernels::gather_to_small<T>(xv.data<T>(), wv.data<T>(), g, images, c_in, c_out, y.data<T>()));
    return custom_op("convolution", y, {x, kernel}, [=](const Tensor& gy) {
      Tensor dx, dw;
      TAPIR_DISPATCH(gy.dtype(), T, {
        if (need_x) {
          dx = Tensor::empty(x_shape, gy.dtype());
          kernels::gather_to_big<T>(gy.data<T>(), wv.data<T>(), g, images, c_in, c_out, dx.data<T>());
        }
        if (need_w) {
          dw = Tensor::empty(w_shape, gy.dtype());
          kernels::weight_grad<T>(xv.data<T>(), gy.data<T>(), g, images, c_in, c_out, dw.data<T>());
        }
      });
      return std::vector<Tensor>{dx, dw};
    });
  }
  const auto plans = std::make_shared<const PatchPlans>(g, images);
  Tensor y = Tensor::empty(with_spatial(c.batch, geom.small, c.c_out), xv.dtype());
  TAPIR_DISPATCH(xv.dtype(), T,
                 plans->to_small(xv.data<T>(), c_in, wv.data<T>(), kernels::WeightRead::as_is, c_out, y.data<T>()));
  return custom_op("convolution", y, {x, kernel}, [=](const Tensor& gy) {
    Tensor dx, dw;
    TAPIR_DISPATCH(gy.dtype(), T, {
      if (need_x) {
        dx = Tensor::empty(x_shape, gy.dtype());
        plans->to_big(gy.data<T>(), c_out, wv.data<T>(), kernels::WeightRead::transposed, c_in, dx.data<T>());
      }
      if (need_w) {
        dw = Tensor::empty(w_shape, gy.dtype());
        kernels::conv_kernel_grad<T>(plans->small_rows, xv.data<T>(), c_in, gy.data<T>(), c_out, dw.data<T>());
      }
    });
    return std::vector<Tensor>{dx, dw};
  });
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
  const Shape& xs = x.shape();
  checked_tensor_bytes(with_spatial(c.batch, geom.big, c.c_out), x.dtype(), "conv_transpose");
  const Geo3 g = to_geo3(geom);
  const std::size_t taps = static_cast<std::size_t>(g.taps());
  // the GEMM's dimensions (rows: images * pixels; depth: taps * channels) must fit
  checked_mul(c.images, static_cast<std::size_t>(g.big_pixels()), "conv_transpose: images * output pixels");
  checked_mul(taps, std::max(c.c_in, c.c_out), "conv_transpose: taps * channels");
  const Tensor xv = x.value();
  const bool need_x = x.requires_grad(), need_w = kernel.requires_grad();
  const Shape x_shape = xs, w_shape = kernel.shape();
  const long images = static_cast<long>(c.images), c_in = static_cast<long>(c.c_in), c_out = static_cast<long>(c.c_out);
  if (c.c_out <= static_cast<std::size_t>(kernels::kThinChannels)) {
    // direct kernels on Wt[tap, c_out (thin), c_in (wide)]
    const Tensor wt = tensor_ops::permute(kernel.value().reshape({taps, c.c_in, c.c_out}), {0, 2, 1});
    Tensor y = Tensor::empty(with_spatial(c.batch, geom.big, c.c_out), xv.dtype());
    TAPIR_DISPATCH(xv.dtype(), T, kernels::gather_to_big<T>(xv.data<T>(), wt.data<T>(), g, images, c_out, c_in, y.data<T>()));
    return custom_op("conv_transpose", y, {x, kernel}, [=](const Tensor& gy) {
      Tensor dx, dw;
      TAPIR_DISPATCH(gy.dtype(), T, {
        if (need_x) {
          dx = Tensor::empty(x_shape, gy.dtype());
          kernels::gather_to_small<T>(gy.data<T>(), wt.data<T>(), g, images, c_out, c_in, dx.data<T>());
        }
        if (need_w) {
          Tensor dwt = Tensor::empty({taps, c.c_out, c.c_in}, gy.dtype());
          kernels::weight_grad<T>(gy.data<T>(), xv.data<T>(), g, images, c_out, c_in, dwt.data<T>());
          dw = tensor_ops::permute(dwt, {0, 2, 1}).reshape(w_shape);
        }
      });
      return std::vector<Tensor>{dx, dw};
    });
  }
  const Tensor wv = kernel.value();
  const auto plans = std::make_shared<const PatchPlans>(g, images);
  Tensor y = Tensor::empty(with_spatial(c.batch, geom.big, c.c_out), xv.dtype());
  TAPIR_DISPATCH(xv.dtype(), T,
                 plans->to_big(xv.data<T>(), c_in, wv.data<T>(), kernels::WeightRead::as_is, c_out, y.data<T>()));
  return custom_op("conv_transpose", y, {x, kernel}, [=](const Tensor& gy) {
    Tensor dx, dw;
    TAPIR_DISPATCH(gy.dtype(), T, {
      if (need_x) {
        dx = Tensor::empty(x_shape, gy.dtype());
        plans->to_small(gy.data<T>(), c_out, wv.data<T>(), kernels::WeightRead::transposed, c_in, dx.data<T>());
      }
      if (need_w) {
        dw = Tensor::empty(w_shape, gy.dtype());
        kernels::conv_transpose_kernel_grad<T>(plans->small_rows, xv.data<T>(), c_in, gy.data<T>(), c_out,
                                               dw.data<T>());
      }
    });
    return std::vector<Tensor>{dx, dw};
  });
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
