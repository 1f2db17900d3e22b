// distributed::DistributedSampler — each rank's share of an epoch for data::DataLoader.
//
//   tapir::data::DataLoader loader(train, per_rank_batch, DistributedSampler(train.size(), seed));
//
// Every rank computes the same seeded permutation of the epoch (data::shuffled_indices(n, seed,
// epoch), DataLoader's own), cuts it to the largest multiple of the world size K (the dropped
// remainder changes with the epoch), and rank r takes positions r, r + K, r + 2K, ...: the
// ranks' shares are disjoint, cover the kept examples once, and have the same size, so every
// rank runs the same number of steps (a rank with one batch more would wait forever in its
// extra allreduce). With a per-rank batch B, batch j of the K ranks together holds exactly
// positions [jKB, (j+1)KB) of the permutation: the examples of batch j of one process with
// batch KB.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include <tapir/data/loader.hpp>

namespace tapir::distributed {

class DistributedSampler {
 public:
  /// The share of `rank` among `world_size` ranks. ValueError unless rank < world_size and the
  /// data set has at least world_size examples.
  DistributedSampler(std::size_t dataset_size, std::size_t rank, std::size_t world_size, std::uint64_t seed = 0,
                     bool shuffle = true);
  /// The share of this process (rank and size of the current Context; 0 of 1 without one).
  explicit DistributedSampler(std::size_t dataset_size, std::uint64_t seed = 0, bool shuffle = true);

  /// Examples per rank and epoch: floor(dataset_size / world_size).
  std::size_t size() const { return dataset_size_ / world_size_; }
  std::size_t rank() const { return rank_; }
  std::size_t world_size() const { return world_size_; }
  /// This rank's indices for `epoch`, in visiting order.
  std::vector<std::size_t> operator()(std::uint64_t epoch) const;
  /// As a DataLoader sampler.
  operator data::Sampler() const;

 private:
  std::size_t dataset_size_, rank_, world_size_;
  std::uint64_t seed_;
  bool shuffle_;
};

}  // namespace tapir::distributed
