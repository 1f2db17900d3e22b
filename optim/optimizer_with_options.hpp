// The part of every optimizer that depends on its options type: one Options per parameter group,
// add_param_group / set_options with validation, and hyper-parameters as named values for state
// files. Each Options type provides `validate(who)` and `visit_fields(self, f)`, which calls
// f(name, field) for each option (double, bool or NonFinite).
#pragma once
#include <set>
#include <string>
#include <vector>

#include <tapir/core/error.hpp>
#include <tapir/optim/optimizer.hpp>

namespace tapir::optim {

namespace detail {
inline double to_value(double v) { return v; }
inline double to_value(bool v) { return v ? 1.0 : 0.0; }
inline double to_value(NonFinite v) { return v == NonFinite::skip ? 1.0 : 0.0; }
// Ranges of doubles are Options::validate()'s job; flags must be exactly 0 or 1.
inline bool from_value(double v, double& out) { out = v; return true; }
inline bool from_value(double v, bool& out) {
  if (v != 0.0 && v != 1.0) return false;
  out = v == 1.0;
  return true;
}
inline bool from_value(double v, NonFinite& out) {
  if (v != 0.0 && v != 1.0) return false;
  out = v == 1.0 ? NonFinite::skip : NonFinite::raise;
  return true;
}
std::string join_names(const std::vector<std::string>& names);
}  // namespace detail

template <class Options>
class OptimizerWithOptions : public Optimizer {
 public:
  /// The options given to the constructor (what add_param_group(params) uses). Copies, so
  /// they chain: adam.defaults().weight_decay(0).
  Options defaults() const { return defaults_; }
  /// A copy of a group's options; change them with set_options().
  Options options(std::size_t group = 0) const {
    check_group(group, "options");
    return options_[group];
  }

  /// Adds a parameter group with its own options, e.g. biases without weight decay:
  ///   adam.add_param_group(biases, adam.defaults().weight_decay(0));
  /// on_nonfinite is one policy for the whole step, so it must match the other groups'.
  void add_param_group(const std::vector<Var>& params, const Options& options) {
    options.validate(kind());
    if (num_param_groups() > 0 && options.on_nonfinite() != on_nonfinite())
      throw ValueError(std::string(kind()) +
                       ".add_param_group: on_nonfinite differs from the other groups' (it "
                       "decides for the whole step, so all groups must agree)");
    add_group(params, options.on_nonfinite());
    options_.push_back(options);
  }
  void add_param_group(const std::vector<Var>& params) { add_param_group(params, defaults_); }

  /// Replaces a group's options (e.g. to change its learning rate by hand). Options that change
  /// which state buffers exist (amsgrad, momentum on/off, centered) cannot change once the group
  /// has state.
  void set_options(std::size_t group, const Options& options) {
    check_group(group, "set_options");
    options.validate(kind());
    if (group_has_state(group) && buffers_for(options) != buffers_for(options_[group]))
      throw ValueError(std::string(kind()) + ".set_options: group " + std::to_string(group) +
                       " already has state buffers " +
                       detail::join_names(buffers_for(options_[group])) +
                       "; the new options need " + detail::join_names(buffers_for(options)) +
                       " (choose these options before the first step)");
    if (num_param_groups() > 1 && options.on_nonfinite() != on_nonfinite())
      throw ValueError(std::string(kind()) +
                       ".set_options: on_nonfinite must be the same in every group");
    options_[group] = options;
    set_on_nonfinite(options.on_nonfinite());
  }

  std::vector<std::string> buffer_names(std::size_t group) const override {
    check_group(group, "buffer_names");
    return buffers_for(options_[group]);
  }

  NamedValues hyperparameters(std::size_t group) const override {
    check_group(group, "hyperparameters");
    NamedValues values;
    Options::visit_fields(options_[group], [&](const char* name, const auto& field) {
      values.emplace_back(name, detail::to_value(field));
    });
    return values;
  }

 protected:
  OptimizerWithOptions(const char* kind, const std::vector<Var>& params, const Options& options)
      : Optimizer(kind), defaults_(options) {
    add_param_group(params, options);
  }

  /// The state buffers a parameter needs under `options`.
  virtual std::vector<std::string> buffers_for(const Options& options) const = 0;

  double base_learning_rate(std::size_t group) const override {
    return options_[group].learning_rate();
  }

  // Staging starts again at group 0; groups are staged in order.
  std::vector<std::string> stage_hyperparameters(std::size_t group, const NamedValues& values,
                                                 const std::string& source) override {
    if (group == 0) staged_.clear();
    const std::string where = source + ": group " + std::to_string(group);
    Options staged = options_.at(group);
    std::set<std::string> known;
    Options::visit_fields(staged, [&](const char* name, auto& field) {
      known.insert(name);
      for (const auto& [key, value] : values) {
        if (key != name) continue;
        if (!detail::from_value(value, field))
          throw ValueError(where + " hyper-parameter '" + key + "' has the invalid value " +
                           std::to_string(value) + " (expected 0 or 1)");
        return;
      }
      throw ValueError(where + " lacks the hyper-parameter '" + name + "'");
    });
    for (const auto& kv : values)
      if (!known.count(kv.first))
        throw ValueError(where + " has the hyper-parameter '" + kv.first + "', which " + kind() +
                         " does not know");
    staged.validate(where);
    if (group > 0 && staged.on_nonfinite() != staged_.front().on_nonfinite())
      throw ValueError(where + ": on_nonfinite differs from group 0's");
    staged_.push_back(staged);
    return buffers_for(staged);
  }

  void commit_staged_hyperparameters() noexcept override {
    options_.swap(staged_);
    staged_.clear();
    set_on_nonfinite(options_.front().on_nonfinite());
  }

  std::vector<Options> options_;  // one per group

 private:
  Options defaults_;
  std::vector<Options> staged_;
};

}  // namespace tapir::optim
