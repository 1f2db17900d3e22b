#include <tapir/distributed/sampler.hpp>

#include <numeric>
#include <string>

#include <tapir/core/error.hpp>
#include <tapir/distributed/context.hpp>

namespace tapir::distributed {

DistributedSampler::DistributedSampler(std::size_t dataset_size, std::size_t rank, std::size_t world_size,
                                       std::uint64_t seed, bool shuffle)
    : dataset_size_(dataset_size), rank_(rank), world_size_(world_size), seed_(seed), shuffle_(shuffle) {
  if (world_size == 0 || rank >= world_size)
    throw ValueError("distributed::DistributedSampler: rank " + std::to_string(rank) + " is not below world_size " +
                     std::to_string(world_size));
  if (dataset_size < world_size)
    throw ValueError("distributed::DistributedSampler: " + std::to_string(dataset_size) + " examples for " +
                     std::to_string(world_size) + " ranks; every rank needs at least one");
}

DistributedSampler::DistributedSampler(std::size_t dataset_size, std::uint64_t seed, bool shuffle)
    : DistributedSampler(dataset_size, static_cast<std::size_t>(distributed::rank()),
                         static_cast<std::size_t>(distributed::world_size()), seed, shuffle) {}

std::vector<std::size_t> DistributedSampler::operator()(std::uint64_t epoch) const {
  std::vector<std::size_t> order;
  if (shuffle_) {
    order = data::shuffled_indices(dataset_size_, seed_, epoch);
  } else {
    order.resize(dataset_size_);
    std::iota(order.begin(), order.end(), std::size_t(0));
  }
  std::vector<std::size_t> share(size());
  for (std::size_t k = 0; k < share.size(); ++k) share[k] = order[rank_ + k * world_size_];
  return share;
}

DistributedSampler::operator data::Sampler() const {
  const DistributedSampler self = *this;
  return data::Sampler{size(), [self](std::uint64_t epoch) { return self(epoch); }};
}

}  // namespace tapir::distributed
