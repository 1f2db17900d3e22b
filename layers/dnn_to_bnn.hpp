// dnn_to_bnn: a Bayesian twin of a trained deterministic model (bayesian-torch's dnn_to_bnn,
// with MOPED, Krishnan et al. 2020, "Specifying weight priors in Bayesian deep neural networks
// with empirical Bayes").
//
// Every Affine, Convolution, ConvolutionV2 and ConvolutionTranspose of `model` (a Sequential,
// searched element by element, nested Sequentials included, or a single such layer) becomes its
// Flipout or Reparameterization counterpart with the same geometry, activation, dtype, use_bias
// and name; every other element (layers and callables) is kept, shared with `model`.
//
//   bayesian-torch name     here                 meaning
//   type                    estimator            Estimator::flipout (default) or ::reparameterization
//   moped_enable            moped_enable         false: fresh posterior locs (the layer's initializers)
//   moped_delta             moped_delta          MOPED: posterior loc = w, posterior σ = δ·|w|
//                                                (floored at min_scale), prior N(w, prior_sigma)
//   prior_mu, prior_sigma   prior_mu, prior_sigma  the Normal prior without MOPED: N(prior_mu, prior_sigma)
//   posterior_rho_init      posterior_rho_init   without MOPED: σ starts at softplus(ρ) + 1e-5
//
// default_prior(true) keeps tapir's default spike-and-slab prior instead of the Normal one.
#pragma once
#include <cstdint>
#include <memory>

#include <tapir/core/options.hpp>
#include <tapir/layers/sequential.hpp>

namespace tapir::nn {

enum class Estimator { flipout, reparameterization };

struct DnnToBnnOptions {
  TAPIR_ARG(Estimator, estimator) = Estimator::flipout;
  TAPIR_ARG(bool, moped_enable) = false;
  TAPIR_ARG(double, moped_delta) = 0.1;
  TAPIR_ARG(double, min_scale) = 1e-4;  ///< MOPED's σ floor, so a zero weight keeps some noise
  TAPIR_ARG(double, prior_mu) = 0.0;
  TAPIR_ARG(double, prior_sigma) = 1.0;
  TAPIR_ARG(double, posterior_rho_init) = -3.0;
  TAPIR_ARG(bool, default_prior) = false;
  TAPIR_OPTIONAL_ARG(std::uint64_t, seed);  ///< seeds every converted layer (salted by its name)

 public:
};

/// The Bayesian twin of `model`; `model` itself is not changed.
std::shared_ptr<Layer> dnn_to_bnn(const std::shared_ptr<Layer>& model, const DnnToBnnOptions& options = {});

}  // namespace tapir::nn
