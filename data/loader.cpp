#include <tapir/data/loader.hpp>

#include <algorithm>
#include <cstring>
#include <numeric>

#include <tapir/core/error.hpp>

namespace tapir::data {

std::uint64_t SplitMix64::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t SplitMix64::uniform(std::uint64_t n) {
  if (n == 0) throw ValueError("SplitMix64::uniform: n must be > 0");
  // Reject the top partial block of 2^64 so every residue is equally likely.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x;
  do x = next(); while (x >= limit);
  return x % n;
}

std::vector<std::size_t> shuffled_indices(std::size_t n, std::uint64_t seed, std::uint64_t epoch) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t(0));
  // Hash (seed, epoch) into one starting state, so neighbouring seeds or epochs do not give
  // overlapping splitmix sequences.
  SplitMix64 mix(seed);
  const std::uint64_t a = mix.next();
  SplitMix64 rng(a ^ SplitMix64(epoch ^ 0x5851F42D4C957F2Dull).next());
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.uniform(i)]);
  return order;
}

Batch BatchIterator::operator*() const { return (*epoch_)[index_]; }

Epoch::Epoch(Dataset dataset, std::vector<std::size_t> order, std::size_t batch_size,
             std::size_t num_batches)
    : dataset_(std::move(dataset)), order_(std::move(order)), batch_size_(batch_size),
      num_batches_(num_batches) {}

Batch Epoch::operator[](std::size_t i) const {
  if (i >= num_batches_)
    throw ValueError("Epoch: batch " + std::to_string(i) + " requested, the epoch has " +
                     std::to_string(num_batches_));
  const std::size_t begin = i * batch_size_;
  const std::size_t end = std::min(begin + batch_size_, order_.size());
  std::vector<std::size_t> idx(order_.begin() + begin, order_.begin() + end);
  Dataset part = dataset_.gather(idx);
  return Batch{part.images(), part.labels(), std::move(idx)};
}

DataLoader::DataLoader(Dataset dataset, std::size_t batch_size, const DataLoaderOptions& options)
    : dataset_(std::move(dataset)), batch_size_(batch_size), shuffle_(options.shuffle().value_or(true)),
      seed_(options.seed().value_or(0)), drop_remainder_(options.drop_remainder()) {
  if (batch_size == 0) throw ValueError("DataLoader: batch_size must be > 0, got 0");
}

DataLoader::DataLoader(Dataset dataset, std::size_t batch_size, Sampler sampler, const DataLoaderOptions& options)
    : DataLoader(std::move(dataset), batch_size,
                 DataLoaderOptions().shuffle(false).drop_remainder(options.drop_remainder())) {
  if (options.shuffle() || options.seed())
    throw ValueError("DataLoader: with a sampler the order is the sampler's; options shuffle/seed must stay unset");
  if (!sampler.order) throw ValueError("DataLoader: the sampler has no order function");
  sampler_ = std::move(sampler);
}

std::size_t DataLoader::num_batches() const {
  const std::size_t n = sampler_.order ? sampler_.size : dataset_.size();
  return drop_remainder_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
}

Epoch DataLoader::epoch(std::uint64_t epoch) const {
  std::vector<std::size_t> order;
  if (sampler_.order) {
    order = sampler_.order(epoch);
    if (order.size() != sampler_.size)
      throw ValueError("DataLoader: the sampler gave " + std::to_string(order.size()) + " indices for epoch " +
                       std::to_string(epoch) + ", it announced " + std::to_string(sampler_.size));
    for (std::size_t i : order)
      if (i >= dataset_.size())
        throw ValueError("DataLoader: the sampler gave index " + std::to_string(i) + " for a data set of " +
                         std::to_string(dataset_.size()) + " examples");
  } else if (shuffle_) {
    order = shuffled_indices(dataset_.size(), seed_, epoch);
  } else {
    order.resize(dataset_.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
  }
  return Epoch(dataset_, std::move(order), batch_size_, num_batches());
}

}  // namespace tapir::data
