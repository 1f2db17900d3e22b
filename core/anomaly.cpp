#include <tapir/core/anomaly.hpp>

#include <cmath>
#include <sstream>

namespace tapir {

namespace {
thread_local bool t_anomaly = false;
thread_local std::vector<std::string> t_scopes;

std::string scope_clause(const std::string& scope) { return scope.empty() ? "" : " (in scope '" + scope + "')"; }

std::string describe(const Tensor& t) { return shape_str(t.shape()) + " " + dtype_name(t.dtype()); }

std::string inputs_str(const std::vector<const Tensor*>& inputs) {
  if (inputs.empty()) return "none";
  std::string s;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    s += (i ? ", " : "") + describe(*inputs[i]);
    if (detail::first_nonfinite(*inputs[i]) != inputs[i]->size()) s += " (already non-finite)";
  }
  return s;
}

const char* kind(double v) { return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"); }
}  // namespace

bool anomaly_mode_enabled() { return t_anomaly; }
void set_anomaly_mode(bool enabled) { t_anomaly = enabled; }
AnomalyMode::AnomalyMode(bool enabled) : previous_(t_anomaly) { t_anomaly = enabled; }
AnomalyMode::~AnomalyMode() { t_anomaly = previous_; }

OpScope::OpScope(std::string name) { t_scopes.push_back(std::move(name)); }
OpScope::~OpScope() { t_scopes.pop_back(); }

std::string current_op_scope() {
  std::string s;
  for (std::size_t i = 0; i < t_scopes.size(); ++i) s += (i ? "/" : "") + t_scopes[i];
  return s;
}

namespace detail {

std::size_t first_nonfinite(const Tensor& t) {
  if (!t.defined()) return 0;
  const std::size_t n = t.size();
  if (t.dtype() == DType::float32) {
    const float* p = t.data<float>();
    for (std::size_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i])) return i;
  } else {
    const double* p = t.data<double>();
    for (std::size_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i])) return i;
  }
  return n;
}

void check_forward(const std::string& op, const Tensor& value, const std::vector<const Tensor*>& inputs) {
  const std::size_t i = first_nonfinite(value);
  if (i == value.size()) return;
  throw AnomalyError("anomaly: op '" + op + "'" + scope_clause(current_op_scope()) + " produced " + kind(value.at(i)) +
                     " at element " + std::to_string(i) + " of its output " + describe(value) + "; inputs: " +
                     inputs_str(inputs));
}

void check_backward(const std::string& op, const std::string& scope, std::size_t index, const Tensor& grad,
                    const std::vector<const Tensor*>& inputs) {
  const std::size_t i = first_nonfinite(grad);
  if (i == grad.size()) return;
  throw AnomalyError("anomaly: backward of op '" + op + "'" + scope_clause(scope) + " gave input " +
                     std::to_string(index) + " a gradient with " + kind(grad.at(i)) + " at element " +
                     std::to_string(i) + " of " + describe(grad) + "; inputs: " + inputs_str(inputs));
}

}  // namespace detail

}  // namespace tapir
