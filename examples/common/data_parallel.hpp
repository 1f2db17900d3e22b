// Data-parallel training for the example programs: when the program was started by mpirun
// (and tapir was built with tapir::distributed), K ranks each train on their share of every
// global batch of K x --batch-size examples (docs/distributed.md); otherwise every call is the
// single-process behaviour. Header-only; examples only.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <tapir/tapir.hpp>
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
#include <tapir/distributed/distributed.hpp>
#endif

namespace examples {

class DataParallel {
 public:
  /// Joins the MPI job if mpirun (or another PMI launcher) started this process.
  DataParallel(int* argc, char*** argv) {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    if (std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_SIZE"))
      mpi_.emplace(argc, argv);
#endif
  }
  int rank() const { return tapir_rank(); }
  int world_size() const { return tapir_world_size(); }
  bool is_root() const { return rank() == 0; }

  /// Every rank starts from rank 0's weights and draws its own noise.
  void replicate(tapir::nn::Layer& model) {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    if (!mpi_) return;
    tapir::distributed::broadcast(model.variables());
    tapir::distributed::fold_layer_streams(model);
    reducer_ = std::make_unique<tapir::distributed::GradientReducer>(model.trainable_variables());
#endif
  }
  /// This rank's loader: its share of each epoch (the same steps on every rank).
  tapir::data::DataLoader loader(const tapir::data::Dataset& train, std::size_t batch_size, std::uint64_t seed) const {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    if (mpi_)
      return tapir::data::DataLoader(train, batch_size, tapir::distributed::DistributedSampler(train.size(), seed),
                                     tapir::data::DataLoaderOptions().drop_remainder(true));
#endif
    return tapir::data::DataLoader(train, batch_size, tapir::data::DataLoaderOptions().seed(seed).drop_remainder(true));
  }
  /// After backward: gradients become the mean over the ranks.
  void reduce_gradients() {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    if (reducer_) reducer_->finish();
#endif
  }
  /// At a checkpoint: the replicas' optimizer states must be identical (checksum allreduce).
  void check_in_sync(const tapir::optim::Optimizer& optimizer) const {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    if (mpi_) tapir::distributed::check_optimizer_state(optimizer);
#endif
  }
  /// The mean of a per-rank value over the ranks (e.g. the loss of a step).
  double mean(double value) const {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    if (mpi_) return tapir::distributed::allreduce_sum({value})[0] / world_size();
#endif
    return value;
  }
  void barrier() const {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    if (mpi_) tapir::distributed::barrier();
#endif
  }
  /// A failure on one rank ends every rank (with the message); returns 1 without MPI.
  int fail(const char* program, const std::string& message) const {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    if (mpi_) mpi_->abort(std::string(program) + ": " + message);
#endif
    std::fprintf(stderr, "%s: %s\n", program, message.c_str());
    return 1;
  }

 private:
  static int tapir_rank() {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    return tapir::distributed::rank();
#else
    return 0;
#endif
  }
  static int tapir_world_size() {
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
    return tapir::distributed::world_size();
#else
    return 1;
#endif
  }
#ifdef TAPIR_EXAMPLES_DISTRIBUTED
  std::optional<tapir::distributed::Context> mpi_;
  std::unique_ptr<tapir::distributed::GradientReducer> reducer_;
#endif
};

}  // namespace examples
