#include <tapir/layers/normalization.hpp>
#include <tapir/core/anomaly.hpp>

#include <tapir/core/nn.hpp>
#include <tapir/core/ops.hpp>
#include <tapir/core/tensor_ops.hpp>

namespace tapir::nn {

namespace {

void check_options(std::size_t size, const char* what, const NormalizationOptions& o, const std::string& who) {
  if (size == 0) throw ValueError(who + ": " + what + " must be >= 1, got 0");
  if (!(o.epsilon() > 0)) throw ValueError(who + ": epsilon must be > 0, got " + std::to_string(o.epsilon()));
  if (!(o.momentum() >= 0 && o.momentum() <= 1))
    throw ValueError(who + ": momentum must be in [0, 1], got " + std::to_string(o.momentum()));
}

// x's last dim must be the layer's size, in the layer's dtype.
void check_input(const Var& x, std::size_t size, DType dtype, const char* what, const std::string& who) {
  if (!x.defined()) throw ValueError(who + ": input is undefined");
  if (x.dtype() != dtype)
    throw TypeError(who + ": input is " + dtype_name(x.dtype()) + " but the layer's dtype is " + dtype_name(dtype));
  if (x.ndim() == 0 || x.shape().back() != size)
    throw ShapeError(who + ": input has " + (x.ndim() ? std::to_string(x.shape().back()) : std::string("no")) + " " +
                     what + ", layer expects " + std::to_string(size) + " (input shape " + shape_str(x.shape()) + ")");
}

}  // namespace

BatchNormalization::BatchNormalization(std::size_t channels, const NormalizationOptions& options)
    : Layer("BatchNormalization", options.name()), channels_(channels), options_(options) {
  check_options(channels, "channels", options, who());
  const DType dt = options.dtype();
  if (options.scale()) gamma_ = add_variable(parameter(Tensor::ones({channels}, dt), name() + "/gamma"));
  if (options.center()) beta_ = add_variable(parameter(Tensor::zeros({channels}, dt), name() + "/beta"));
  moving_mean_ = add_variable(constant(Tensor::zeros({channels}, dt), name() + "/moving_mean"));
  moving_variance_ = add_variable(constant(Tensor::ones({channels}, dt), name() + "/moving_variance"));
}

Var BatchNormalization::operator()(const Var& x) {
  OpScope scope(name());
  check_input(x, channels_, options_.dtype(), "channels", who());
  if (!training())
    return batch_normalization(x, moving_mean_, moving_variance_, beta_, gamma_, options_.epsilon());
  if (x.size() == channels_)
    throw ValueError(who() + ": training mode needs more than one value per channel (input shape " +
                     shape_str(x.shape()) + "); call eval() for inference");
  FusedBatchNorm batch = fused_batch_norm(x, gamma_, beta_, options_.epsilon());
  {  // Keras: moving = moving·momentum + batch·(1 − momentum), with the biased batch variance
    namespace to = tensor_ops;
    const double m = options_.momentum();
    moving_mean_.set_value(to::add(to::scale(moving_mean_.value(), m), to::scale(batch.batch_mean, 1 - m)));
    moving_variance_.set_value(to::add(to::scale(moving_variance_.value(), m), to::scale(batch.batch_variance, 1 - m)));
  }
  return batch.y;
}

LayerNormalization::LayerNormalization(std::size_t features, const NormalizationOptions& options)
    : Layer("LayerNormalization", options.name()), features_(features), options_(options) {
  check_options(features, "features", options, who());
  const DType dt = options.dtype();
  if (options.scale()) gamma_ = add_variable(parameter(Tensor::ones({features}, dt), name() + "/gamma"));
  if (options.center()) beta_ = add_variable(parameter(Tensor::zeros({features}, dt), name() + "/beta"));
}

Var LayerNormalization::operator()(const Var& x) {
  OpScope scope(name());
  check_input(x, features_, options_.dtype(), "features", who());
  return layer_norm(x, {-1}, gamma_, beta_, options_.epsilon());
}

}  // namespace tapir::nn
