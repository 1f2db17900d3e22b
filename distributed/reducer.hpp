// distributed::GradientReducer — averages gradients over the ranks while backward still runs
// (PyTorch DDP's Reducer, Horovod's tensor fusion, with a fixed layout).
//
//   GradientReducer reducer(model.trainable_variables());     // after broadcast(...)
//   for (...) {
//     adam.zero_grad();
//     tapir::backward(loss);        // buckets start their MPI_Iallreduce as they become final
//     reducer.finish();             // waits; grad() now holds the mean over the ranks
//     adam.step();
//   }
//
// Layout: the parameters, in reverse registration order (backward produces the last layers'
// gradients first), are packed into buckets of about `bucket_bytes` (default 25 MiB, DDP's
// default) of one dtype each. The layout depends only on the parameter list, so it is the same
// on every rank; the constructor checks that with a fingerprint allreduce (DistributedError on
// every rank otherwise).
//
// Overlap: each parameter gets a grad-ready hook (Var::add_grad_ready_hook). When backward has
// given a parameter its last contribution the hook copies the gradient into its bucket; a full
// bucket starts MPI_Iallreduce(SUM). Buckets are started strictly in layout order (bucket k
// only after 0..k-1), because MPI requires every rank to issue collectives on a communicator in
// the same order; each hook also calls MPI_Testall so that the started reductions progress
// while backward computes (Open MPI progresses non-blocking collectives only inside MPI calls).
//
// Missing gradients: a parameter that backward did not reach on this rank (no hook call)
// contributes zeros: finish() fills it in, starts the remaining buckets in order and waits, so
// no rank waits for a bucket another rank never starts. After finish() every parameter has a
// defined gradient, the sum over ranks divided by the world size.
//
// While a reducer with overlap exists, every backward that reaches its parameters starts
// reductions: run it on every rank and follow it by finish() (a backward for something else —
// a gradient check, a second loss — belongs before the reducer is made or after it is gone).
//
// Determinism: the buffer layout, the order of the reductions and their sizes are fixed, so for
// a fixed world size Open MPI's allreduce algorithm and its order of additions are fixed too:
// the same inputs give the same bits, and every rank receives the same bits (tested with
// memcmp across ranks). A different world size adds in a different order.
#pragma once
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include <tapir/core/options.hpp>
#include <tapir/core/var.hpp>

namespace tapir::distributed {

/// Defaults: bucket_bytes = 25 MiB; overlap = true (false: everything is reduced in finish(),
/// after backward — the baseline of benchmarks/bench_distributed.cpp).
struct ReducerOptions {
  using Self = ReducerOptions;
  TAPIR_ARG(std::size_t, bucket_bytes) = std::size_t(25) << 20;
  TAPIR_ARG(bool, overlap) = true;
};

class GradientReducer {
 public:
  /// `params`: trainable leaves, each once, the same list on every rank. ValueError otherwise.
  explicit GradientReducer(std::vector<Var> params, ReducerOptions options = {});
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// Completes the reduction of this backward (see the header comment); call it once after
  /// each backward, before the optimizer step.
  void finish();

  std::size_t num_buckets() const { return buckets_.size(); }
  /// Indices into the parameter list, per bucket, in layout order.
  std::vector<std::vector<std::size_t>> bucket_layout() const;
  /// Buckets whose reduction had started before finish() was called in the last step (what
  /// overlap bought: 0 without overlap).
  std::size_t buckets_started_early() const { return started_early_; }

 private:
  struct Slot {
    std::size_t param;   // index into params_
    std::size_t offset;  // element offset in the bucket's buffer
  };
  struct Bucket {
    DType dtype;
    std::size_t elements = 0;
    Tensor buffer;       // 1-D [elements] of dtype, allocated once the layout is known
    std::vector<Slot> slots;
    std::size_t ready = 0;  // slots filled in this step
    MPI_Request request = MPI_REQUEST_NULL;
  };

  void on_ready(std::size_t param);
  void copy_in(std::size_t param);
  void start_ready_buckets();
  void start(Bucket& b);
  void progress();

  std::vector<Var> params_;
  ReducerOptions options_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;  // per parameter
  std::vector<std::size_t> slot_of_;    // per parameter: index in its bucket's slots
  std::vector<bool> copied_;            // per parameter, this step
  std::vector<std::uint64_t> hook_ids_;
  std::size_t next_to_start_ = 0, started_early_ = 0;
};

}  // namespace tapir::distributed
