#include <tapir/distributions/independent.hpp>

#include <tapir/core/ops.hpp>
#include "internal.hpp"

namespace tapir::distributions {

Independent::Independent(DistributionPtr distribution, std::optional<std::size_t> reinterpreted_batch_ndims,
                         bool validate_args, std::string name)
    : Distribution(std::move(name), validate_args), distribution_(std::move(distribution)) {
  if (!distribution_) throw ValueError(label() + ": distribution is null");
  const std::size_t batch_rank = distribution_->batch_shape().size();
  ndims_ = reinterpreted_batch_ndims.value_or(batch_rank);
  if (ndims_ > batch_rank)
    throw ValueError(label() + ": reinterpreted_batch_ndims = " + std::to_string(ndims_) +
                     " exceeds the batch rank of " + to_string(*distribution_));
}

Shape Independent::batch_shape() const {
  const Shape b = distribution_->batch_shape();
  return Shape(b.begin(), b.end() - static_cast<std::ptrdiff_t>(ndims_));
}

Shape Independent::event_shape() const {
  const Shape b = distribution_->batch_shape();
  return concat_shapes(Shape(b.end() - static_cast<std::ptrdiff_t>(ndims_), b.end()),
                       distribution_->event_shape());
}

Var Independent::sample(const Shape& sample_shape, const RandomStream& stream) const {
  return distribution_->sample(sample_shape, stream);
}

namespace {
// Sums the rightmost n dims (n = 0: unchanged; an empty axis list would mean "all").
Var sum_rightmost(const Var& x, std::size_t n) { return n == 0 ? x : sum(x, internal::rightmost_axes(n)); }
}  // namespace

Var Independent::log_prob(const Var& value) const {
  check_value(value, "log_prob");
  return sum_rightmost(distribution_->log_prob(value), ndims_);
}

Var Independent::mean() const { return distribution_->mean(); }
Var Independent::variance() const { return distribution_->variance(); }
Var Independent::stddev() const { return distribution_->stddev(); }
Var Independent::entropy() const { return sum_rightmost(distribution_->entropy(), ndims_); }

DistributionPtr peel_independent(const DistributionPtr& d) {
  DistributionPtr current = d;
  while (auto independent = std::dynamic_pointer_cast<Independent>(current)) current = independent->distribution();
  return current;
}

}  // namespace tapir::distributions
