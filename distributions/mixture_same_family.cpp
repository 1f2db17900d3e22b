#include <tapir/distributions/mixture_same_family.hpp>

#include <tapir/core/ops.hpp>
#include "internal.hpp"

namespace tapir::distributions {

MixtureSameFamily::MixtureSameFamily(std::shared_ptr<Categorical> mixture_distribution,
                                     DistributionPtr components_distribution, bool validate_args, std::string name)
    : Distribution(std::move(name), validate_args),
      mixture_(std::move(mixture_distribution)),
      components_(std::move(components_distribution)) {
  if (!mixture_ || !components_) throw ValueError(label() + ": mixture and components must not be null");
  if (mixture_->dtype() != components_->dtype())
    throw TypeError(label() + ": the mixture is " + dtype_name(mixture_->dtype()) + " but the components are " +
                    dtype_name(components_->dtype()));
  const Shape component_batch = components_->batch_shape();
  const std::size_t k = mixture_->num_categories();
  if (component_batch.empty() || component_batch.back() != k)
    throw ShapeError(label() + ": the components' rightmost batch dim must be the " + std::to_string(k) +
                     " mixture categories; got " + to_string(*components_));
  batch_shape_.assign(component_batch.begin(), component_batch.end() - 1);
  const Shape mixture_batch = mixture_->batch_shape();
  bool broadcasts = mixture_batch.size() <= batch_shape_.size();
  for (std::size_t i = 0; broadcasts && i < mixture_batch.size(); ++i) {
    const std::size_t m = mixture_batch[mixture_batch.size() - 1 - i];
    broadcasts = m == 1 || m == batch_shape_[batch_shape_.size() - 1 - i];
  }
  if (!broadcasts)
    throw ShapeError(label() + ": the mixture's batch shape " + shape_str(mixture_batch) +
                     " does not broadcast to the components' batch shape without the categories, " +
                     shape_str(batch_shape_));
}

Var MixtureSameFamily::weights_for_components(const Var& w) const {
  // w: mixture_batch + [K]  ->  mixture_batch + [K] + [1] * |E|; right-aligned broadcasting then
  // lines mixture_batch up with the rightmost batch dims, as it should.
  return internal::insert_unit_axes(w, w.ndim(), components_->event_shape().size());
}

Var MixtureSameFamily::log_prob(const Var& value) const {
  check_value(value, "log_prob");
  const std::size_t event_rank = event_shape().size();
  // x: X + E  ->  X + [1] + E, so the components' log_prob broadcasts to X' + [K]
  Var x = value;
  if (x.ndim() < batch_shape_.size() + event_rank)
    x = internal::insert_unit_axes(x, 0, batch_shape_.size() + event_rank - x.ndim());
  x = internal::insert_unit_axes(x, x.ndim() - event_rank, 1);
  const Var component_log_prob = components_->log_prob(x);  // X' + [K]
  return logsumexp(component_log_prob + mixture_->log_probs(), {-1});
}

Var MixtureSameFamily::cdf(const Var& value) const {
  check_value(value, "cdf");
  if (!event_shape().empty()) not_implemented("cdf", "defined for scalar events only");
  Var x = value;
  if (x.ndim() < batch_shape_.size()) x = internal::insert_unit_axes(x, 0, batch_shape_.size() - x.ndim());
  x = internal::insert_unit_axes(x, x.ndim(), 1);
  return sum(components_->cdf(x) * mixture_->probs(), {-1});
}

Var MixtureSameFamily::mean() const {
  const int k_axis = -static_cast<int>(event_shape().size()) - 1;
  return sum(weights_for_components(mixture_->probs()) * components_->mean(), {k_axis});
}

Var MixtureSameFamily::variance() const {
  const std::size_t event_rank = event_shape().size();
  const int k_axis = -static_cast<int>(event_rank) - 1;
  const Var w = weights_for_components(mixture_->probs());
  const Var mu = components_->mean();
  const Var overall = internal::insert_unit_axes(sum(w * mu, {k_axis}), batch_shape_.size(), 1);
  return sum(w * (components_->variance() + square(mu - overall)), {k_axis});
}

Var MixtureSameFamily::sample(const Shape& sample_shape, const RandomStream& stream) const {
  const std::size_t event_rank = event_shape().size();
  // every component's draw: S + B + [K] + E
  const Var draws = components_->sample(sample_shape, stream.fold_in("components"));
  // the class of each draw: S + mixture_batch, one-hot to S + [1...] + mixture_batch + [K] + [1] * |E|
  const Var classes = mixture_->sample(sample_shape, stream.fold_in("mixture"));
  Var selector = constant(internal::one_hot(label(), classes.value(), mixture_->num_categories()));
  selector = internal::insert_unit_axes(selector, sample_shape.size(),
                                        batch_shape_.size() - mixture_->batch_shape().size());
  selector = internal::insert_unit_axes(selector, selector.ndim(), event_rank);
  return sum(selector * draws, {-static_cast<int>(event_rank) - 1});
}

}  // namespace tapir::distributions
