#include "../testing.hpp"

#include <algorithm>
#include <numeric>
#include <set>

using tapir::data::DataLoaderOptions;
using namespace tapir;
using data::Batch;
using data::DataLoader;
using data::Dataset;
using data::Sampler;

namespace {
// N examples of shape [2, 2, 1]; every pixel of example i holds i, its label is i % 10.
Dataset toy(std::size_t n) {
  std::vector<float> px(n * 4);
  std::vector<int> labels(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::fill(px.begin() + i * 4, px.begin() + i * 4 + 4, float(i));
    labels[i] = int(i % 10);
  }
  return Dataset(Tensor::from_vector<float>({n, 2, 2, 1}, px), labels);
}

std::vector<std::size_t> visit_order(const DataLoader& loader, std::uint64_t epoch) {
  std::vector<std::size_t> out;
  for (const Batch& b : loader.epoch(epoch)) out.insert(out.end(), b.indices.begin(), b.indices.end());
  return out;
}
}  // namespace

TEST_SUITE("data/loader") {

TEST_CASE("splitmix64 matches the reference sequence") {
  // First outputs of splitmix64 seeded with 0 (Vigna's reference C code).
  data::SplitMix64 r(0);
  CHECK(r.next() == 0xE220A8397B1DCDAFull);
  CHECK(r.next() == 0x6E789E6AA1B965F4ull);
  CHECK(r.next() == 0x06C45D188009454Full);
  data::SplitMix64 u(7);
  for (int i = 0; i < 1000; ++i) CHECK(u.uniform(3) < 3);
  CHECK_THROWS_AS(u.uniform(0), ValueError);
}

TEST_CASE("dataset: validation, subset, slice, gather, shuffled") {
  const Dataset ds = toy(10);
  CHECK(ds.size() == 10);
  CHECK(ds.example_shape() == Shape{2, 2, 1});
  CHECK(ds.num_classes() == 10);
  const Dataset s = ds.subset(3);
  CHECK(s.size() == 3);
  CHECK(s.images().shape() == Shape{3, 2, 2, 1});
  CHECK(s.images().at(3 * 4 - 1) == 2.0);
  CHECK(!s.images().shares_storage(ds.images()));
  CHECK_THROWS_WITH_AS(ds.subset(11), doctest::Contains("n=11 exceeds the data set's 10"), ValueError);
  const Dataset sl = ds.slice(8, 10);
  CHECK(sl.labels() == std::vector<int>{8, 9});
  CHECK(sl.images().at(0) == 8.0);
  CHECK_THROWS_AS(ds.slice(5, 11), ValueError);
  const Dataset g = ds.gather({4, 1, 4});
  CHECK(g.labels() == std::vector<int>{4, 1, 4});
  CHECK(g.images().at(4) == 1.0);
  CHECK_THROWS_WITH_AS(ds.gather({10}), doctest::Contains("index 10"), ValueError);
  const Dataset sh = ds.shuffled(3);
  std::vector<int> sorted = sh.labels();
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == ds.labels());
  CHECK(sh.labels() != ds.labels());
  for (std::size_t i = 0; i < sh.size(); ++i) CHECK(sh.images().at(i * 4) == double(sh.labels()[i]));

  CHECK_THROWS_WITH_AS(Dataset(Tensor::zeros({3, 2}, DType::float32), {1, 2}),
                       doctest::Contains("images [3,2] hold 3 examples but there are 2 labels"), ShapeError);
  CHECK_THROWS_AS(Dataset(Tensor::zeros({2, 2}, DType::float32), {1, -1}), ValueError);
}

TEST_CASE("one_hot") {
  const Tensor t = data::one_hot({2, 0}, 3);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.to_vector<float>() == std::vector<float>{0, 0, 1, 1, 0, 0});
  CHECK(data::one_hot({1}, 2, DType::float64).dtype() == DType::float64);
  CHECK_THROWS_WITH_AS(data::one_hot({3}, 3), doctest::Contains("label 0 is 3"), ValueError);
}

TEST_CASE("batches cover every example once per epoch; the last one is short") {
  const DataLoader loader(toy(10), 4, DataLoaderOptions().seed(42));
  CHECK(loader.num_batches() == 3);
  std::vector<std::size_t> sizes;
  std::vector<std::size_t> seen;
  for (const Batch& b : loader.epoch(0)) {
    sizes.push_back(b.size());
    CHECK(b.images.shape() == Shape{b.size(), 2, 2, 1});
    for (std::size_t i = 0; i < b.size(); ++i) {
      CHECK(b.images.at(i * 4) == double(b.indices[i]));  // rows travel with their indices
      CHECK(b.labels[i] == int(b.indices[i] % 10));
    }
    seen.insert(seen.end(), b.indices.begin(), b.indices.end());
  }
  CHECK(sizes == std::vector<std::size_t>{4, 4, 2});
  std::sort(seen.begin(), seen.end());
  std::vector<std::size_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  CHECK(seen == all);
}

TEST_CASE("drop_remainder keeps only full batches") {
  const DataLoader loader(toy(10), 4, DataLoaderOptions().seed(1).drop_remainder(true));
  CHECK(loader.num_batches() == 2);
  std::size_t n = 0;
  for (const Batch& b : loader.epoch(5)) { CHECK(b.size() == 4); ++n; }
  CHECK(n == 2);
  CHECK(DataLoader(toy(3), 4, DataLoaderOptions().seed(1).drop_remainder(true)).num_batches() == 0);
  CHECK(DataLoader(toy(0), 4).num_batches() == 0);
}

TEST_CASE("shuffling is reproducible from (seed, epoch) and differs across epochs and seeds") {
  const DataLoader a(toy(100), 16, DataLoaderOptions().seed(7)), b(toy(100), 16, DataLoaderOptions().seed(7)),
      c(toy(100), 16, DataLoaderOptions().seed(8));
  CHECK(visit_order(a, 3) == visit_order(b, 3));
  CHECK(visit_order(a, 3) == a.epoch(3).order());
  CHECK(visit_order(a, 0) != visit_order(a, 1));
  CHECK(visit_order(a, 0) != visit_order(c, 0));
  // an epoch does not depend on which epochs were drawn before it
  const auto e5 = visit_order(b, 5);
  for (std::uint64_t e = 0; e < 5; ++e) visit_order(a, e);
  CHECK(visit_order(a, 5) == e5);
  // Dataset::shuffled(seed) is the loader's epoch 0
  std::vector<int> labels;
  for (std::size_t i : a.epoch(0).order()) labels.push_back(int(i % 10));
  CHECK(toy(100).shuffled(7).labels() == labels);
}

TEST_CASE("without shuffle every epoch is in data-set order; random access matches iteration") {
  const DataLoader loader(toy(7), 3, DataLoaderOptions().shuffle(false));
  std::vector<std::size_t> expect(7);
  std::iota(expect.begin(), expect.end(), 0);
  CHECK(visit_order(loader, 0) == expect);
  CHECK(visit_order(loader, 9) == expect);
  const data::Epoch e = loader.epoch(2);
  CHECK(e.size() == 3);
  CHECK(e[2].indices == std::vector<std::size_t>{6});
  CHECK_THROWS_WITH_AS(e[3], doctest::Contains("batch 3 requested, the epoch has 3"), ValueError);
}

TEST_CASE("the shuffle is roughly uniform: each position sees each example about equally") {
  const std::size_t n = 5, epochs = 5000;
  std::vector<std::vector<int>> count(n, std::vector<int>(n, 0));
  for (std::uint64_t e = 0; e < epochs; ++e) {
    const auto order = data::shuffled_indices(n, 123, e);
    for (std::size_t pos = 0; pos < n; ++pos) ++count[pos][order[pos]];
  }
  for (std::size_t pos = 0; pos < n; ++pos)
    for (std::size_t i = 0; i < n; ++i) CHECK(std::abs(count[pos][i] - 1000) < 150);  // ~5 sigma
}

TEST_CASE("batch_size 0 is refused") {
  CHECK_THROWS_WITH_AS(DataLoader(toy(4), 0), doctest::Contains("batch_size must be > 0"), ValueError);
}

TEST_CASE("a Sampler decides the examples of each epoch; the old constructor is unchanged") {
  Sampler evens{3, [](std::uint64_t epoch) { return std::vector<std::size_t>{0, 2, epoch % 2 ? 6u : 4u}; }};
  DataLoader loader(toy(8), 2, evens);
  CHECK(loader.num_batches() == 2);
  CHECK(loader.epoch(0).order() == std::vector<std::size_t>{0, 2, 4});
  CHECK(loader.epoch(1)[1].indices == std::vector<std::size_t>{6});
  CHECK(DataLoader(toy(8), 2, evens, DataLoaderOptions().drop_remainder(true)).num_batches() == 1);
  Sampler too_far{1, [](std::uint64_t) { return std::vector<std::size_t>{8}; }};
  CHECK_THROWS_WITH_AS(DataLoader(toy(8), 2, too_far).epoch(0), doctest::Contains("index 8"), ValueError);
  Sampler wrong_size{2, [](std::uint64_t) { return std::vector<std::size_t>{1}; }};
  CHECK_THROWS_AS(DataLoader(toy(8), 2, wrong_size).epoch(0), ValueError);
  CHECK_THROWS_AS(DataLoader(toy(8), 2, Sampler{}), ValueError);
  CHECK_THROWS_WITH_AS(DataLoader(toy(8), 2, evens, DataLoaderOptions().seed(3)), doctest::Contains("sampler"), ValueError);
  CHECK(DataLoader(toy(8), 3, DataLoaderOptions().seed(5)).epoch(2).order() == data::shuffled_indices(8, 5, 2));
}

}
