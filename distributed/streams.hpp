// Randomness across ranks: every rank must draw *different* Flipout signs and weight noise
// (one seed on every rank would make K replicas of one perturbation, and the averaged gradient
// would have the variance of a single rank's), while the whole run stays a pure function of
// (seed, world size).
//
//   auto model = build_model(seed);                 // same seed, same initial weights everywhere
//   distributed::broadcast(model->variables());     // (and so they stay equal after a resume)
//   distributed::fold_layer_streams(*model);        // rank r > 0: streams forked with "rank<r>"
//
// Rank 0 keeps the single process's streams, rank r > 0 replaces each variational layer's
// SeedStream by its fork salted "rank<r>" (same draw counter), so `mpirun -np 1` reproduces a
// plain run. Only the draws of the forward passes change; initial values come from the layers'
// "init" fork and are the same on every rank.
//
// SingleProcessNoise is the test-only switch the other way round: the ranks keep the single
// process's streams (do not fold) and each rank's per-example draws are its rows of the global
// batch's draw, so K ranks with batch B see exactly the noise of one process with batch KB whose
// batch is the ranks' batches one after the other (tests/distributed/test_equivalence.cpp).
#pragma once
#include <cstddef>

#include <tapir/layers/layer.hpp>
#include <tapir/layers/variational_layer.hpp>

namespace tapir::distributed {

/// Folds the streams of `model` and every variational submodule with `rank` (no-op for 0).
/// Call it once, on the freshly built (or loaded) model. Returns the number of layers folded.
std::size_t fold_layer_streams(nn::Layer& model, std::size_t rank);
/// The same with the rank of the current Context.
std::size_t fold_layer_streams(nn::Layer& model);

/// Test-only: inside its scope this rank's per-example draws are rows
/// [rank * per_rank_batch, (rank + 1) * per_rank_batch) of the global batch's draw.
class SingleProcessNoise {
 public:
  explicit SingleProcessNoise(std::size_t per_rank_batch);

 private:
  nn::ExampleOffsetGuard guard_;
};

}  // namespace tapir::distributed
