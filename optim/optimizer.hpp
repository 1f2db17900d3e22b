// The optimizer base: parameter groups, step() with its all-or-nothing gradient checks,
// zero_grad(), schedules, and per-parameter state.
//
//   opt::Adam adam(model.trainable_variables(), opt::AdamOptions().learning_rate(1e-3));
//   for (...) { adam.zero_grad(); tapir::backward(loss); adam.step(); }
//
// step() first checks every gradient (shape, dtype, finiteness: one read-only SIMD pass over
// each) and only then updates, so a failing step changes nothing. A parameter whose gradient is undefined this step (it did not
// reach the loss, or was zeroed) is left untouched, and so are its state and step count.
// Updates write into each parameter's own buffer (Var::mutable_value()), in one fused
// SIMD/OpenMP pass per parameter; state buffers are allocated on a parameter's first update and
// reused afterwards, so steady-state steps allocate nothing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <tapir/core/var.hpp>
#include <tapir/optim/options.hpp>
#include <tapir/optim/schedules.hpp>

namespace tapir::optim {

/// What an optimizer keeps for one parameter.
struct ParamState {
  std::int64_t step = 0;        ///< updates applied to this parameter (Adam's t)
  std::vector<Tensor> buffers;  ///< in the order of Optimizer::buffer_names(group)
};

/// Hyper-parameters as (name, value) pairs: how groups are saved in state files.
using NamedValues = std::vector<std::pair<std::string, double>>;

namespace detail {
struct StateIO;
}

class Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// "SGD", "Adam", ... (names errors and state files).
  const char* kind() const { return kind_; }

  /// Applies one update to every parameter that has a gradient. Returns true if applied, false
  /// if skipped because a gradient is non-finite and on_nonfinite is NonFinite::skip.
  bool step();
  /// Like step(), but first checks that `loss` is finite (a non-finite loss is handled like a
  /// non-finite gradient).
  bool step(const Var& loss);
  /// Sets every parameter's gradient undefined (PyTorch's set_to_none=True).
  void zero_grad();

  /// Multiplies every group's learning_rate by schedule(step_count()); empty = no schedule.
  void set_schedule(Schedule schedule);
  const Schedule& schedule() const { return schedule_; }
  /// The factor the next step uses: schedule(step_count()), or 1 without a schedule.
  double lr_factor() const;
  /// The learning rate the next step uses for `group`: its learning_rate times lr_factor().
  double learning_rate(std::size_t group = 0) const;

  /// step() calls that were not skipped (the schedule's position). A step in which no
  /// parameter had a gradient still counts: the training loop did take a step.
  std::int64_t step_count() const { return step_count_; }
  /// Steps skipped for non-finite values (NonFinite::skip).
  std::int64_t skipped_steps() const { return skipped_steps_; }
  NonFinite on_nonfinite() const { return on_nonfinite_; }

  std::size_t num_param_groups() const { return groups_.size(); }
  const std::vector<Var>& params(std::size_t group) const;
  /// Every parameter, group by group.
  std::vector<Var> parameters() const;
  /// The state of `param` (step 0 and no buffers until its first update).
  const ParamState& state(const Var& param) const;
  /// The state buffers a parameter of `group` has, e.g. {"exp_avg", "exp_avg_sq"}.
  virtual std::vector<std::string> buffer_names(std::size_t group) const = 0;
  /// The group's hyper-parameters by name (what state files store).
  virtual NamedValues hyperparameters(std::size_t group) const = 0;

 protected:
  explicit Optimizer(const char* kind) : kind_(kind) {}
  /// Checks `params` (defined, trainable leaves, in no other group) and appends them as a group.
  void add_group(const std::vector<Var>& params, NonFinite on_nonfinite);
  void check_group(std::size_t group, const char* who) const;
  /// True if some parameter of `group` has been updated (its state exists).
  bool group_has_state(std::size_t group) const;
  void set_on_nonfinite(NonFinite policy) { on_nonfinite_ = policy; }

  virtual double base_learning_rate(std::size_t group) const = 0;
  /// Allocates a parameter's buffers before its first update (default: zeros).
  virtual void init_state(std::size_t group, const Tensor& value, ParamState& state) const;
  /// Applies the update rule to one parameter; `state.step` already counts this update.
  virtual void update(std::size_t group, Tensor& value, const Tensor& grad, ParamState& state,
                      double lr) = 0;

  // Loading state happens in two phases so that a bad file leaves the optimizer untouched:
  // stage (parse and validate one group's values, return the buffers they imply), then commit.
  virtual std::vector<std::string> stage_hyperparameters(std::size_t group,
                                                         const NamedValues& values,
                                                         const std::string& source) = 0;
  virtual void commit_staged_hyperparameters() noexcept = 0;

 private:
  friend struct detail::StateIO;
  struct Group {
    std::vector<Var> params;
    std::vector<ParamState> states;
  };
  bool step_impl(const Var* loss);

  const char* kind_;
  std::vector<Group> groups_;
  Schedule schedule_;
  std::int64_t step_count_ = 0;
  std::int64_t skipped_steps_ = 0;
  NonFinite on_nonfinite_ = NonFinite::raise;
};

}  // namespace tapir::optim
