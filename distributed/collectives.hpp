// Blocking collectives over the current Context, each a non-blocking MPI call waited with the
// Context's watchdog (context.hpp). Every rank must call them in the same order with the same
// variables (same names, shapes, dtypes): they first compare a fingerprint of the list across
// ranks and throw DistributedError on every rank when it differs, instead of exchanging
// mismatched buffers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <tapir/core/npz.hpp>
#include <tapir/core/var.hpp>

namespace tapir::optim { class Optimizer; }

namespace tapir::distributed {

/// Copies the values of `variables` on rank `root` into the same variables on every rank (the
/// start of training: every replica begins from rank 0's initialisation or checkpoint).
void broadcast(const std::vector<Var>& variables, int root = 0);
/// Replaces each variable's gradient by its mean over the ranks (an undefined gradient counts
/// as zeros and is defined afterwards). One reduction after backward, no overlap: the
/// GradientReducer (reducer.hpp) is the overlapped form of the same thing.
void allreduce_mean(const std::vector<Var>& variables);
/// Element-wise sum over the ranks, e.g. of metrics (loss sums, correct counts).
std::vector<double> allreduce_sum(std::vector<double> values);
void barrier();

/// FNV-1a over the names, shapes, dtypes and bytes of `tensors`: equal on two ranks iff (in
/// practice) the tensors are bitwise equal.
std::uint64_t checksum(const io::NamedTensors& tensors);
/// DistributedError on every rank naming `what` unless `fingerprint` is the same on all ranks
/// (one allreduce of two words: min of h and min of ~h).
void check_same_on_all_ranks(std::uint64_t fingerprint, const std::string& what);
/// The values of `variables` are bitwise identical on every rank (checksum allreduce).
void check_identical(const std::vector<Var>& variables, const std::string& what);
/// The optimizer's state (optim::state_dict: steps, buffers, hyper-parameters) is bitwise
/// identical on every rank — what data-parallel training guarantees, and checks in test/debug
/// runs at each checkpoint.
void check_optimizer_state(const optim::Optimizer& optimizer);

}  // namespace tapir::distributed
