// Flipout's two convolutions as one op. With W the op's product (convolution or conv-transpose):
//
//   y  = W(x, loc) + s_out ⊙ W(s_in ⊙ x, delta) + bias
//   dx = W*(dy, loc) + s_in ⊙ W*(s_out ⊙ dy, delta)           (W*: the input gradient)
//   dloc = Wk(x, dy)      ddelta = Wk(s_in ⊙ x, s_out ⊙ dy)    (Wk: the kernel gradient)
//   dbias = the sum of dy over every pixel of every image
//
// Each output tile of y (and of dx) gets the mean product, then the perturbation product times
// the signs, while it is in cache: one pass over the output, no perturbation tensor, no separate
// multiply or add; only the sign-scaled inputs of the second products are formed, once each.
// Thin channel counts take the direct kernels twice and join the two products in one pass
// (signs, sum, bias, activation) with the bits of the plain ops composed — which is what they
// take with sign tensors.
#include <tapir/core/conv.hpp>

#include <algorithm>
#include <cmath>

#include <tapir/core/ops.hpp>
#include <tapir/core/random.hpp>
#include <tapir/core/simd.hpp>
#include <tapir/core/tensor_ops.hpp>

#include "conv_engine.hpp"
#include "kernels/elementwise.hpp"

namespace tapir {

using namespace conv_engine;

namespace {

// One side's signs: a tensor of values (whatever the caller passes) or a Rademacher draw held
// as bits (what the variational layers pass: no ±1 tensor is written or read).
struct Signs {
  Tensor values;
  random::SignBits bits;
  bool as_bits() const { return bits.defined(); }
  const Shape& shape() const { return as_bits() ? bits.shape() : values.shape(); }
  Tensor tensor(DType dtype) const { return as_bits() ? bits.tensor(dtype) : values; }
  kernels::SignRun run() const { return as_bits() ? kernels::SignRun{bits.words(), bits.lead()} : kernels::SignRun{}; }
  template <class T> const T* scale() const { return as_bits() ? nullptr : values.data<T>(); }
  // x ⊙ s
  Tensor times(const Tensor& x) const {
    if (!as_bits()) return tensor_ops::mul(x, values);
    Tensor out = Tensor::empty(x.shape(), x.dtype());
    TAPIR_DISPATCH(x.dtype(), T, kernels::apply_signs<T>(x.data<T>(), run(), out.data<T>(), x.size()));
    return out;
  }
};

void check_signs(const Signs& s, const char* name, const Shape& shape, DType dtype, const char* side, const char* who) {
  if (s.shape() == shape && (s.as_bits() || s.values.dtype() == dtype)) return;
  throw ShapeError(std::string(who) + ": " + name + " " + shape_str(s.shape()) +
                   (s.as_bits() ? std::string(" (sign bits)") : " (" + std::string(dtype_name(s.values.dtype())) + ")") +
                   " must have the shape" + (s.as_bits() ? "" : " and dtype") + " of the " + side + " " +
                   shape_str(shape) + " (" + dtype_name(dtype) + ")");
}

void check_flipout_arguments(const Var& x, const Var& loc, const Var& delta, const Signs& sign_in,
                             const Signs& sign_out, const Var& bias, const Shape& y_shape, const char* who) {
  if (bias.defined() && (bias.shape() != Shape{y_shape.back()} || bias.dtype() != x.dtype()))
    throw ShapeError(std::string(who) + ": bias " + shape_str(bias.shape()) + " (" + dtype_name(bias.dtype()) +
                     ") must be [" + std::to_string(y_shape.back()) + "] (the output channels) of the input's dtype " +
                     dtype_name(x.dtype()));
  if (delta.shape() != loc.shape() || delta.dtype() != loc.dtype())
    throw ShapeError(std::string(who) + ": delta " + shape_str(delta.shape()) + " (" + dtype_name(delta.dtype()) +
                     ") must have the shape and dtype of loc " + shape_str(loc.shape()) + " (" +
                     dtype_name(loc.dtype()) + ")");
  check_signs(sign_in, "sign_in", x.shape(), x.dtype(), "input", who);
  check_signs(sign_out, "sign_out", y_shape, x.dtype(), "output", who);
}

kernels::Activation kernel_activation(const FusedActivation& a) {
  using K = kernels::Activation::Kind;
  switch (a.kind) {
    case FusedActivation::Kind::relu: return {K::relu, 0.0};
    case FusedActivation::Kind::leaky_relu: return {K::leaky_relu, a.negative_slope};
    case FusedActivation::Kind::none: break;
  }
  return {};
}

Var flipout(bool transpose, const Var& x, const Var& loc, const Var& delta, const Signs& sign_in,
            const Signs& sign_out, const ConvGeometry& geom, const Var& bias, const FusedActivation& activation) {
  const char* who = transpose ? "flipout_conv_transpose" : "flipout_convolution";
  const ConvCall c = inspect(x, loc, who);
  check_geometry(c, x, loc, geom, transpose, who);
  const Shape y_shape = with_spatial(c.batch, transpose ? geom.big : geom.small, c.c_out);
  check_flipout_arguments(x, loc, delta, sign_in, sign_out, bias, y_shape, who);
  auto plain = [&](const Var& input, const Var& kernel) {
    return transpose ? conv_transpose(input, kernel, geom) : convolution(input, kernel, geom);
  };
  if (activation.kind == FusedActivation::Kind::leaky_relu &&
      (!(activation.negative_slope >= 0) || !std::isfinite(activation.negative_slope)))
    throw ValueError(std::string(who) + ": a fused leaky_relu needs a finite negative_slope >= 0, got " +
                     std::to_string(activation.negative_slope));
  const bool thin_kernels = thin(transpose, c);
  if (thin_kernels && !(sign_in.as_bits() && sign_out.as_bits())) {  // sign tensors: the plain ops composed
    const Var y = plain(x, loc) + plain(x * constant(sign_in.tensor(x.dtype())), delta) * constant(sign_out.tensor(x.dtype()));
    return activation(bias.defined() ? y + bias : y);
  }
  const kernels::Activation act = kernel_activation(activation);
  checked_tensor_bytes(y_shape, x.dtype(), who);
  const bool recording = grad_enabled();
  const bool need_x = recording && x.requires_grad(), need_loc = recording && loc.requires_grad();
  const bool need_delta = recording && delta.requires_grad();
  const bool need_bias = recording && bias.defined() && bias.requires_grad();
  const Geo3 g3 = kernels::to_geo3(geom);
  // the GEMM engine, or the thin-channel kernels (sign bits: the composed ops' bits, one pass to
  // join the products where the composition made four)
  const auto conv = thin_kernels ? nullptr
                                 : std::make_shared<const GemmConv>(transpose, g3, c,
                                                                    GemmConv::Wanted{need_x, need_loc || need_delta});
  const auto thin_conv = thin_kernels ? std::make_shared<const ThinConv>(transpose, g3, c) : nullptr;
  const Tensor xv = x.value(), bv = bias.defined() ? bias.value() : Tensor();
  const Tensor lv = thin_conv ? thin_conv->weights(loc.value()) : loc.value();
  const Tensor dv = thin_conv ? thin_conv->weights(delta.value()) : delta.value();
  const Tensor x_signed = sign_in.times(xv);
  Tensor y = Tensor::empty(y_shape, xv.dtype());
  if (thin_conv) {
    Tensor y_perturbation = Tensor::empty(y_shape, xv.dtype());
    thin_conv->forward(xv, lv, y);
    thin_conv->forward(x_signed, dv, y_perturbation);
    TAPIR_DISPATCH(xv.dtype(), T,
                   kernels::join_signed<T>(y.data<T>(), y_perturbation.data<T>(), sign_out.run(),
                                           bias.defined() ? bv.data<T>() : nullptr, y.size() / c.c_out, c.c_out, act,
                                           y.data<T>()));
  } else {
    TAPIR_DISPATCH(xv.dtype(), T, {
      conv->forward(xv.data<T>(), lv.data<T>(), y.data<T>(), /*accumulate=*/false, static_cast<const T*>(nullptr),
                    bias.defined() ? bv.data<T>() : nullptr,
                    GemmConv::Second<T>{x_signed.data<T>(), dv.data<T>(), sign_out.scale<T>(), sign_out.run()}, act);
    });
  }
  // with an activation, its gradient is read from y (kernels/activation.hpp)
  const Tensor y_kept = act ? y : Tensor();
  // both kernel gradients in one pass over x, the signs applied where x is read, where the
  // engine has that pass: then r_in ⊙ x is not kept for the backward
  const bool paired_kernel_grads = conv && need_loc && need_delta && sign_in.as_bits() && conv->pairs_kernel_grads();
  const Tensor x_kept = need_loc ? xv : Tensor();
  const Tensor x_signed_kept = need_delta && !paired_kernel_grads ? x_signed : Tensor();
  const Signs s_in = sign_in, s_out = sign_out;
  const Shape x_shape = x.shape(), w_shape = loc.shape();
  std::vector<Var> inputs{x, loc, delta};
  const bool with_bias = bias.defined();
  if (with_bias) inputs.push_back(bias);
  const std::size_t c_in = c.c_in, c_out = c.c_out;
  return custom_op(who, y, inputs, [=](const Tensor& g) {
    Tensor dx, dloc, ddelta, dbias;
    // gy: the gradient at the pre-activation (g itself without an activation). s_out ⊙ gy feeds
    // the second products only (dx's and delta's); with sign bits, the bias gradient is summed
    // in the same pass over gy, which also forms gy from g and y when there is an activation
    Tensor gy = act ? Tensor() : g, gy_signed;
    if ((need_x || need_delta) && s_out.as_bits() && need_bias) {
      Tensor dz = act ? Tensor::empty(g.shape(), g.dtype()) : Tensor();
      Tensor signed_dz = Tensor::empty(g.shape(), g.dtype());
      Tensor sums = Tensor::empty({c_out}, g.dtype());
      bool summed = false;
      TAPIR_DISPATCH(g.dtype(), T, {
        summed = act ? kernels::activation_grad_signs_and_sum_rows<T>(act, g.data<T>(), y_kept.data<T>(), s_out.run(),
                                                                      dz.data<T>(), signed_dz.data<T>(),
                                                                      g.size() / c_out, c_out, sums.data<T>())
                     : kernels::apply_signs_and_sum_rows<T>(g.data<T>(), s_out.run(), signed_dz.data<T>(),
                                                            g.size() / c_out, c_out, sums.data<T>());
      });
      if (summed) {
        dbias = sums;
        gy_signed = signed_dz;
        if (act) gy = dz;
      }
    }
    if (!gy.defined()) {  // the activation's gradient alone
      gy = Tensor::empty(g.shape(), g.dtype());
      TAPIR_DISPATCH(g.dtype(), T,
                     kernels::apply_activation_grad<T>(act, g.data<T>(), y_kept.data<T>(), gy.data<T>(), g.size()));
    }
    if ((need_x || need_delta) && !gy_signed.defined()) gy_signed = s_out.times(gy);
    if (thin_conv) {
      if (need_x) {
        dx = Tensor::empty(x_shape, gy.dtype());
        Tensor dx_perturbation = Tensor::empty(x_shape, gy.dtype());
        thin_conv->input_grad(gy, lv, dx);
        thin_conv->input_grad(gy_signed, dv, dx_perturbation);
        TAPIR_DISPATCH(gy.dtype(), T,
                       kernels::join_signed<T>(dx.data<T>(), dx_perturbation.data<T>(), s_in.run(), nullptr,
                                               dx.size() / std::max<std::size_t>(c_in, 1), c_in, kernels::Activation{},
                                               dx.data<T>()));  // (no channels: no rows)
      }
      if (need_loc) dloc = thin_conv->kernel_grad(x_kept, gy, w_shape);
      if (need_delta) ddelta = thin_conv->kernel_grad(x_signed_kept, gy_signed, w_shape);
    } else {
      TAPIR_DISPATCH(gy.dtype(), T, {
        if (need_x) {
          dx = Tensor::empty(x_shape, gy.dtype());
          conv->input_grad(gy.data<T>(), lv.data<T>(), dx.data<T>(), /*accumulate=*/false, static_cast<const T*>(nullptr),
                           GemmConv::Second<T>{gy_signed.data<T>(), dv.data<T>(), s_in.scale<T>(), s_in.run()});
        }
        if (paired_kernel_grads) {
          dloc = Tensor::empty(w_shape, gy.dtype());
          ddelta = Tensor::empty(w_shape, gy.dtype());
          conv->kernel_grads_signed(x_kept.data<T>(), s_in.run(), gy.data<T>(), gy_signed.data<T>(), dloc.data<T>(),
                                    ddelta.data<T>());
        } else {
          if (need_loc) {
            dloc = Tensor::empty(w_shape, gy.dtype());
            conv->kernel_grad(x_kept.data<T>(), gy.data<T>(), dloc.data<T>());
          }
          if (need_delta) {
            ddelta = Tensor::empty(w_shape, gy.dtype());
            conv->kernel_grad(x_signed_kept.data<T>(), gy_signed.data<T>(), ddelta.data<T>());
          }
        }
      });
    }
    if (need_bias && !dbias.defined()) dbias = tensor_ops::sum_to(gy, {c_out});
    std::vector<Tensor> grads{dx, dloc, ddelta};
    if (with_bias) grads.push_back(dbias);
    return grads;
  });
}

}  // namespace

FusedActivation FusedActivation::leaky_relu(double negative_slope) {
  if (!(negative_slope >= 0) || !std::isfinite(negative_slope))
    throw ValueError("FusedActivation::leaky_relu: negative_slope must be finite and >= 0, got " +
                     std::to_string(negative_slope));
  return {Kind::leaky_relu, negative_slope};
}

Var FusedActivation::operator()(const Var& y) const {
  switch (kind) {
    case Kind::relu: return tapir::relu(y);
    case Kind::leaky_relu: return tapir::leaky_relu(y, negative_slope);
    case Kind::none: break;
  }
  return y;
}

Var flipout_convolution(const Var& x, const Var& loc, const Var& delta, const Tensor& sign_in,
                        const Tensor& sign_out, const ConvGeometry& geometry, const Var& bias,
                        const FusedActivation& activation) {
  return flipout(/*transpose=*/false, x, loc, delta, Signs{sign_in, {}}, Signs{sign_out, {}}, geometry, bias, activation);
}

Var flipout_conv_transpose(const Var& x, const Var& loc, const Var& delta, const Tensor& sign_in,
                           const Tensor& sign_out, const ConvGeometry& geometry, const Var& bias,
                           const FusedActivation& activation) {
  return flipout(/*transpose=*/true, x, loc, delta, Signs{sign_in, {}}, Signs{sign_out, {}}, geometry, bias, activation);
}

Var flipout_convolution(const Var& x, const Var& loc, const Var& delta, const random::SignBits& sign_in,
                        const random::SignBits& sign_out, const ConvGeometry& geometry, const Var& bias,
                        const FusedActivation& activation) {
  return flipout(/*transpose=*/false, x, loc, delta, Signs{{}, sign_in}, Signs{{}, sign_out}, geometry, bias, activation);
}

Var flipout_conv_transpose(const Var& x, const Var& loc, const Var& delta, const random::SignBits& sign_in,
                           const random::SignBits& sign_out, const ConvGeometry& geometry, const Var& bias,
                           const FusedActivation& activation) {
  return flipout(/*transpose=*/true, x, loc, delta, Signs{{}, sign_in}, Signs{{}, sign_out}, geometry, bias, activation);
}

}  // namespace tapir
