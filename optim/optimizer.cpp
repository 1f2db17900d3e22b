#include <tapir/optim/optimizer.hpp>

#include <cmath>
#include <sstream>
#include <unordered_set>

#include <tapir/optim/optimizer_with_options.hpp>
#include "reductions.hpp"

namespace tapir::optim {

namespace {
std::string describe(const Var& v) {
  return "'" + v.name() + "' (shape " + shape_str(v.shape()) + ", " + dtype_name(v.dtype()) + ")";
}
std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
}  // namespace

namespace detail {
std::string join_names(const std::vector<std::string>& names) {
  std::string s = "{";
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s + "}";
}
}  // namespace detail

Optimizer::~Optimizer() = default;

void Optimizer::add_group(const std::vector<Var>& params, NonFinite on_nonfinite) {
  const std::string who =
      std::string(kind_) + ": parameter group " + std::to_string(groups_.size());
  if (params.empty()) throw ValueError(who + " is empty (no parameters to optimize)");
  std::unordered_set<const VarImpl*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params) seen.insert(p.impl());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Var& p = params[i];
    const std::string at = who + ", parameter " + std::to_string(i);
    if (!p.defined()) throw ValueError(at + " is an undefined Var");
    if (!p.is_leaf()) throw ValueError(at + " " + describe(p) + " is computed, not a leaf");
    if (!p.requires_grad())
      throw ValueError(at + " " + describe(p) + " is a constant (does not require a gradient)");
    if (!seen.insert(p.impl()).second)
      throw ValueError(at + " " + describe(p) + " appears more than once in this optimizer");
  }
  groups_.push_back(Group{params, std::vector<ParamState>(params.size())});
  on_nonfinite_ = on_nonfinite;
}

void Optimizer::check_group(std::size_t group, const char* who) const {
  if (group >= groups_.size())
    throw ValueError(std::string(kind_) + "." + who + ": group " + std::to_string(group) +
                     " does not exist (" + std::to_string(groups_.size()) + " groups)");
}

bool Optimizer::group_has_state(std::size_t group) const {
  for (const auto& s : groups_[group].states)
    if (s.step > 0) return true;
  return false;
}

const std::vector<Var>& Optimizer::params(std::size_t group) const {
  check_group(group, "params");
  return groups_[group].params;
}

std::vector<Var> Optimizer::parameters() const {
  std::vector<Var> all;
  for (const auto& g : groups_) all.insert(all.end(), g.params.begin(), g.params.end());
  return all;
}

const ParamState& Optimizer::state(const Var& param) const {
  for (const auto& g : groups_)
    for (std::size_t i = 0; i < g.params.size(); ++i)
      if (g.params[i].impl() == param.impl()) return g.states[i];
  throw ValueError(std::string(kind_) + ".state: " +
                   (param.defined() ? "'" + param.name() + "'" : std::string("an undefined Var")) +
                   " is not one of this optimizer's parameters");
}

void Optimizer::set_schedule(Schedule schedule) { schedule_ = std::move(schedule); }

double Optimizer::lr_factor() const {
  if (!schedule_) return 1.0;
  const double f = schedule_(step_count_);
  if (!std::isfinite(f) || f < 0)
    throw ValueError(std::string(kind_) + ": the schedule returned " + num(f) + " at step " +
                     std::to_string(step_count_) +
                     "; a learning-rate factor must be finite and >= 0");
  return f;
}

double Optimizer::learning_rate(std::size_t group) const {
  check_group(group, "learning_rate");
  return base_learning_rate(group) * lr_factor();
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

void Optimizer::init_state(std::size_t group, const Tensor& value, ParamState& state) const {
  state.buffers.clear();
  for (std::size_t b = 0; b < buffer_names(group).size(); ++b)
    state.buffers.push_back(Tensor::zeros(value.shape(), value.dtype()));
}

bool Optimizer::step() { return step_impl(nullptr); }
bool Optimizer::step(const Var& loss) { return step_impl(&loss); }

bool Optimizer::step_impl(const Var* loss) {
  NoGradGuard no_grad;
  const double factor = lr_factor();
  const auto who = [this] { return std::string(kind_) + ".step"; };  // built only for errors

  // Phase 1: check everything, so that a failing step changes nothing.
  bool nonfinite = false;
  if (loss != nullptr && !detail::all_finite(loss->value())) {
    if (on_nonfinite_ == NonFinite::raise) {
      const auto at = detail::first_nonfinite(loss->value());
      throw ValueError(who() + ": the loss" +
                       (loss->name().empty() ? "" : " '" + loss->name() + "'") +
                       " is not finite (" + num(loss->value().at(at.value_or(0))) +
                       " at flat index " + std::to_string(at.value_or(0)) + ")");
    }
    nonfinite = true;
  }
  for (const auto& g : groups_) {
    for (const auto& p : g.params) {
      const Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      if (grad.shape() != p.shape() || grad.dtype() != p.dtype())
        throw ShapeError(who() + ": parameter " + describe(p) + " has a gradient of shape " +
                         shape_str(grad.shape()) + ", " + dtype_name(grad.dtype()));
      if (nonfinite && on_nonfinite_ == NonFinite::skip) continue;  // already skipping
      if (detail::all_finite(grad)) continue;
      if (on_nonfinite_ == NonFinite::raise) {
        const std::size_t at = detail::first_nonfinite(grad).value_or(0);
        throw ValueError(who() + ": the gradient of parameter " + describe(p) + " is not finite (" +
                         num(grad.at(at)) + " at flat index " + std::to_string(at) + ")");
      }
      nonfinite = true;
    }
  }
  if (nonfinite) {
    ++skipped_steps_;
    return false;
  }

  // Phase 2: update.
  for (std::size_t gi = 0; gi < groups_.size(); ++gi) {
    Group& g = groups_[gi];
    const double lr = base_learning_rate(gi) * factor;
    for (std::size_t i = 0; i < g.params.size(); ++i) {
      Var p = g.params[i];
      if (!p.grad().defined()) continue;
      ParamState& st = g.states[i];
      if (st.step == 0) init_state(gi, p.value(), st);
      ++st.step;
      update(gi, p.mutable_value(), p.grad(), st, lr);
    }
  }
  ++step_count_;
  return true;
}

}  // namespace tapir::optim
