// tfn::util: the kernel/bias factories every kernel-bias layer is built from, and small helpers.
//
//   make_kernel_bias_posterior_mvn_diag   q = JointDistributionSequential([
//                                              Independent(Normal(kernel_loc, softplus(kernel_rho)+1e-5)),
//                                              Independent(Normal(bias_loc, softplus(bias_rho)+1e-5))])
//                                         (tfd classes; the scales are DeferredVars, recomputed per use)
//                                         4 trainable variables; σ starts at 1e-3
//                                         (ρ₀ = log(expm1(1e-3 - 1e-5)) ≈ -6.917311); loc from the
//                                         initializers (kernel: glorot_uniform, bias: zeros)
//   make_kernel_bias_prior_spike_and_slab p = [Sample(w, kernel_shape), Sample(w, bias_shape)] with
//                                         w = MixtureSameFamily(Categorical(probs [½, ½]), Normal(0, [1, 2000])):
//                                         every element iid ½N(0,1) + ½N(0,2000), log-sum-exp log-density, no variables
//   make_kernel_bias                      deterministic kernel and bias variables
//   unpack_kernel_and_bias                (kernel, bias) from a sampled [kernel, bias]
//   flatten_rightmost                     merges the rightmost ndims dims
//
// Variable names: "<kernel_name>_loc", "<kernel_name>_rho", ... — layers pass
// kernel_name = "<layer>/kernel" and bias_name = "<layer>/bias", so a layer named "decoder1" owns
// "decoder1/kernel_loc", "decoder1/kernel_rho", "decoder1/bias_loc", "decoder1/bias_rho".
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <tapir/core/options.hpp>
#include <tapir/core/random.hpp>
#include <tapir/core/var.hpp>

#include <tapir/layers/initializers.hpp>
#include <tapir/distributions/joint.hpp>

namespace tapir::nn {

using JointDistribution = distributions::JointDistributionSequential;

/// What make_posterior_fn / make_prior_fn return: the distribution, and the variables it was
/// built from (TFP finds them by tf.Module attribute tracking; C++ lists them). A distribution
/// without variables converts implicitly.
struct TrackedDistribution {
  std::shared_ptr<JointDistribution> distribution;
  std::vector<Var> variables;
  TrackedDistribution() = default;
  TrackedDistribution(std::shared_ptr<JointDistribution> d, std::vector<Var> vars = {})  // NOLINT
      : distribution(std::move(d)), variables(std::move(vars)) {}
};

/// TFP's make_posterior_fn / make_prior_fn signature (plus the stream initializers draw from).
using MakeDistributionFn = std::function<TrackedDistribution(
    const Shape& kernel_shape, const Shape& bias_shape, const Initializer& kernel_initializer,
    const Initializer& bias_initializer, std::size_t kernel_batch_ndims, std::size_t bias_batch_ndims, DType dtype,
    const std::string& kernel_name, const std::string& bias_name, const RandomStream& init_stream)>;

/// Deterministic kernel and bias variables (the make_kernel_bias_fn of the deterministic layers).
using MakeKernelBiasFn = std::function<std::pair<Var, Var>(
    const Shape& kernel_shape, const Shape& bias_shape, const Initializer& kernel_initializer,
    const Initializer& bias_initializer, std::size_t kernel_batch_ndims, std::size_t bias_batch_ndims, DType dtype,
    const std::string& kernel_name, const std::string& bias_name, const RandomStream& init_stream)>;

/// θ = posterior_value_fn(posterior, stream): TFP's default is Distribution.sample.
using PosteriorValueFn = std::function<std::vector<Var>(const JointDistribution& posterior,
                                                        const RandomStream& stream)>;
/// (kernel, bias) from θ; either may be undefined (that term is then skipped).
using UnpackWeightsFn = std::function<std::pair<Var, Var>(const std::vector<Var>& value)>;

namespace util {

/// σ = softplus(ρ) + kScaleShift; σ starts at kInitialScale.
inline constexpr double kScaleShift = 1e-5;
inline constexpr double kInitialScale = 1e-3;

TrackedDistribution make_kernel_bias_posterior_mvn_diag(
    const Shape& kernel_shape, const Shape& bias_shape, const Initializer& kernel_initializer = nullptr,
    const Initializer& bias_initializer = nullptr, std::size_t kernel_batch_ndims = 0,
    std::size_t bias_batch_ndims = 0, DType dtype = DType::float32,
    const std::string& kernel_name = "posterior_kernel", const std::string& bias_name = "posterior_bias",
    const RandomStream& init_stream = RandomStream(fresh_seed(), "init"));

TrackedDistribution make_kernel_bias_prior_spike_and_slab(
    const Shape& kernel_shape, const Shape& bias_shape, const Initializer& kernel_initializer = nullptr,
    const Initializer& bias_initializer = nullptr, std::size_t kernel_batch_ndims = 0,
    std::size_t bias_batch_ndims = 0, DType dtype = DType::float32, const std::string& kernel_name = "prior_kernel",
    const std::string& bias_name = "prior_bias", const RandomStream& init_stream = RandomStream());

/// A standard Normal prior N(0, 1) on every element (no variables) — not in TFP; handy for
/// kl_divergence_exact, which has a closed form only against Normal priors.
TrackedDistribution make_kernel_bias_prior_normal(
    const Shape& kernel_shape, const Shape& bias_shape, const Initializer& kernel_initializer = nullptr,
    const Initializer& bias_initializer = nullptr, std::size_t kernel_batch_ndims = 0,
    std::size_t bias_batch_ndims = 0, DType dtype = DType::float32, const std::string& kernel_name = "prior_kernel",
    const std::string& bias_name = "prior_bias", const RandomStream& init_stream = RandomStream());

std::pair<Var, Var> make_kernel_bias(const Shape& kernel_shape, const Shape& bias_shape,
                                     const Initializer& kernel_initializer = nullptr,
                                     const Initializer& bias_initializer = nullptr, std::size_t kernel_batch_ndims = 0,
                                     std::size_t bias_batch_ndims = 0, DType dtype = DType::float32,
                                     const std::string& kernel_name = "kernel", const std::string& bias_name = "bias",
                                     const RandomStream& init_stream = RandomStream(fresh_seed(), "init"));

/// [kernel, bias] -> (kernel, bias); [kernel] -> (kernel, undefined). Other lengths: ValueError.
/// (TFP also takes a dict; its length-1 quirk of returning the whole list as the kernel is not
/// reproduced: a C++ kernel is one Var.)
std::pair<Var, Var> unpack_kernel_and_bias(const std::vector<Var>& weights);

/// θ = posterior.sample(stream) (TFP's default posterior_value_fn, Distribution.sample).
std::vector<Var> sample_posterior(const JointDistribution& posterior, const RandomStream& stream);

/// Reshapes x so that its rightmost `ndims` dims become one: [b, 14, 14, 32] -> [b, 6272] for 3.
Var flatten_rightmost(const Var& x, std::size_t ndims = 3);
/// The same as a Sequential element: flatten_rightmost_fn(3) is a callable.
std::function<Var(const Var&)> flatten_rightmost_fn(std::size_t ndims = 3);

// ---- configurable factories (return a make_posterior_fn / make_prior_fn) ----------------------

/// make_kernel_bias_posterior_mvn_diag with chosen starting values: σ starts at initial_scale
/// (or at the per-element kernel_scale / bias_scale tensors), loc at kernel_loc / bias_loc
/// (else the layer's initializers). ρ = softplus⁻¹(σ - 1e-5), so σ must exceed 1e-5.
struct PosteriorOptions {
  TAPIR_ARG(double, initial_scale) = kInitialScale;
  TAPIR_OPTIONAL_ARG(Tensor, kernel_loc);
  TAPIR_OPTIONAL_ARG(Tensor, bias_loc);
  TAPIR_OPTIONAL_ARG(Tensor, kernel_scale);
  TAPIR_OPTIONAL_ARG(Tensor, bias_scale);

 public:
};
MakeDistributionFn posterior_mvn_diag_fn(const PosteriorOptions& options = {});

/// Independent Normal(loc, scale) priors on kernel and bias: loc 0 (or the kernel_loc /
/// bias_loc tensors, e.g. trained weights for MOPED), scale `scale`. trainable(true) makes it an
/// empirical-Bayes prior: one scale per tensor, σ = softplus(ρ) + 1e-5 with ρ a trainable
/// variable "<kernel_name>_rho" / "<bias_name>_rho" starting at `scale`.
struct NormalPriorOptions {
  TAPIR_ARG(double, scale) = 1.0;
  TAPIR_OPTIONAL_ARG(Tensor, kernel_loc);
  TAPIR_OPTIONAL_ARG(Tensor, bias_loc);
  TAPIR_ARG(bool, trainable) = false;

 public:
};
MakeDistributionFn prior_normal_fn(const NormalPriorOptions& options = {});

}  // namespace util
}  // namespace tapir::nn
