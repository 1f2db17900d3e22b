// 2 ranks (mpirun -np 2): broadcast, allreduce_mean (values and bitwise identity across ranks),
// the bucketed reducer (same result as one reduction, overlap, missing gradients, layouts that
// disagree), the sampler's coverage, per-rank streams and the state checksums.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include <tapir/tapir.hpp>
#include <tapir/distributed/distributed.hpp>

#include "helpers.hpp"

namespace dist = tapir::distributed;
using tapir::Tensor;
using tapir::Var;

namespace {
// Deterministic per-rank values: every rank can recompute every other rank's.
std::vector<double> rank_values(int rank, std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::sin(0.37 * static_cast<double>(i) + 1.3 * rank) / 3.0;
  return v;
}
Var param_of(const std::vector<double>& v, const char* name) {
  return tapir::parameter(Tensor::from_vector<double>({v.size()}, v), name);
}
}  // namespace

TEST_CASE("world of two ranks, one machine") {
  REQUIRE(dist::world_size() == 2);
  CHECK(mpi_test::ctx().local_size() == 2);
  CHECK(mpi_test::ctx().local_rank() == dist::rank());
  CHECK(dist::is_root() == (dist::rank() == 0));
}

TEST_CASE("broadcast copies the root's values into every rank's variables") {
  for (int root : {0, 1}) {
    Var a = param_of(rank_values(dist::rank(), 7), "a");
    Var b = tapir::parameter(Tensor::full({2, 3}, tapir::DType::float32, 10.0 + dist::rank()), "b");
    dist::broadcast({a, b}, root);
    CHECK(a.value().to_vector<double>() == rank_values(root, 7));
    CHECK(b.value().at(5) == doctest::Approx(10.0 + root));
  }
  Var c = param_of({1, 2}, "c");
  CHECK_THROWS_AS(dist::broadcast({c}, 2), tapir::ValueError);
}

TEST_CASE("allreduce_mean: the mean over ranks, the same bits on every rank") {
  const std::size_t n = 1000;
  Var p = param_of(rank_values(dist::rank(), n), "p");
  p.mutable_grad() = Tensor::from_vector<double>({n}, rank_values(dist::rank(), n));
  Var q = tapir::parameter(Tensor::zeros({3}, tapir::DType::float32), "q");
  if (dist::rank() == 1) q.mutable_grad() = Tensor::full({3}, tapir::DType::float32, 4.0);  // none on rank 0
  dist::allreduce_mean({p, q});
  const std::vector<double> g = p.grad().to_vector<double>(), r0 = rank_values(0, n), r1 = rank_values(1, n);
  for (std::size_t i = 0; i < n; ++i) REQUIRE(g[i] == doctest::Approx((r0[i] + r1[i]) / 2).epsilon(1e-15));
  CHECK(mpi_test::bitwise_same_on_all_ranks(p.grad().raw_data(), p.grad().nbytes()));
  REQUIRE(q.grad().defined());
  CHECK(q.grad().at(2) == doctest::Approx(2.0));
  CHECK(dist::allreduce_sum({1.0, static_cast<double>(dist::rank())}) == std::vector<double>{2.0, 1.0});
}

namespace {
// y = sum(tanh(x W1) W2) + b with the parameters registered w1, w2, b.
struct Tiny {
  Var w1, w2, b;
  std::vector<Var> params() const { return {w1, w2, b}; }
  Var loss(const Var& x, bool use_b) const {
    Var y = tapir::sum(tapir::matmul(tapir::tanh(tapir::matmul(x, w1)), w2));
    return use_b ? y + tapir::sum(b) : y;
  }
};
Tiny tiny() {
  auto vals = [](std::size_t n, double s) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::cos(s * static_cast<double>(i + 1));
    return v;
  };
  return {tapir::parameter(Tensor::from_vector<double>({5, 40}, vals(200, 0.1)), "w1"),
          tapir::parameter(Tensor::from_vector<double>({40, 3}, vals(120, 0.2)), "w2"),
          tapir::parameter(Tensor::from_vector<double>({3}, vals(3, 0.3)), "b")};
}
Var rank_input() {
  return tapir::constant(Tensor::from_vector<double>({4, 5}, rank_values(dist::rank(), 20)));
}
}  // namespace

TEST_CASE("GradientReducer: buckets in reverse registration order, overlapped, equal to one allreduce") {
  Tiny m = tiny(), ref = tiny();
  // 1 KiB buckets: b (24 B) and w2 (960 B) share one, w1 (1600 B) gets its own.
  dist::GradientReducer reducer(m.params(), dist::ReducerOptions().bucket_bytes(1024));
  const auto layout = reducer.bucket_layout();
  REQUIRE(layout.size() == 2);
  CHECK(layout[0] == std::vector<std::size_t>{2, 1});
  CHECK(layout[1] == std::vector<std::size_t>{0});
  for (int step = 0; step < 3; ++step) {
    tapir::zero_grad(m.params());
    tapir::zero_grad(ref.params());
    tapir::backward(m.loss(rank_input(), true));
    reducer.finish();
    CHECK(reducer.buckets_started_early() == 2);  // both started inside backward
    tapir::backward(ref.loss(rank_input(), true));
    dist::allreduce_mean(ref.params());
    for (std::size_t i = 0; i < 3; ++i) {
      const Tensor& a = m.params()[i].grad();
      const Tensor& b = ref.params()[i].grad();
      CHECK(std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0);
      CHECK(mpi_test::bitwise_same_on_all_ranks(a.raw_data(), a.nbytes()));
    }
  }
}

TEST_CASE("GradientReducer: a parameter without gradient on one rank contributes zeros, no hang") {
  Tiny m = tiny();
  dist::GradientReducer reducer(m.params(), dist::ReducerOptions().bucket_bytes(1024));
  tapir::zero_grad(m.params());
  const bool use_b = dist::rank() == 0;  // rank 1's loss does not reach b
  tapir::backward(m.loss(rank_input(), use_b));
  reducer.finish();
  REQUIRE(m.b.grad().defined());
  CHECK(m.b.grad().to_vector<double>() == std::vector<double>{0.5, 0.5, 0.5});  // (1 + 0) / 2
  // Rank 1 could not start the bucket holding b inside backward; rank 0 could.
  CHECK(reducer.buckets_started_early() == (use_b ? 2u : 0u));
}

TEST_CASE("GradientReducer: parameter lists that differ between ranks are an error on every rank") {
  Var p = tapir::parameter(Tensor::zeros({dist::rank() == 0 ? 3u : 4u}, tapir::DType::float64), "p");
  CHECK_THROWS_AS(dist::GradientReducer({p}), dist::DistributedError);
  CHECK_THROWS_AS(dist::GradientReducer({}, dist::ReducerOptions().bucket_bytes(0)), tapir::ValueError);
  CHECK_THROWS_AS(dist::GradientReducer({p, p}), tapir::ValueError);
}

TEST_CASE("DistributedSampler: the ranks' shares cover every kept example once per epoch") {
  const std::size_t n = 103;  // odd: one example per epoch is dropped
  for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
    dist::DistributedSampler sampler(n, /*seed=*/5);
    CHECK(sampler.size() == 51);
    const auto shares = mpi_test::allgather(sampler(epoch));
    std::set<std::size_t> all;
    for (const auto& s : shares) all.insert(s.begin(), s.end());
    CHECK(all.size() == 102);
    CHECK(*all.rbegin() < n);
    // Rank r holds positions r, r + 2, ... of the epoch's permutation (DataLoader's).
    const auto perm = tapir::data::shuffled_indices(n, 5, epoch);
    for (std::size_t k = 0; k < 51; ++k) REQUIRE(shares[1][k] == perm[2 * k + 1]);
  }
  tapir::data::Dataset data(Tensor::zeros({n, 2}, tapir::DType::float32), std::vector<int>(n, 0));
  tapir::data::DataLoader loader(data, 10, dist::DistributedSampler(n, 5), tapir::data::DataLoaderOptions().drop_remainder(true));
  const auto steps = mpi_test::allgather(std::vector<std::size_t>{loader.num_batches()});
  CHECK(steps[0] == steps[1]);
  CHECK(loader.num_batches() == 5);
  CHECK_THROWS_AS(dist::DistributedSampler(1, 5), tapir::ValueError);
}

TEST_CASE("fold_layer_streams: the same initial weights, different noise on every rank") {
  namespace tfn = tapir::nn;
  auto make = [] {
    return std::make_shared<tfn::AffineVariationalFlipout>(6, 4, tfn::AffineOptions().seed(3).name("fl").dtype(tapir::DType::float64));
  };
  auto layer = make(), plain = make();
  CHECK(dist::fold_layer_streams(*layer) == (dist::rank() == 0 ? 0u : 1u));
  dist::check_identical(layer->variables(), "initial weights");  // throws if they differ
  const Var x = tapir::constant(Tensor::full({2, 6}, tapir::DType::float64, 0.5));
  const std::vector<double> y = (*layer)(x).value().to_vector<double>();
  const auto ys = mpi_test::allgather(y);
  CHECK(ys[0] != ys[1]);
  if (dist::rank() == 0) CHECK(y == (*plain)(x).value().to_vector<double>());  // rank 0 = one process
}

TEST_CASE("check_identical / check_optimizer_state detect replicas that drifted apart") {
  Tiny m = tiny();
  tapir::optim::Adam adam(m.params(), tapir::optim::AdamOptions().learning_rate(0.01));
  dist::GradientReducer reducer(m.params());
  for (int step = 0; step < 2; ++step) {
    adam.zero_grad();
    tapir::backward(m.loss(rank_input(), true));
    reducer.finish();
    adam.step();
  }
  CHECK_NOTHROW(dist::check_optimizer_state(adam));
  CHECK_NOTHROW(dist::check_identical(m.params(), "parameters"));
  if (dist::rank() == 1) m.b.mutable_value().add_(Tensor::full({3}, tapir::DType::float64, 1e-12));
  CHECK_THROWS_AS(dist::check_identical(m.params(), "parameters"), dist::DistributedError);
  adam.zero_grad();
  tapir::backward(m.loss(rank_input(), true));  // no reducer.finish(): ranks step on their own gradient
  tapir::zero_grad(m.params());
  reducer.finish();  // (leaves this step's reduction complete so the reducer is reusable)
  if (dist::rank() == 1) m.b.mutable_grad().add_(Tensor::full({3}, tapir::DType::float64, 1.0));
  adam.step();
  CHECK_THROWS_AS(dist::check_optimizer_state(adam), dist::DistributedError);
}
