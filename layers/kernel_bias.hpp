// What every kernel-bias layer shares: how its kernel meets the input (KernelApplier: affine,
// convolution or conv-transpose, with the layer's geometry, input checks and error messages),
// and the deterministic `act(apply(x, kernel) + bias)` layer (TFP's internal KernelBiasLayer).
//
// Kernel shapes (TFP's):
//   Affine                          batch_shape + [input_size, output_size]
//   Convolution (v1)                [filter..., input_size, output_size]
//   ConvolutionV2, ConvolutionTranspose
//                                   flat [prod(filter)*input_size, output_size] — the same memory
//                                   as [filter..., input_size, output_size], reshaped per call
//   bias                            batch_shape + [output_size] (affine) or [output_size]
//
// Inputs: B + [input_size] (affine) or B + spatial + [input_size] (conv), any leading batch shape B.
// TFP casts the input to the layer's dtype; tapir raises TypeError instead (a silent float64 ->
// float32 cast would hide a mistake; convert explicitly with Tensor::astype).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <tapir/core/conv.hpp>

#include <tapir/layers/layer.hpp>
#include <tapir/layers/variational_options.hpp>

namespace tapir::nn {

enum class KernelOp { affine, convolution, conv_transpose };

/// One call's input as the layer sees it, validated once: the convolution geometry (conv ops)
/// and the output shape. Computed by KernelApplier::check_input and passed to every apply().
struct KernelCall {
  ConvGeometry geometry;
  Shape output_shape;
};

class KernelApplier {
 public:
  static KernelApplier affine(std::size_t input_size, std::size_t output_size, const Shape& batch_shape,
                              const std::string& who);
  /// `filter` is the constructor's filter_shape (or options.filter_shape() when unset).
  static KernelApplier convolution(std::size_t input_size, std::size_t output_size,
                                   const std::optional<IntOrList>& filter, const ConvArgs& args, bool flat_kernel,
                                   const std::string& who);
  static KernelApplier conv_transpose(std::size_t input_size, std::size_t output_size,
                                      const std::optional<IntOrList>& filter, const ConvArgs& args,
                                      const std::optional<IntOrList>& output_padding, const std::string& who);

  KernelOp op() const { return op_; }
  std::size_t input_size() const { return input_size_; }
  std::size_t output_size() const { return output_size_; }
  std::size_t rank() const { return spec_.rank(); }  ///< 0 for affine
  const std::vector<std::size_t>& filter_shape() const { return spec_.filter; }
  const Shape& kernel_shape() const { return kernel_shape_; }
  const Shape& bias_shape() const { return bias_shape_; }
  std::size_t kernel_batch_ndims() const { return batch_shape_.size(); }
  /// Strides, dilations, padding and output_padding, validated by core at construction.
  const ConvSpec& conv_spec() const { return spec_; }

  /// ShapeError naming `who` if the kernel or the bias of `dtype` would exceed the tensor limit.
  void check_tensor_limits(DType dtype, const std::string& who) const;
  /// Validates x (typed errors naming `who`, the argument and the shapes) and computes the
  /// call's geometry and output shape.
  KernelCall check_input(const Var& x, DType dtype, const std::string& who) const;
  /// x ⊛ kernel with this layer's op and the call's geometry (kernel of kernel_shape()).
  Var apply(const Var& x, const Var& kernel, const KernelCall& call) const;
  /// Flipout's apply(x, loc) + sign_out ⊙ apply(sign_in ⊙ x, delta) (+ bias, where defined),
  /// then `activation`: one fused op for convolutions with elementwise signs
  /// (flipout_convolution / flipout_conv_transpose), the composed ops otherwise (affine,
  /// per-example-channel signs).
  Var apply_flipout(const Var& x, const Var& loc, const Var& delta, const random::SignBits& sign_in,
                    const random::SignBits& sign_out, const KernelCall& call, const Var& bias,
                    const FusedActivation& activation = {}) const;
  /// Shape of a Flipout sign tensor for a tensor of shape `s` (x or y).
  Shape sign_shape(const Shape& s, SignMode mode) const;

 private:
  // The part of convolution()/conv_transpose() that is the same: sizes, rank, filter, and the
  // core options carrying strides, dilations and padding.
  template <class CoreOptions>
  static KernelApplier conv_family(KernelOp op, std::size_t input_size, std::size_t output_size,
                                   const std::optional<IntOrList>& filter, const ConvArgs& args, const std::string& who,
                                   CoreOptions& options);
  /// kernel_shape_ (flat [taps*c_in, c_out] or [filter..., c_in, c_out]), conv_kernel_shape_, bias_shape_.
  void set_kernel_shapes(bool flat_kernel, const std::string& who);
  KernelOp op_ = KernelOp::affine;
  std::size_t input_size_ = 0, output_size_ = 0;
  ConvSpec spec_;
  Shape batch_shape_, kernel_shape_, bias_shape_, conv_kernel_shape_;
};

/// Deterministic act(apply(x, kernel) + bias): the estimator of Affine, Convolution(V2) and
/// ConvolutionTranspose (deterministic.hpp).
class KernelBiasLayer : public Layer {
 public:
  static constexpr const char* kClassSuffix = "";  ///< Affine, Convolution, ... (kernel_bias_family.hpp)
  Var operator()(const Var& x) override;
  const Var& kernel() const { return kernel_; }
  const Var& bias() const { return bias_; }
  DType dtype() const { return dtype_; }
  const Activation& activation_fn() const { return activation_fn_; }
  const KernelApplier& applier() const { return applier_; }

 protected:
  KernelBiasLayer(const std::string& class_name, const KernelBiasArgs& args);
  /// Called by the subclass constructor once the geometry is known: makes the variables.
  void build(KernelApplier applier, const KernelBiasArgs& args);

 private:
  KernelApplier applier_;
  Var kernel_, bias_;
  DType dtype_;
  Activation activation_fn_;
};

/// Rejects options that only variational layers use (and vice versa); `flipout` allows sign_mode.
void check_options_used(const KernelBiasArgs& args, bool variational, bool flipout, const std::string& who);
/// validate_args: ValueError naming the layer if x holds a NaN or an infinity.
void check_finite_input(const Var& x, const std::string& who);
/// Validates method/index_dtype (TFP's allowed values; no effect in tapir).
void check_conv_extras(const ConvArgs& args, const std::string& who);

}  // namespace tapir::nn
