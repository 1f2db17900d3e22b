// tfn::VariationalLayer: a layer whose weights have a surrogate posterior q and a prior p.
//
// It owns a SeedStream(seed, name): every forward pass takes its draws from it in a fixed order
// (Flipout: θ, r_in, ε, r_out; Reparameterization: θ; local reparameterization: θ, then the
// output noise), so a
// seeded layer reproduces its outputs exactly, at any thread count. `seed_stream()` exposes the
// counter (set_counter rewinds it, e.g. to replay a call). Initial values come from a separate
// fork ("init") of the same stream.
//
// After each call: `posterior_value()` is the θ drawn in that call and `losses()` holds
// divergence_fn(posterior, prior, θ) (default: the single-sample Monte Carlo KL
// log q(θ) - log p(θ), connected to the graph of that call), computed once, in the call.
// Under a NoGradGuard (inference) the divergence is not computed and losses() is empty, unless a
// KeepDivergenceGuard asks for it. Divide it by the number of training examples per epoch (see
// losses::KLWeight). docs/semantics/variational_layers.md has the whole contract.
//
// VariationalKernelBiasLayer is the base of the estimators (flipout.hpp, reparameterization.hpp,
// local_reparameterization.hpp): it builds posterior and prior for the geometry's kernel and
// bias, draws θ and leaves the rest of the forward pass to the estimator's `estimate`.
#pragma once
#include <memory>
#include <vector>

#include <tapir/core/random.hpp>
#include <tapir/distributions/normal.hpp>
#include <tapir/layers/kernel_bias.hpp>
#include <tapir/layers/util.hpp>

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
  SeedStream* random_stream() override { return &seeds_; }
  /// True when the last call ran under a NoGradGuard and so left no divergence in losses().
  bool divergence_skipped() const { return divergence_skipped_; }

 protected:
  VariationalLayer(const std::string& class_name, const KernelBiasArgs& args);
  /// Stores θ and, unless skipped under no-grad, divergence_fn(posterior, prior, θ) in own_losses_.
  void record_posterior_value(std::vector<Var> theta);

  std::shared_ptr<JointDistribution> posterior_, prior_;
  std::vector<Var> posterior_value_;
  PosteriorValueFn posterior_value_fn_;
  UnpackWeightsFn unpack_weights_fn_;
  DivergenceFn divergence_fn_;
  Activation activation_fn_;
  DType dtype_;
  SeedStream seeds_;
  bool divergence_skipped_ = false;
};

/// Inside its scope (on this thread) variational layers compute their divergence even under a
/// NoGradGuard, e.g. to report the KL term of an evaluation pass.
class KeepDivergenceGuard {
 public:
  KeepDivergenceGuard();
  ~KeepDivergenceGuard();
  KeepDivergenceGuard(const KeepDivergenceGuard&) = delete;
  KeepDivergenceGuard& operator=(const KeepDivergenceGuard&) = delete;
  static bool active();

 private:
  bool previous_;
};

/// Inside its scope (on this thread) the batch a variational layer is called with is taken to be
/// rows [first_example, first_example + B) of a larger batch: per-example draws (Flipout's sign
/// vectors r_in, r_out; the local reparameterization's output noise) are those rows of the draw
/// the whole batch would get (random::rademacher's `first_element` window), while the weight
/// draws (θ, ε), shared by the batch, are unchanged. So K shards of a batch of K·B reproduce
/// the noise of the whole batch exactly: the data-parallel equivalence test
/// (distributed::SingleProcessNoise), gradient accumulation over micro-batches.
class ExampleOffsetGuard {
 public:
  explicit ExampleOffsetGuard(std::size_t first_example);
  ~ExampleOffsetGuard();
  ExampleOffsetGuard(const ExampleOffsetGuard&) = delete;
  ExampleOffsetGuard& operator=(const ExampleOffsetGuard&) = delete;
  /// The offset in force on this thread (0 outside any guard).
  static std::size_t current();
  /// The first flat element of a per-example draw of `shape` (axis 0 = examples).
  static std::uint64_t first_element(const Shape& shape);

 private:
  std::size_t previous_;
};

class VariationalKernelBiasLayer : public VariationalLayer {
 public:
  Var operator()(const Var& x) override;
  SignMode sign_mode() const { return sign_mode_; }
  const KernelApplier& applier() const { return applier_; }
  const Shape& kernel_shape() const { return applier_.kernel_shape(); }
  const Shape& bias_shape() const { return applier_.bias_shape(); }

 protected:
  /// `uses_sign_mode`: the estimator draws sign vectors (Flipout); others reject the option.
  VariationalKernelBiasLayer(const std::string& class_name, const KernelBiasArgs& args, bool uses_sign_mode);
  /// Called by the geometry's constructor once the geometry is known: builds posterior and prior.
  void build(KernelApplier applier, const KernelBiasArgs& args);
  /// The estimator's forward pass from the drawn (kernel, bias) to the pre-activation output;
  /// it takes any further draws from seeds_ in its documented order.
  virtual Var estimate(const Var& x, const KernelCall& call, const Var& kernel, const Var& bias) = 0;
  /// estimate followed by `activation` (the layer's activation_fn when fused_activation
  /// recognises it): an estimator that can fuse the activation into its op overrides this; the
  /// default applies it as a separate op.
  virtual Var estimate_activated(const Var& x, const KernelCall& call, const Var& kernel, const Var& bias,
                                 const FusedActivation& activation) {
    return activation(estimate(x, call, kernel, bias));
  }
  /// Run at the end of build(): an estimator that needs more of the posterior checks it here,
  /// so that construction fails rather than the first call.
  virtual void check_posterior() const {}
  /// Posterior part i as a Normal under Independent wrappers (Flipout and local
  /// reparameterization need loc and scale); TypeError naming the type otherwise (null if
  /// `required` is false).
  std::shared_ptr<distributions::Normal> posterior_normal(std::size_t part, bool required) const;

  SignMode sign_mode_ = SignMode::elementwise;
  KernelApplier applier_;
};

}  // namespace tapir::nn
