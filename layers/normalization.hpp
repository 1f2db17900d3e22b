// Normalisation layers, Keras semantics and defaults.
//
// BatchNormalization(channels): normalises over every axis but the last (channels-last).
//   training mode:  y = γ (x - μ_B) / sqrt(σ²_B + ε) + β with the batch's mean and (biased)
//                   variance, gradients flowing through them; then, outside the graph,
//                   moving_mean     ← momentum · moving_mean     + (1 - momentum) · μ_B
//                   moving_variance ← momentum · moving_variance + (1 - momentum) · σ²_B
//   inference mode: the moving statistics instead (Layer::eval(), e.g. for prediction).
//   Variables "<name>/gamma", "<name>/beta" (trainable), "<name>/moving_mean",
//   "<name>/moving_variance" (non-trainable, saved and loaded with the model).
//   Defaults: momentum 0.99, epsilon 1e-3, center (β) and scale (γ) on.
// LayerNormalization(features): normalises each example over its last axis with its own
//   statistics (no running state; the same in both modes); γ, β of shape [features];
//   epsilon 1e-3.
#pragma once
#include <string>

#include <tapir/core/options.hpp>
#include <tapir/layers/layer.hpp>

namespace tapir::nn {

struct NormalizationOptions {
  TAPIR_ARG(double, momentum) = 0.99;  ///< BatchNormalization only
  TAPIR_ARG(double, epsilon) = 1e-3;
  TAPIR_ARG(bool, center) = true;  ///< learn β
  TAPIR_ARG(bool, scale) = true;   ///< learn γ
  TAPIR_ARG(DType, dtype) = DType::float32;
  TAPIR_ARG(std::string, name);

 public:
};

class BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(std::size_t channels, const NormalizationOptions& options = {});
  Var operator()(const Var& x) override;
  const Var& moving_mean() const { return moving_mean_; }
  const Var& moving_variance() const { return moving_variance_; }
  const Var& gamma() const { return gamma_; }  ///< undefined when scale(false)
  const Var& beta() const { return beta_; }    ///< undefined when center(false)

 private:
  std::size_t channels_;
  NormalizationOptions options_;
  Var gamma_, beta_, moving_mean_, moving_variance_;
};

class LayerNormalization : public Layer {
 public:
  explicit LayerNormalization(std::size_t features, const NormalizationOptions& options = {});
  Var operator()(const Var& x) override;
  const Var& gamma() const { return gamma_; }
  const Var& beta() const { return beta_; }

 private:
  std::size_t features_;
  NormalizationOptions options_;
  Var gamma_, beta_;
};

}  // namespace tapir::nn
