// tfn::VariationalLayer: a layer whose weights have a surrogate posterior q and a prior p.
//
// It owns a SeedStream(seed, name): every forward pass takes its draws from it in a fixed order
// (Flipout: θ, r_in, ε, r_out; Reparameterization: θ; ReparameterizationLocal: θ, ε), so a
// seeded layer reproduces its outputs exactly, at any thread count. `seed_stream()` exposes the
// counter (set_counter rewinds it, e.g. to replay a call). Initial values come from a separate
// fork ("init") of the same stream.
//
// After each call: `posterior_value()` is the θ drawn in that call and `losses()` holds
// divergence_fn(posterior, prior, θ) (default: the single-sample Monte Carlo KL
// log q(θ) - log p(θ), connected to the graph of that call). Divide it by the number of
// training examples per epoch (see losses::KLWeight).
//
// VariationalKernelBiasLayer is the engine of the 9 variational kernel-bias classes (flipout.hpp,
// reparameterization.hpp): one KernelApplier (affine / convolution / conv-transpose geometry)
// and one estimator.
#pragma once
#include <memory>
#include <vector>

#include <tapir/core/random.hpp>
#include <tapir/distributions/normal.hpp>

#include "kernel_bias.hpp"
#include "util.hpp"

namespace tapir::nn {

class VariationalLayer : public Layer {
 public:
  const std::shared_ptr<JointDistribution>& posterior() const { return posterior_; }
  const std::shared_ptr<JointDistribution>& prior() const { return prior_; }
  /// θ of the last forward pass (empty before the first call).
  const std::vector<Var>& posterior_value() const { return posterior_value_; }
  const PosteriorValueFn& posterior_value_fn() const { return posterior_value_fn_; }
  const UnpackWeightsFn& unpack_weights_fn() const { return unpack_weights_fn_; }
  const DivergenceFn& divergence_fn() const { return divergence_fn_; }
  const Activation& activation_fn() const { return activation_fn_; }
  DType dtype() const { return dtype_; }
  SeedStream& seed_stream() { return seeds_; }

 protected:
  VariationalLayer(const std::string& class_name, const KernelBiasArgs& args);

  std::shared_ptr<JointDistribution> posterior_, prior_;
  std::vector<Var> posterior_value_;
  PosteriorValueFn posterior_value_fn_;
  UnpackWeightsFn unpack_weights_fn_;
  DivergenceFn divergence_fn_;
  Activation activation_fn_;
  DType dtype_;
  SeedStream seeds_;
};

enum class Estimator { reparameterization, flipout, local_reparameterization };

class VariationalKernelBiasLayer : public VariationalLayer {
 public:
  Var operator()(const Var& x) override;
  Estimator estimator() const { return estimator_; }
  SignMode sign_mode() const { return sign_mode_; }
  const KernelApplier& applier() const { return applier_; }
  const Shape& kernel_shape() const { return applier_.kernel_shape(); }
  const Shape& bias_shape() const { return applier_.bias_shape(); }

 protected:
  VariationalKernelBiasLayer(const std::string& class_name, Estimator estimator, const KernelBiasArgs& args);
  /// Called by the subclass constructor once the geometry is known: builds posterior and prior.
  void build(KernelApplier applier, const KernelBiasArgs& args);

 private:
  /// Posterior part i as a Normal under Independent wrappers (Flipout and local
  /// reparameterization need loc and scale); TypeError naming the type otherwise (null if
  /// `required` is false).
  std::shared_ptr<distributions::Normal> posterior_normal(std::size_t part, bool required) const;
  Estimator estimator_;
  SignMode sign_mode_ = SignMode::elementwise;
  KernelApplier applier_;
};

}  // namespace tapir::nn
