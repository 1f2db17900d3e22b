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

#include "layer.hpp"
#include "variational_options.hpp"

namespace tapir::nn {

enum class KernelOp { affine, convolution, conv_transpose };

class KernelApplier {
 public:
  static KernelApplier affine(std::size_t input_size, std::size_t output_size, const Shape& batch_shape,
                              const std::string& who);
  /// `filter` is the constructor's filter_shape (or options.filter_shape_ when unset).
  static KernelApplier convolution(std::size_t input_size, std::size_t output_size,
                                   const std::optional<IntOrList>& filter, const ConvArgs& args, bool flat_kernel,
                                   const std::string& who);
  static KernelApplier conv_transpose(std::size_t input_size, std::size_t output_size,
                                      const std::optional<IntOrList>& filter, const ConvArgs& args,
                                      const std::optional<IntOrList>& output_padding, const std::string& who);

  KernelOp op() const { return op_; }
  std::size_t input_size() const { return input_size_; }
  std::size_t output_size() const { return output_size_; }
  std::size_t rank() const { return rank_; }  ///< 0 for affine
  const std::vector<std::size_t>& filter_shape() const { return filter_; }
  const Shape& kernel_shape() const { return kernel_shape_; }
  const Shape& bias_shape() const { return bias_shape_; }
  std::size_t kernel_batch_ndims() const { return batch_shape_.size(); }
  const ConvOptions& conv_options() const { return conv_; }
  const ConvTransposeOptions& conv_transpose_options() const { return convt_; }

  /// Throws typed errors naming `who`, the argument and the shapes if x does not fit.
  void check_input(const Var& x, DType dtype, const std::string& who) const;
  /// The output shape for an input shape (after check_input).
  Shape output_shape(const Shape& x_shape) const;
  /// x ⊛ kernel with this layer's op and geometry (kernel of kernel_shape()).
  Var apply(const Var& x, const Var& kernel) const;
  /// Shape of a Flipout sign tensor for a tensor of shape `s` (x or y).
  Shape sign_shape(const Shape& s, SignMode mode) const;

 private:
  // The part of convolution()/conv_transpose() that is the same: sizes, rank, filter, strides,
  // dilations (returned through the out-parameters).
  static KernelApplier conv_family(KernelOp op, std::size_t input_size, std::size_t output_size,
                                   const std::optional<IntOrList>& filter, const ConvArgs& args, const std::string& who,
                                   std::vector<int>& strides, std::vector<int>& dilations);
  /// kernel_shape_ (flat [taps*c_in, c_out] or [filter..., c_in, c_out]), conv_kernel_shape_, bias_shape_.
  void set_kernel_shapes(bool flat_kernel);
  KernelOp op_ = KernelOp::affine;
  std::size_t input_size_ = 0, output_size_ = 0, rank_ = 0;
  std::vector<std::size_t> filter_;
  Shape batch_shape_, kernel_shape_, bias_shape_, conv_kernel_shape_;
  ConvOptions conv_;
  ConvTransposeOptions convt_;
};

/// Deterministic act(apply(x, kernel) + bias): Affine, Convolution(V2), ConvolutionTranspose.
class KernelBiasLayer : public Layer {
 public:
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
