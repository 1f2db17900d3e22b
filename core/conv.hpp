// Convolution and transposed convolution, rank 1, 2 and 3, channels-last, TF/Keras semantics
// (docs/semantics/convolution.md): input `B + spatial + [c_in]` with any leading batch
// shape B (possibly none), kernel `[filter..., c_in, c_out]` for both ops. conv_transpose is the
// scatter form with no kernel flip: y[i*s + a*d - P] += x[i] W[a].
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <tapir/core/options.hpp>
#include <tapir/core/var.hpp>

namespace tapir {
namespace random {
class SignBits;  // <tapir/core/random.hpp>
}

/// An int or a per-dimension list (TFP accepts both for strides, dilations, ...).
class IntOrList {
 public:
  IntOrList(int v) : values_{v} {}  // NOLINT: implicit on purpose, `strides(2)`
  IntOrList(std::initializer_list<int> v) : values_(v) {}
  IntOrList(std::vector<int> v) : values_(std::move(v)) {}  // NOLINT
  /// The per-dimension values for `rank` dims; throws ValueError naming `what` on a bad length.
  std::vector<int> expand(std::size_t rank, const char* what) const;
  const std::vector<int>& values() const { return values_; }

 private:
  std::vector<int> values_;
};

/// strides 1, padding "VALID" (case-insensitive; or "SAME"), dilations 1 (TF's defaults).
struct ConvOptions {
  TAPIR_ARG(IntOrList, strides) = 1;
  TAPIR_ARG(std::string, padding) = "VALID";
  TAPIR_ARG(IntOrList, dilations) = 1;

 public:
};

/// As ConvOptions, plus output_padding: unset, it is inferred (Keras deconv_output_length).
struct ConvTransposeOptions {
  TAPIR_ARG(IntOrList, strides) = 1;
  TAPIR_ARG(std::string, padding) = "VALID";
  TAPIR_ARG(IntOrList, dilations) = 1;
  TAPIR_OPTIONAL_ARG(IntOrList, output_padding);

 public:
};

/// Per spatial dimension: the "small" side (conv output / conv-T input) position o meets the
/// "big" side (conv input / conv-T output) at o*stride + tap*dilation - pad_lead.
struct ConvGeometry {
  std::size_t rank = 0;
  std::vector<std::size_t> small, big, filter, stride, dilation, pad_lead;
  std::size_t taps() const;
};

/// The arguments of one convolution or conv-transpose checked against its filter: everything
/// that does not depend on the input's size. Layers build it once, at construction; each call
/// then only computes the geometry for its input (`geometry`), and passes that geometry on.
struct ConvSpec {
  bool transpose = false;
  bool same = false;  ///< padding "SAME" (else "VALID")
  std::vector<std::size_t> filter, stride, dilation;
  std::optional<std::vector<std::size_t>> output_padding;  ///< conv-transpose only; unset: inferred
  std::size_t rank() const { return filter.size(); }
  /// The geometry for input spatial sizes `in` (`in.size()` must be the rank); ValueError
  /// naming `who` and the shapes when an input size is zero or there would be no output.
  ConvGeometry geometry(const std::vector<std::size_t>& in, const char* who) const;
};

/// Validates `options` for a convolution with this filter (ValueError naming `who` and the argument).
ConvSpec conv_spec(const std::vector<std::size_t>& filter, const ConvOptions& options,
                   const char* who = "convolution");
ConvSpec conv_transpose_spec(const std::vector<std::size_t>& filter, const ConvTransposeOptions& options,
                             const char* who = "conv_transpose");

/// Geometry of convolution(x, kernel) for input spatial sizes `in` (validates everything).
ConvGeometry conv_geometry(const std::vector<std::size_t>& in, const std::vector<std::size_t>& filter,
                           const ConvOptions& options, const char* who = "convolution");
/// Geometry of conv_transpose(x, kernel) for input spatial sizes `in`.
ConvGeometry conv_transpose_geometry(const std::vector<std::size_t>& in,
                                     const std::vector<std::size_t>& filter,
                                     const ConvTransposeOptions& options,
                                     const char* who = "conv_transpose");

/// y = convolution of x with kernel [filter..., c_in, c_out]; the rank is kernel.ndim() - 2.
Var convolution(const Var& x, const Var& kernel, const ConvOptions& options = {});
/// y = transposed convolution: the adjoint of the convolution that maps its output size back to
/// its input size (docs/semantics/convolution.md), kernel [filter..., c_in, c_out].
Var conv_transpose(const Var& x, const Var& kernel, const ConvTransposeOptions& options = {});
/// The same ops with a geometry already computed (by ConvSpec::geometry) for x's spatial sizes:
/// x and the kernel are still checked against it, nothing is validated or computed twice.
Var convolution(const Var& x, const Var& kernel, const ConvGeometry& geometry);
Var conv_transpose(const Var& x, const Var& kernel, const ConvGeometry& geometry);

/// An activation that the fused Flipout ops apply to y as they write it: relu(y) or
/// leaky_relu(y, negative_slope) — the values and gradients of tapir::relu / tapir::leaky_relu
/// applied after the op, bit for bit, without their pass over y (the gradient is taken from y:
/// y > 0 exactly where the pre-activation is, for a slope >= 0).
struct FusedActivation {
  enum class Kind { none, relu, leaky_relu };
  Kind kind = Kind::none;
  double negative_slope = 0;
  static FusedActivation relu() { return {Kind::relu, 0.0}; }
  /// ValueError unless 0 <= negative_slope < infinity (a negative slope flips signs, and the
  /// gradient could not be read from y).
  static FusedActivation leaky_relu(double negative_slope = 0.2);
  explicit operator bool() const { return kind != Kind::none; }
  /// The same activation as a separate op (y itself for none).
  Var operator()(const Var& y) const;
};

/// Flipout's estimate (Wen et al. 2018) for a convolution, as one op:
///   flipout_convolution(x, loc, delta, sign_in, sign_out, geometry, bias)
///     = convolution(x, loc) + sign_out ⊙ convolution(sign_in ⊙ x, delta) + bias
/// with kernels loc and delta of the same shape, sign_in of x's shape, sign_out of the output's
/// (constants: no gradient flows to them) and an optional bias [c_out], then the optional
/// `activation` applied to the whole. Equal to the composed ops up to rounding, without their
/// intermediate tensors: the products add the bias and sign_out ⊙ (...) while they write y (and
/// apply the activation while each tile is in cache), and the backward does the same for the
/// input gradient.
Var flipout_convolution(const Var& x, const Var& loc, const Var& delta, const Tensor& sign_in,
                        const Tensor& sign_out, const ConvGeometry& geometry, const Var& bias = Var(),
                        const FusedActivation& activation = {});
/// The same for conv_transpose: conv_transpose(x, loc) + sign_out ⊙ conv_transpose(sign_in ⊙ x, delta) + bias.
Var flipout_conv_transpose(const Var& x, const Var& loc, const Var& delta, const Tensor& sign_in,
                           const Tensor& sign_out, const ConvGeometry& geometry, const Var& bias = Var(),
                           const FusedActivation& activation = {});
/// Both, with Rademacher signs held as bits (random::rademacher_bits: what the variational layers
/// draw): the same values and gradients as passing the draws' tensors, without writing or
/// reading a ±1 tensor; the bias gradient is summed in the backward's pass over sign_out ⊙ dy
/// (with an activation, the same pass forms dy's gradient through it).
Var flipout_convolution(const Var& x, const Var& loc, const Var& delta, const random::SignBits& sign_in,
                        const random::SignBits& sign_out, const ConvGeometry& geometry, const Var& bias = Var(),
                        const FusedActivation& activation = {});
Var flipout_conv_transpose(const Var& x, const Var& loc, const Var& delta, const random::SignBits& sign_in,
                           const random::SignBits& sign_out, const ConvGeometry& geometry, const Var& bias = Var(),
                           const FusedActivation& activation = {});

}  // namespace tapir
