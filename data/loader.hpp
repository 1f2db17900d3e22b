// Seeded, epoch-based batching for training loops:
//
//   tapir::data::DataLoader loader(train, /*batch_size=*/128, /*shuffle=*/true, /*seed=*/42);
//   for (std::uint64_t epoch = 0; epoch < 10; ++epoch)
//     for (const tapir::data::Batch& b : loader.epoch(epoch)) { /* b.images, b.labels */ }
//
// The order of an epoch is a pure function of (seed, epoch): rerunning epoch 7 alone gives the
// same batches as reaching it after epochs 0..6, so a resumed run sees the data it would have.
// The generator is a self-contained splitmix64, independent of tapir's tensor RNG.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include <tapir/core/options.hpp>
#include <tapir/data/dataset.hpp>

namespace tapir::data {

/// Steele, Lea & Flood's splitmix64: tiny, fast, statistically sound for shuffling.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  /// Uniform in [0, n) without modulo bias (n > 0).
  std::uint64_t uniform(std::uint64_t n);

 private:
  std::uint64_t state_;
};

/// A Fisher-Yates permutation of 0..n-1 determined by (seed, epoch).
std::vector<std::size_t> shuffled_indices(std::size_t n, std::uint64_t seed, std::uint64_t epoch);

/// One mini-batch: images [B, ...example_shape] (the data set's dtype), their labels and the
/// positions of the examples in the data set.
struct Batch {
  Tensor images;
  std::vector<int> labels;
  std::vector<std::size_t> indices;
  std::size_t size() const { return labels.size(); }
};

/// Which examples an epoch visits, in order, as a pure function of the epoch; every epoch
/// visits `size` examples. DataLoader's own shuffling is one sampler; a data-parallel run gives
/// each rank its share (distributed::DistributedSampler).
struct Sampler {
  std::size_t size = 0;
  std::function<std::vector<std::size_t>(std::uint64_t epoch)> order;
};

class Epoch;

/// Input iterator over the batches of one epoch; dereferencing assembles the batch (a copy of
/// its rows), so read each batch once.
class BatchIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Batch;
  using difference_type = std::ptrdiff_t;
  using pointer = void;
  using reference = Batch;

  BatchIterator(const Epoch* epoch, std::size_t index) : epoch_(epoch), index_(index) {}
  Batch operator*() const;
  BatchIterator& operator++() { ++index_; return *this; }
  bool operator==(const BatchIterator& o) const { return epoch_ == o.epoch_ && index_ == o.index_; }
  bool operator!=(const BatchIterator& o) const { return !(*this == o); }
  std::size_t index() const { return index_; }

 private:
  const Epoch* epoch_;
  std::size_t index_;
};

/// The batches of one epoch in a fixed order; random access with operator[].
class Epoch {
 public:
  Epoch(Dataset dataset, std::vector<std::size_t> order, std::size_t batch_size,
        std::size_t num_batches);
  std::size_t size() const { return num_batches_; }  ///< number of batches
  Batch operator[](std::size_t i) const;
  BatchIterator begin() const { return BatchIterator(this, 0); }
  BatchIterator end() const { return BatchIterator(this, num_batches_); }
  /// Example indices in visiting order (all of them, including a dropped remainder). A
  /// temporary Epoch hands its vector over, so `for (i : loader.epoch(e).order())` is safe.
  const std::vector<std::size_t>& order() const& { return order_; }
  std::vector<std::size_t> order() && { return std::move(order_); }

 private:
  Dataset dataset_;
  std::vector<std::size_t> order_;
  std::size_t batch_size_;
  std::size_t num_batches_;
};

/// shuffle (default true): a seeded permutation per epoch, else data-set order; seed (default 0);
/// drop_remainder (default false): skip a last batch smaller than batch_size (so every batch has
/// the same shape), else yield it short. With a Sampler, the order is the sampler's: setting
/// shuffle or seed then is a ValueError.
struct DataLoaderOptions {
  TAPIR_OPTIONAL_ARG(bool, shuffle);
  TAPIR_OPTIONAL_ARG(std::uint64_t, seed);
  TAPIR_ARG(bool, drop_remainder) = false;

 public:
};

class DataLoader {
 public:
  /// `batch_size` > 0 (ValueError otherwise).
  DataLoader(Dataset dataset, std::size_t batch_size, const DataLoaderOptions& options = {});
  /// Visits the examples `sampler` picks for each epoch. ValueError for an empty `order`
  /// function, and (at epoch()) when it returns other than `size` indices or one outside the
  /// data set.
  DataLoader(Dataset dataset, std::size_t batch_size, Sampler sampler, const DataLoaderOptions& options = {});

  /// Batches per epoch.
  std::size_t num_batches() const;
  std::size_t batch_size() const { return batch_size_; }
  const Dataset& dataset() const { return dataset_; }
  /// The batches of epoch `epoch` (the same for the same (seed, epoch)).
  Epoch epoch(std::uint64_t epoch) const;

 private:
  Dataset dataset_;
  std::size_t batch_size_;
  bool shuffle_;
  std::uint64_t seed_;
  bool drop_remainder_;
  Sampler sampler_;  // empty order: the loader's own (shuffled or data-set) order
};

}  // namespace tapir::data
