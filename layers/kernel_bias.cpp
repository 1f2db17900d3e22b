#include <tapir/layers/kernel_bias.hpp>
#include <tapir/core/anomaly.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

#include <tapir/core/ops.hpp>
#include <tapir/core/shape_arith.hpp>

namespace tapir::nn {

namespace {


// IntOrList::expand with the layer named in the message.
std::vector<int> expand(const IntOrList& v, std::size_t rank, const char* what, const std::string& who) {
  try {
    return v.expand(rank, what);
  } catch (const ValueError& e) {
    throw ValueError(who + ": " + e.what());
  }
}

std::vector<std::size_t> positive(const std::vector<int>& v, const char* what, const std::string& who) {
  std::vector<std::size_t> out;
  for (int x : v) {
    if (x < 1) {
      std::string s = "[";
      for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
      throw ValueError(who + ": " + what + " must be >= 1, got " + s + "]");
    }
    out.push_back(static_cast<std::size_t>(x));
  }
  return out;
}

void check_sizes(std::size_t input_size, std::size_t output_size, const std::string& who) {
  if (input_size == 0) throw ValueError(who + ": input_size must be >= 1, got 0");
  if (output_size == 0) throw ValueError(who + ": output_size must be >= 1, got 0");
}

std::vector<std::size_t> resolve_filter(const std::optional<IntOrList>& positional, const ConvArgs& args,
                                        std::size_t rank, const std::string& who) {
  if (positional && args.filter_shape() && positional->values() != args.filter_shape()->values())
    throw ValueError(who + ": filter_shape given twice with different values (constructor argument and options)");
  const auto& f = positional ? positional : args.filter_shape();
  if (!f) throw ValueError(who + ": filter_shape is required (constructor argument or options.filter_shape)");
  return positive(expand(*f, rank, "filter_shape", who), "filter_shape", who);
}

std::size_t check_rank(int rank, const std::string& who) {
  if (rank < 1 || rank > 3) throw ValueError(who + ": rank must be 1, 2 or 3, got " + std::to_string(rank));
  return static_cast<std::size_t>(rank);
}

}  // namespace

void check_conv_extras(const ConvArgs& args, const std::string& who) {
  static const char* methods[] = {"auto", "subkernels", "subkernel_matrix", "dilation"};
  std::string m = args.method();
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (std::find_if(std::begin(methods), std::end(methods), [&](const char* s) { return m == s; }) == std::end(methods))
    throw ValueError(who + ": method must be one of auto, subkernels, subkernel_matrix, dilation, got \"" +
                     args.method() + "\"");
  if (args.index_dtype() != "int32" && args.index_dtype() != "int64")
    throw ValueError(who + ": index_dtype must be \"int32\" or \"int64\", got \"" + args.index_dtype() + "\"");
}

void check_options_used(const KernelBiasArgs& a, bool variational, bool flipout, const std::string& who) {
  auto reject = [&](bool set, const char* what, const char* why) {
    if (set) throw ValueError(who + ": option " + what + " " + why);
  };
  const char* det = "is only used by variational layers";
  if (!variational) {
    reject(static_cast<bool>(a.make_posterior_fn()), "make_posterior_fn", det);
    reject(static_cast<bool>(a.make_prior_fn()), "make_prior_fn", det);
    reject(static_cast<bool>(a.posterior_value_fn()), "posterior_value_fn", det);
    reject(static_cast<bool>(a.unpack_weights_fn()), "unpack_weights_fn", det);
    reject(static_cast<bool>(a.divergence_fn()), "divergence_fn", det);
  } else {
    reject(static_cast<bool>(a.make_kernel_bias_fn()), "make_kernel_bias_fn",
           "is only used by deterministic layers (variational layers take make_posterior_fn/make_prior_fn)");
  }
  reject(a.sign_mode().has_value() && !flipout, "sign_mode", "is only used by Flipout layers");
}

void check_finite_input(const Var& x, const std::string& who) {
  const Tensor& t = x.value();
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(t.at(i)))
      throw ValueError(who + ": validate_args: input element " + std::to_string(i) + " is " + std::to_string(t.at(i)) +
                       " (input shape " + shape_str(t.shape()) + ")");
}

// ---- KernelApplier ----------------------------------------------------------------------------

KernelApplier KernelApplier::affine(std::size_t input_size, std::size_t output_size, const Shape& batch_shape,
                                    const std::string& who) {
  check_sizes(input_size, output_size, who);
  for (auto d : batch_shape)
    if (d == 0) throw ValueError(who + ": batch_shape " + shape_str(batch_shape) + " has a zero dimension");
  KernelApplier k;
  k.op_ = KernelOp::affine;
  k.input_size_ = input_size;
  k.output_size_ = output_size;
  k.batch_shape_ = batch_shape;
  k.kernel_shape_ = batch_shape;
  k.kernel_shape_.push_back(input_size);
  k.kernel_shape_.push_back(output_size);
  k.bias_shape_ = batch_shape;
  k.bias_shape_.push_back(output_size);
  return k;
}

template <class CoreOptions>
KernelApplier KernelApplier::conv_family(KernelOp op, std::size_t input_size, std::size_t output_size,
                                         const std::optional<IntOrList>& filter, const ConvArgs& args,
                                         const std::string& who, CoreOptions& options) {
  check_sizes(input_size, output_size, who);
  check_conv_extras(args, who);
  KernelApplier k;
  k.op_ = op;
  k.input_size_ = input_size;
  k.output_size_ = output_size;
  const std::size_t rank = check_rank(args.rank(), who);
  k.spec_.filter = resolve_filter(filter, args, rank, who);
  options.strides(args.strides()).dilations(args.dilations()).padding(args.padding());
  return k;
}

void KernelApplier::set_kernel_shapes(bool flat_kernel, const std::string& who) {
  conv_kernel_shape_ = spec_.filter;
  conv_kernel_shape_.push_back(input_size_);
  conv_kernel_shape_.push_back(output_size_);
  const std::size_t taps = checked_numel(spec_.filter, who + ": filter_shape " + shape_str(spec_.filter));
  kernel_shape_ = flat_kernel ? Shape{checked_mul(taps, input_size_, who + ": kernel rows prod(filter_shape) * input_size"),
                                      output_size_}
                              : conv_kernel_shape_;
  bias_shape_ = {output_size_};
}

KernelApplier KernelApplier::convolution(std::size_t input_size, std::size_t output_size,
                                         const std::optional<IntOrList>& filter, const ConvArgs& args, bool flat_kernel,
                                         const std::string& who) {
  ConvOptions options;
  KernelApplier k = conv_family(KernelOp::convolution, input_size, output_size, filter, args, who, options);
  k.spec_ = tapir::conv_spec(k.spec_.filter, options, who.c_str());  // construction fails, not the first call
  k.set_kernel_shapes(flat_kernel, who);
  return k;
}

KernelApplier KernelApplier::conv_transpose(std::size_t input_size, std::size_t output_size,
                                            const std::optional<IntOrList>& filter, const ConvArgs& args,
                                            const std::optional<IntOrList>& output_padding, const std::string& who) {
  ConvTransposeOptions options;
  KernelApplier k = conv_family(KernelOp::conv_transpose, input_size, output_size, filter, args, who, options);
  if (output_padding) options.output_padding(*output_padding);
  k.spec_ = tapir::conv_transpose_spec(k.spec_.filter, options, who.c_str());
  k.set_kernel_shapes(/*flat_kernel=*/true, who);
  return k;
}

void KernelApplier::check_tensor_limits(DType dtype, const std::string& who) const {
  checked_tensor_bytes(kernel_shape_, dtype, who + ": kernel");
  checked_tensor_bytes(bias_shape_, dtype, who + ": bias");
}

KernelCall KernelApplier::check_input(const Var& x, DType dtype, const std::string& who) const {
  if (!x.defined()) throw ValueError(who + ": input is undefined");
  const Shape& s = x.shape();
  if (x.dtype() != dtype)
    throw TypeError(who + ": input is " + dtype_name(x.dtype()) + " but the layer's dtype is " + dtype_name(dtype) +
                    " (input shape " + shape_str(s) + ")");
  KernelCall call;
  if (op_ == KernelOp::affine) {
    if (s.empty()) throw ShapeError(who + ": input is a scalar; expected [..., " + std::to_string(input_size_) + "]");
    if (s.back() != input_size_)
      throw ShapeError(who + ": input has " + std::to_string(s.back()) + " features, layer expects input_size=" +
                       std::to_string(input_size_) + " (input shape " + shape_str(s) + ")");
    call.output_shape.assign(s.begin(), s.end() - 1);
    if (!batch_shape_.empty())
      call.output_shape =
          broadcast_shapes(call.output_shape, batch_shape_, (who + ": input batch dims vs kernel batch_shape").c_str());
    call.output_shape.push_back(output_size_);
    return call;
  }
  const std::size_t rank = spec_.rank();
  if (s.size() < rank + 1)
    throw ShapeError(who + ": input shape " + shape_str(s) + " has rank " + std::to_string(s.size()) + "; a rank-" +
                     std::to_string(rank) + " layer needs [batch..., " + (rank == 1 ? "w" : rank == 2 ? "h, w" : "d, h, w") +
                     ", channels] (at least " + std::to_string(rank + 1) + " dims)");
  if (s.back() != input_size_)
    throw ShapeError(who + ": input has " + std::to_string(s.back()) + " channels, layer expects input_size=" +
                     std::to_string(input_size_) + " (input shape " + shape_str(s) + ")");
  const std::vector<std::size_t> in(s.end() - static_cast<long>(rank) - 1, s.end() - 1);
  call.geometry = spec_.geometry(in, (who + " (input shape " + shape_str(s) + ")").c_str());
  call.output_shape.assign(s.begin(), s.end() - static_cast<long>(rank) - 1);
  const auto& spatial = op_ == KernelOp::convolution ? call.geometry.small : call.geometry.big;
  call.output_shape.insert(call.output_shape.end(), spatial.begin(), spatial.end());
  call.output_shape.push_back(output_size_);
  return call;
}

Var KernelApplier::apply(const Var& x, const Var& kernel, const KernelCall& call) const {
  switch (op_) {
    case KernelOp::affine: {
      const Shape& s = x.shape();
      if (batch_shape_.empty()) {
        // One GEMM over every leading dim: [prod(B), in] @ [in, out].
        const std::size_t rows = x.size() / input_size_;
        return reshape(matmul(reshape(x, {rows, input_size_}), kernel), call.output_shape);
      }
      // x[..., None, :] @ kernel, then drop the inserted axis (kernel batch dims broadcast).
      Shape xs(s.begin(), s.end() - 1);
      xs.push_back(1);
      xs.push_back(input_size_);
      return reshape(matmul(reshape(x, xs), kernel), call.output_shape);
    }
    case KernelOp::convolution:
      return tapir::convolution(x, kernel.shape() == conv_kernel_shape_ ? kernel : reshape(kernel, conv_kernel_shape_),
                                call.geometry);
    case KernelOp::conv_transpose:
      return tapir::conv_transpose(x, reshape(kernel, conv_kernel_shape_), call.geometry);
  }
  return Var();
}

Var KernelApplier::apply_flipout(const Var& x, const Var& loc, const Var& delta, const random::SignBits& sign_in,
                                 const random::SignBits& sign_out, const KernelCall& call, const Var& bias,
                                 const FusedActivation& activation) const {
  const bool elementwise_signs = sign_in.shape() == x.shape() && sign_out.shape() == call.output_shape;
  if (op_ == KernelOp::affine || !elementwise_signs) {
    const Var y = apply(x, loc, call) + apply(x * constant(sign_in.tensor(x.dtype())), delta, call) *
                                            constant(sign_out.tensor(x.dtype()));
    return activation(bias.defined() ? y + bias : y);
  }
  auto as_conv = [&](const Var& k) { return k.shape() == conv_kernel_shape_ ? k : reshape(k, conv_kernel_shape_); };
  return op_ == KernelOp::convolution
             ? tapir::flipout_convolution(x, as_conv(loc), as_conv(delta), sign_in, sign_out, call.geometry, bias,
                                          activation)
             : tapir::flipout_conv_transpose(x, as_conv(loc), as_conv(delta), sign_in, sign_out, call.geometry, bias,
                                             activation);
}

Shape KernelApplier::sign_shape(const Shape& s, SignMode mode) const {
  if (mode == SignMode::elementwise || op_ == KernelOp::affine) return s;
  Shape out = s;
  for (std::size_t i = s.size() - 1 - rank(); i + 1 < s.size(); ++i) out[i] = 1;
  return out;
}

// ---- KernelBiasLayer --------------------------------------------------------------------------

KernelBiasLayer::KernelBiasLayer(const std::string& class_name, const KernelBiasArgs& args)
    : Layer(class_name, args.name(), args.validate_args()), dtype_(args.dtype()), activation_fn_(args.activation_fn()) {
  check_options_used(args, /*variational=*/false, /*flipout=*/false, who());
}

void KernelBiasLayer::build(KernelApplier applier, const KernelBiasArgs& args) {
  applier.check_tensor_limits(dtype_, who());
  applier_ = std::move(applier);
  const MakeKernelBiasFn make = args.make_kernel_bias_fn() ? args.make_kernel_bias_fn() : MakeKernelBiasFn(util::make_kernel_bias);
  SeedStream seeds(args.seed(), name());
  auto [k, b] = make(applier_.kernel_shape(), applier_.bias_shape(), args.kernel_initializer(), args.bias_initializer(),
                     applier_.kernel_batch_ndims(), applier_.kernel_batch_ndims(), dtype_, name() + "/kernel",
                     name() + "/bias", seeds.fork("init").next());
  kernel_ = k;
  bias_ = args.use_bias() ? b : Var();
  if (kernel_.defined()) {
    if (kernel_.shape() != applier_.kernel_shape())
      throw ShapeError(who() + ": make_kernel_bias_fn returned a kernel of shape " + shape_str(kernel_.shape()) +
                       ", expected " + shape_str(applier_.kernel_shape()));
    add_variable(kernel_);
  }
  if (bias_.defined()) {
    if (bias_.shape() != applier_.bias_shape())
      throw ShapeError(who() + ": make_kernel_bias_fn returned a bias of shape " + shape_str(bias_.shape()) +
                       ", expected " + shape_str(applier_.bias_shape()));
    add_variable(bias_);
  }
}

Var KernelBiasLayer::operator()(const Var& x) {
  OpScope scope(name());
  const KernelCall call = applier_.check_input(x, dtype_, who());
  if (validate_args()) check_finite_input(x, who());
  Var y = kernel_.defined() ? applier_.apply(x, kernel_, call) : x;
  if (bias_.defined()) y = y + bias_;
  if (activation_fn_) y = activation_fn_(y);
  return y;
}

}  // namespace tapir::nn
