#include <tapir/distributions/sample.hpp>

#include <numeric>

#include <tapir/core/ops.hpp>
#include "internal.hpp"

namespace tapir::distributions {

namespace {
// The permutation that moves the block of `count` axes starting at `from` to start at `to`
// (to < from), keeping everything else in order.
std::vector<std::size_t> move_axes(std::size_t rank, std::size_t from, std::size_t count, std::size_t to) {
  std::vector<std::size_t> perm;
  for (std::size_t i = 0; i < to; ++i) perm.push_back(i);
  for (std::size_t i = from; i < from + count; ++i) perm.push_back(i);
  for (std::size_t i = to; i < rank; ++i)
    if (i < from || i >= from + count) perm.push_back(i);
  return perm;
}
}  // namespace

Sample::Sample(DistributionPtr distribution, Shape sample_shape, bool validate_args, std::string name)
    : Distribution(std::move(name), validate_args),
      distribution_(std::move(distribution)),
      sample_shape_(std::move(sample_shape)) {
  if (!distribution_) throw ValueError(label() + ": distribution is null");
}

Var Sample::sample(const Shape& outer_shape, const RandomStream& stream) const {
  // the distribution draws S + s + B + E; TFP's layout is S + B + s + E
  const Var draws = distribution_->sample(concat_shapes(outer_shape, sample_shape_), stream);
  const std::size_t batch_rank = batch_shape().size();
  if (batch_rank == 0 || sample_shape_.empty()) return draws;
  return permute(draws, move_axes(draws.ndim(), outer_shape.size() + sample_shape_.size(), batch_rank,
                                  outer_shape.size()));
}

Var Sample::log_prob(const Var& value) const {
  check_value(value, "log_prob");
  const Shape batch = batch_shape();
  const Shape full = concat_shapes(batch, event_shape());  // B + s + E
  // every iid copy must be present to be counted: broadcast x to X + B + s + E first
  const Var x = broadcast_to(value, broadcast_shapes(value.shape(), full, "Sample.log_prob"));
  const std::size_t outer_rank = x.ndim() - full.size();
  const std::size_t s_rank = sample_shape_.size();
  // X + B + s + E  ->  X + s + B + E for the distribution, then sum over s
  const Var moved = (batch.empty() || s_rank == 0)
                        ? x
                        : permute(x, move_axes(x.ndim(), outer_rank + batch.size(), s_rank, outer_rank));
  const Var per_copy = distribution_->log_prob(moved);  // X + s + B
  if (s_rank == 0) return per_copy;
  std::vector<int> axes(s_rank);
  std::iota(axes.begin(), axes.end(), static_cast<int>(outer_rank));
  return sum(per_copy, axes);
}

Var Sample::repeat_over_sample_dims(const Var& moment) const {
  const Var expanded = internal::insert_unit_axes(moment, batch_shape().size(), sample_shape_.size());
  return broadcast_to(expanded, concat_shapes(batch_shape(), event_shape()));
}

Var Sample::mean() const { return repeat_over_sample_dims(distribution_->mean()); }
Var Sample::variance() const { return repeat_over_sample_dims(distribution_->variance()); }
Var Sample::stddev() const { return repeat_over_sample_dims(distribution_->stddev()); }
Var Sample::entropy() const {
  return distribution_->entropy() * static_cast<double>(numel(sample_shape_));
}

}  // namespace tapir::distributions
