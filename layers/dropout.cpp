#include <tapir/layers/dropout.hpp>

#include <tapir/core/nn.hpp>
#include <tapir/core/ops.hpp>

namespace tapir::nn {

namespace {
double checked_rate(double rate, const std::string& name) {
  if (!(rate >= 0.0 && rate < 1.0))
    throw ValueError("Dropout '" + (name.empty() ? std::string("Dropout") : name) + "': rate must be in [0, 1), got " +
                     std::to_string(rate));
  return rate;
}
}  // namespace

Dropout::Dropout(double rate, const DropoutOptions& options)
    : Layer("Dropout", options.name()), rate_(checked_rate(rate, options.name())), seeds_(options.seed(), name()) {}

Var Dropout::operator()(const Var& x) {
  if (!training() || rate_ == 0.0) return x;
  return dropout(x, rate_, seeds_.next());
}

Flatten::Flatten(const std::string& name) : Layer("Flatten", name) {}

Var Flatten::operator()(const Var& x) {
  if (!x.defined() || x.ndim() < 1)
    throw ShapeError(who() + ": needs an input with a batch dim, got " + (x.defined() ? shape_str(x.shape()) : "undefined"));
  const std::size_t n = x.shape()[0];
  return reshape(x, {n, n == 0 ? 0 : x.size() / n});
}

}  // namespace tapir::nn
