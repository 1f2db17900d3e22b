// The ops behind everyday network layers, TF/Keras semantics and argument names:
//
//   softmax(x, axis)          e^x / Σ e^x along axis, computed as exp(x - logsumexp(x)): stable for any x
//   log_softmax(x, axis)      x - logsumexp(x, axis)
//   dropout(x, rate, stream)  inverted dropout: each element kept with probability 1 - rate and
//                             scaled by 1 / (1 - rate), dropped to 0 otherwise; the mask is drawn
//                             from the counter-based `stream`, so it is the same at any thread count.
//                             rate must be in [0, 1); rate 0 is the identity.
//   moments(x, axes)          mean and (biased, population) variance over `axes`, keepdims
//   batch_normalization(x, mean, variance, offset, scale, epsilon)
//                             (x - mean) / sqrt(variance + epsilon) * scale + offset  (tf.nn's name;
//                             offset/scale may be undefined Vars: 0 and 1)
//   fused_batch_norm(x, scale, offset, epsilon)
//                             training-mode batch normalization over every axis but the last
//                             (tf.compat.v1.nn.fused_batch_norm, NHWC, is_training): the value and
//                             gradients of moments + batch_normalization, in one op (3 passes
//                             forward, 2 backward), and the batch mean/variance [C] as values for
//                             running statistics (biased, unlike TF's Bessel-corrected output);
//                             the same bits at any thread count
//   layer_norm(x, axes, gamma, beta, epsilon)
//                             x normalised by its own mean and variance over `axes` (default the
//                             last), then * gamma + beta (undefined: 1 and 0); Keras epsilon 1e-3
//
// All are differentiable in every input that requires a gradient (dropout's mask is a constant).
#pragma once
#include <utility>
#include <vector>

#include <tapir/core/random.hpp>
#include <tapir/core/var.hpp>

namespace tapir {

Var softmax(const Var& x, int axis = -1);
Var log_softmax(const Var& x, int axis = -1);
Var dropout(const Var& x, double rate, const RandomStream& stream);

struct Moments {
  Var mean, variance;
};
Moments moments(const Var& x, const std::vector<int>& axes);
Var batch_normalization(const Var& x, const Var& mean, const Var& variance, const Var& offset, const Var& scale,
                        double epsilon);
struct FusedBatchNorm {
  Var y;
  Tensor batch_mean, batch_variance;  // [C], biased variance (what y was normalised with)
};
FusedBatchNorm fused_batch_norm(const Var& x, const Var& scale = Var(), const Var& offset = Var(),
                                double epsilon = 1e-3);
Var layer_norm(const Var& x, const std::vector<int>& axes = {-1}, const Var& gamma = Var(), const Var& beta = Var(),
               double epsilon = 1e-3);

}  // namespace tapir
