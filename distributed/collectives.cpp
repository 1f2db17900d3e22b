#include <tapir/distributed/collectives.hpp>

#include <tapir/distributed/context.hpp>
#include <tapir/distributed/error.hpp>
#include <tapir/distributed/reducer.hpp>
#include <tapir/optim/state.hpp>

#include "mpi_types.hpp"

namespace tapir::distributed {

namespace {
std::uint64_t layout_fingerprint(const std::vector<Var>& variables) {
  detail::Fnv1a f;
  f.word(variables.size());
  for (const Var& v : variables) {
    f.text(v.name());
    f.shape(v.shape(), v.dtype());
  }
  return f.h;
}
}  // namespace

void check_same_on_all_ranks(std::uint64_t fingerprint, const std::string& what) {
  Context& ctx = Context::current("distributed::check_same_on_all_ranks");
  std::uint64_t words[2] = {fingerprint, ~fingerprint};
  MPI_Request request;
  ctx.check(MPI_Iallreduce(MPI_IN_PLACE, words, 2, MPI_UINT64_T, MPI_MIN, ctx.comm(), &request), what);
  ctx.wait(request, what);
  // min(h) == h and min(~h) == ~h, i.e. max(h) == h, on every rank exactly when all h agree.
  const bool same = words[0] == fingerprint && words[1] == ~fingerprint;
  int all_same = same ? 1 : 0;
  ctx.check(MPI_Iallreduce(MPI_IN_PLACE, &all_same, 1, MPI_INT, MPI_MIN, ctx.comm(), &request), what);
  ctx.wait(request, what);
  if (!all_same)
    throw DistributedError(what + " differs between ranks (rank " + std::to_string(ctx.rank()) + " has " +
                           std::to_string(fingerprint) + (same ? ", which matches the minimum" : "") + ")");
}

void broadcast(const std::vector<Var>& variables, int root) {
  Context& ctx = Context::current("distributed::broadcast");
  if (root < 0 || root >= ctx.size())
    throw ValueError("distributed::broadcast: root " + std::to_string(root) + " is not a rank of " +
                     std::to_string(ctx.size()));
  check_same_on_all_ranks(layout_fingerprint(variables), "distributed::broadcast: the variable list");
  for (Var v : variables) {
    Tensor& value = v.mutable_value();
    MPI_Request request;
    const std::string what = "distributed::broadcast of '" + v.name() + "' " + shape_str(value.shape());
    ctx.check(MPI_Ibcast(value.raw_data(), static_cast<int>(value.size()), detail::mpi_type(value.dtype()), root,
                         ctx.comm(), &request), what);
    ctx.wait(request, what);
  }
}

void allreduce_mean(const std::vector<Var>& variables) {
  GradientReducer reducer(variables, ReducerOptions().overlap(false));
  reducer.finish();
}

std::vector<double> allreduce_sum(std::vector<double> values) {
  Context& ctx = Context::current("distributed::allreduce_sum");
  check_same_on_all_ranks(values.size(), "distributed::allreduce_sum: the number of values");
  MPI_Request request;
  ctx.check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                           ctx.comm(), &request), "distributed::allreduce_sum");
  ctx.wait(request, "distributed::allreduce_sum");
  return values;
}

void barrier() {
  Context& ctx = Context::current("distributed::barrier");
  MPI_Request request;
  ctx.check(MPI_Ibarrier(ctx.comm(), &request), "distributed::barrier");
  ctx.wait(request, "distributed::barrier");
}

std::uint64_t checksum(const io::NamedTensors& tensors) {
  detail::Fnv1a f;
  f.word(tensors.size());
  for (const auto& [name, t] : tensors) {
    f.text(name);
    f.shape(t.shape(), t.dtype());
    f.bytes(t.raw_data(), t.nbytes());
  }
  return f.h;
}

void check_identical(const std::vector<Var>& variables, const std::string& what) {
  io::NamedTensors named;
  named.reserve(variables.size());
  for (const Var& v : variables) named.emplace_back(v.name(), v.value());
  check_same_on_all_ranks(checksum(named), "distributed::check_identical: " + what);
}

void check_optimizer_state(const optim::Optimizer& optimizer) {
  check_same_on_all_ranks(checksum(optim::state_dict(optimizer)),
                          std::string("distributed::check_optimizer_state: the ") + optimizer.kind() + " state");
}

}  // namespace tapir::distributed
