// The parts of convolution and conv-transpose that the plain ops (conv.cpp) and the fused
// Flipout ops (flipout_conv.cpp) share: argument checks and the GEMM engine's three products
// (internal header).
#pragma once
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

#include <tapir/core/conv.hpp>
#include <tapir/core/error.hpp>
#include <tapir/core/shape_arith.hpp>
#include <tapir/core/var.hpp>

#include "kernels/conv_gemm.hpp"
#include "kernels/conv_geo3.hpp"
#include "kernels/conv_thin.hpp"

namespace tapir::conv_engine {

using kernels::Geo3;

struct ConvCall {
  std::size_t rank, images, c_in, c_out;
  Shape batch;  // leading batch dims of x
};

// Validates x/kernel shapes (shared by both ops) and splits x's shape.
inline ConvCall inspect(const Var& x, const Var& kernel, const char* who) {
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

inline std::vector<std::size_t> spatial_of(const Var& x, std::size_t rank) {
  const Shape& xs = x.shape();
  return std::vector<std::size_t>(xs.end() - static_cast<long>(rank) - 1, xs.end() - 1);
}

inline std::vector<std::size_t> filter_of(const Var& kernel, std::size_t rank) {
  return std::vector<std::size_t>(kernel.shape().begin(), kernel.shape().begin() + static_cast<long>(rank));
}

// The geometry a caller computed must be the one of this x and kernel.
inline void check_geometry(const ConvCall& c, const Var& x, const Var& kernel, const ConvGeometry& g, bool transpose,
                    const char* who) {
  const std::vector<std::size_t> in = spatial_of(x, c.rank), filter = filter_of(kernel, c.rank);
  if (g.rank != c.rank || (transpose ? g.small : g.big) != in || g.filter != filter)
    throw ShapeError(std::string(who) + ": the geometry was computed for input spatial sizes " +
                     shape_str(transpose ? g.small : g.big) + " and filter " + shape_str(g.filter) +
                     ", but the input is " + shape_str(x.shape()) + " and the kernel " + shape_str(kernel.shape()));
}

inline Shape with_spatial(const Shape& batch, const std::vector<std::size_t>& spatial, std::size_t channels) {
  Shape s = batch;
  s.insert(s.end(), spatial.begin(), spatial.end());
  s.push_back(channels);
  return s;
}

// The three products of one call (forward, input gradient, kernel gradient) on the GEMM
// engine, for either op; the patch plans are built once in forward and shared by the backward.
// Only the plans of the products the call will run are built: the forward's, and the
// gradients' that are wanted (an inference call, or a first layer whose input is data, skips
// the input gradient's plan).
class GemmConv {
 public:
  struct Wanted {
    bool input_grad, kernel_grad;
  };
  GemmConv(bool transpose, const Geo3& g, const ConvCall& c, Wanted wanted)
      : transpose_(transpose),
        images_(static_cast<long>(c.images)),
        c_in_(static_cast<long>(c.c_in)),
        c_out_(static_cast<long>(c.c_out)) {
    const char* who = transpose ? "conv_transpose" : "convolution";
    // big side: the conv-T's forward, the convolution's input gradient
    has_big_ = transpose || wanted.input_grad;
    // the kernel gradient reads the small-row plan whole (rows in order); the products onto
    // the small side (the convolution's forward, the conv-T's input gradient) take it split
    // into border classes, as the big side's phases are
    has_kernel_rows_ = wanted.kernel_grad;
    has_small_products_ = !transpose || wanted.input_grad;
    // the same geometry's plans serve every step of a training loop (kernels::shared_plans)
    using kernels::PlanKind;
    if (has_kernel_rows_) small_rows_ = kernels::shared_plans(PlanKind::small_rows, g, images_, who);
    if (has_small_products_) small_products_ = kernels::shared_plans(PlanKind::small_products, g, images_, who);
    if (has_big_) big_rows_ = kernels::shared_plans(PlanKind::big_rows, g, images_, who);
  }

  // A second product of the same op, added to each output tile while it is in cache (Flipout's
  // perturbation): input, weights, and an optional scale of the output's shape — values, or
  // Rademacher signs as bits.
  template <class T>
  struct Second {
    const T* in = nullptr;
    const T* w = nullptr;
    const T* scale = nullptr;
    kernels::SignRun signs = {};
  };

  // y (+)= s_y ⊙ op(x, w) + bias [+ second.scale ⊙ op(second.in, second.w)], then y = act(y)
  template <class T>
  void forward(const T* x, const T* w, T* y, bool accumulate = false, const T* s_y = nullptr,
               const T* bias = nullptr, Second<T> second = {}, kernels::Activation act = {}) const {
    if (transpose_)
      to_big(x, c_in_, w, kernels::WeightRead::as_is, c_out_, y, accumulate, s_y, bias, second, act);
    else
      to_small(x, c_in_, w, kernels::WeightRead::as_is, c_out_, y, accumulate, s_y, bias, second, act);
  }
  // dx (+)= s_dx ⊙ (the adjoint of op(., w) applied to dy) [+ second.scale ⊙ the adjoint of op(., second.w) applied to second.in]
  template <class T>
  void input_grad(const T* dy, const T* w, T* dx, bool accumulate = false, const T* s_dx = nullptr,
                  Second<T> second = {}) const {
    if (transpose_)
      to_small(dy, c_out_, w, kernels::WeightRead::transposed, c_in_, dx, accumulate, s_dx, static_cast<const T*>(nullptr), second);
    else
      to_big(dy, c_out_, w, kernels::WeightRead::transposed, c_in_, dx, accumulate, s_dx, static_cast<const T*>(nullptr), second);
  }
  // Whether kernel_grads_signed has a pass of its own here (a convolution down to at most
  // kThinChannels channels: both gradients read x, the one big operand, once).
  bool pairs_kernel_grads() const { return !transpose_ && c_out_ <= kernels::kThinChannels; }
  // Flipout's two kernel gradients in that pass (where pairs_kernel_grads, with sign bits): dw as
  // kernel_grad(x, dy), dw2 as kernel_grad(x_signs ⊙ x, dy2), the same bits.
  template <class T>
  void kernel_grads_signed(const T* x, kernels::SignRun x_signs, const T* dy, const T* dy2, T* dw, T* dw2) const {
    kernels::conv_kernel_grads_signed<T>(small_rows(), x, x_signs, c_in_, dy, dy2, c_out_, dw, dw2);
  }
  // dw = the gradient of <op(x, w), dy> with respect to w
  template <class T>
  void kernel_grad(const T* x, const T* dy, T* dw) const {
    if (transpose_)
      kernels::conv_transpose_kernel_grad<T>(small_rows(), x, c_in_, dy, c_out_, dw);
    else
      kernels::conv_kernel_grad<T>(small_rows(), x, c_in_, dy, c_out_, dw);
  }

 private:
  // out (small side) = patches(src on the big side) @ W
  template <class T>
  void to_small(const T* src, long src_channels, const T* w, kernels::WeightRead read, long out_channels, T* out,
                bool accumulate, const T* s_out, const T* bias, Second<T> second, kernels::Activation act = {}) const {
    if (!has_small_products_) throw std::logic_error("GemmConv: a product the call was not built for (small side)");
    kernels::patch_gemm<T>(small_products_->data(), small_products_->size(), src, src_channels, w, read, out_channels,
                           out, accumulate, s_out, bias, second.in, second.w, second.scale, second.signs, act);
  }
  // out (big side) = the gather, phase by phase, of src on the small side through W
  template <class T>
  void to_big(const T* src, long src_channels, const T* w, kernels::WeightRead read, long out_channels, T* out,
              bool accumulate, const T* s_out, const T* bias, Second<T> second, kernels::Activation act = {}) const {
    // the phases partition the output: each pixel gets the bias (and the activation) once
    kernels::patch_gemm<T>(big_rows().data(), big_rows().size(), src, src_channels, w, read, out_channels, out,
                           accumulate, s_out, bias, second.in, second.w, second.scale, second.signs, act);
  }

  const kernels::GatherPlan& small_rows() const {
    if (!has_kernel_rows_) throw std::logic_error("GemmConv: a product the call was not built for (kernel gradient)");
    return small_rows_->front();
  }
  const std::vector<kernels::GatherPlan>& big_rows() const {
    if (!has_big_) throw std::logic_error("GemmConv: a product the call was not built for (big side)");
    return *big_rows_;
  }

  bool transpose_;
  long images_, c_in_, c_out_;
  bool has_small_products_ = false, has_big_ = false, has_kernel_rows_ = false;
  using Plans = std::shared_ptr<const std::vector<kernels::GatherPlan>>;
  Plans small_rows_;      // the kernel gradient's rows: the small side's pixels in order (one plan)
  Plans small_products_;  // output on the small side, one plan per border class
  Plans big_rows_;        // output on the big side, one plan per stride phase and border class
};

// The three products of one call on the thin-channel direct kernels (kernels/conv_thin.hpp),
// for either op: a convolution's thin c_in, a conv-transpose's thin c_out. The kernels read
// the weights as Wt[tap, thin, wide] (`weights`: the kernel as it is for a convolution, its
// channels swapped for a conv-transpose).
class ThinConv {
 public:
  ThinConv(bool transpose, const Geo3& g, const ConvCall& c)
      : transpose_(transpose), g_(g), images_(static_cast<long>(c.images)),
        thin_(static_cast<long>(transpose ? c.c_out : c.c_in)), wide_(static_cast<long>(transpose ? c.c_in : c.c_out)) {}
  Tensor weights(const Tensor& kernel) const;
  void forward(const Tensor& x, const Tensor& wt, Tensor& y) const;        // y = op(x, w)
  void input_grad(const Tensor& dy, const Tensor& wt, Tensor& dx) const;   // dx = op's adjoint on dy
  Tensor kernel_grad(const Tensor& x, const Tensor& dy, const Shape& kernel_shape) const;  // dw

 private:
  // src (one side's pixels) through Wt onto the other side: the big side (more pixels: the
  // conv-T's output, the convolution's input) or the small one
  void gather(bool to_big, const Tensor& src, const Tensor& wt, Tensor& dst) const;

  bool transpose_;
  Geo3 g_;
  long images_, thin_, wide_;  // the thin side's channels (c_in, or a conv-T's c_out), the other's
};

/// The GEMM-engine op on a checked call (thin channel counts are handled before).
Var gemm_conv_op(bool transpose, const Var& x, const Var& kernel, const ConvCall& c, const Geo3& g, const Shape& y_shape);

/// True when the op takes the thin-channel direct kernels (kernels/conv_thin.hpp) instead.
inline bool thin(bool transpose, const ConvCall& c) {
  return (transpose ? c.c_out : c.c_in) <= static_cast<std::size_t>(kernels::kThinChannels);
}

}  // namespace tapir::conv_engine
