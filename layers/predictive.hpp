// Monte Carlo prediction: S stochastic forward passes of a Bayesian model, summarised without
// keeping S copies unless asked.
//
//   auto mc = tfn::predictive::monte_carlo(model, images, 16,
//       tfn::predictive::MonteCarloOptions().transform([](const Var& y) { return tapir::softmax(y); }));
//   mc.mean, mc.variance      // [N, ...] per-element mean and (population) variance over passes
//   tapir::metrics::accuracy(mc.mean, labels);
//
// The passes run under a NoGradGuard with the model in inference mode (BatchNormalization uses
// its running statistics, Dropout is the identity unless mc_dropout(true)); the model's mode is
// restored afterwards, also when a pass throws. Inputs are taken in batches of batch_size along
// axis 0; pass s of every batch is the s-th call of the model on that batch, so a seeded model
// gives the same result for any batch_size only if its layers draw per call (they do: θ, signs).
// Running moments are accumulated in float64 (Welford) and returned in the output's dtype.
#pragma once
#include <cstddef>
#include <functional>

#include <tapir/core/options.hpp>
#include <tapir/layers/layer.hpp>

namespace tapir::nn::predictive {

struct MonteCarloOptions {
  TAPIR_ARG(std::size_t, batch_size) = 256;
  /// applied to each pass's output before it is summarised (e.g. softmax for class probabilities)
  TAPIR_ARG(std::function<Var(const Var&)>, transform);
  TAPIR_ARG(bool, keep_samples) = false;  ///< also return all passes, stacked [S, N, ...]
  TAPIR_ARG(bool, mc_dropout) = false;    ///< keep Dropout stochastic (MC dropout)

 public:
};

struct MonteCarloResult {
  Tensor mean, variance;
  Tensor samples;  ///< [S, N, ...] when keep_samples, else undefined
};

MonteCarloResult monte_carlo(Layer& model, const Tensor& inputs, std::size_t num_samples,
                             const MonteCarloOptions& options = {});

}  // namespace tapir::nn::predictive
