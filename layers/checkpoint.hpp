// tfn::Checkpoint: a training run's whole state saved as ONE unit, so that a run killed at any
// moment (SIGKILL, power loss) resumes from the last complete checkpoint and then continues
// bit-identically to the uninterrupted run.
//
//   tfn::Checkpoint ckpt("out/checkpoint", tfn::CheckpointOptions().keep_last(3));
//   ckpt.track(model).track(adam).track("likelihood_rho", rho);   // references, not copies
//   if (ckpt.exists()) { auto r = ckpt.restore(); step = r.step; losses = r.vector("loss"); }
//   ... each step: ckpt.save(step, {{"loss", tfn::Checkpoint::history(losses)}});
//
// One checkpoint is one .npz ("ckpt-<step>.npz", readable with np.load) holding
//   checkpoint/format, checkpoint/step                 float64 scalars
//   model/<variable name>                              every variable of each tracked layer
//   draws/<layer name>                                 the draw counter of every layer that draws
//                                                      random numbers (variational layers, Dropout;
//                                                      Layer::random_stream), [hi, lo] 32-bit halves
//   optimizer/<key>                                    optim::state_dict of each tracked optimizer
//   var/<key>                                          extra tracked Vars (a likelihood scale, ...)
//   user/<key>                                         the caller's entries (step, histories, ...)
// It is written to a temporary file, fsync'd, renamed into place and the folder fsync'd, so the
// folder holds only complete checkpoints; the newest `keep_last` are kept, older ones removed
// (and temporaries left by a writer killed mid-save). One writing process per folder.
//
// restore() reads the newest checkpoint and validates all of it — format, every model variable
// (name, shape, dtype), every draw counter's layer, the optimizer's kind/groups/parameters, the
// extra Vars — before changing anything. A checkpoint of another model or optimizer is an error
// naming what differs: IOError for missing/extra names or an unreadable file, ShapeError and
// TypeError for shapes and dtypes, ValueError from the optimizer state (optim/state.hpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tapir/core/npz.hpp>
#include <tapir/core/options.hpp>
#include <tapir/optim/optimizer.hpp>

#include <tapir/layers/layer.hpp>
#include <tapir/layers/variational_layer.hpp>

namespace tapir::nn {

struct CheckpointOptions {
  TAPIR_ARG(std::size_t, keep_last) = 3;  ///< checkpoints kept in the folder (>= 1)

 public:
};

/// What restore() found beside the tracked objects (which it has already updated).
struct RestoredCheckpoint {
  std::uint64_t step = 0;
  std::string path;
  io::NamedTensors user;  ///< the caller's entries, keys without "user/"
  /// The user entry `key`; IOError naming the file if it is missing.
  const Tensor& get(const std::string& key) const;
  /// A user entry as doubles (e.g. a metric history saved with Checkpoint::history).
  std::vector<double> vector(const std::string& key) const;
};

class Checkpoint {
 public:
  explicit Checkpoint(std::string dir, const CheckpointOptions& options = {});

  /// Saves this layer's variables and the draw counters of it and its VariationalLayer
  /// submodules. The layer must outlive the Checkpoint.
  Checkpoint& track(Layer& model);
  /// Saves this optimizer's state (one optimizer per checkpoint).
  Checkpoint& track(optim::Optimizer& optimizer);
  /// Saves an extra leaf Var under `key` (shape and dtype are checked on restore).
  Checkpoint& track(const std::string& key, Var variable);

  /// Commits one checkpoint for `step` with the caller's `user` entries; returns its path.
  std::string save(std::uint64_t step, const io::NamedTensors& user = {}) const;
  /// True if the folder holds at least one checkpoint.
  bool exists() const { return !list().empty(); }
  /// Restores the newest checkpoint into everything tracked (see the header comment); IOError
  /// naming the folder if there is none.
  RestoredCheckpoint restore() const;
  /// Restores one given checkpoint file.
  RestoredCheckpoint restore_file(const std::string& path) const;
  /// Checkpoint files in the folder, oldest first.
  std::vector<std::string> list() const;
  const std::string& dir() const { return dir_; }

  /// A metric history as a float64 vector entry.
  static Tensor history(const std::vector<double>& values);
  /// `model` and every submodule that draws random numbers, in submodule order.
  /// The model and its submodules that draw random numbers (Layer::random_stream()).
  static std::vector<Layer*> drawing_layers(Layer& model);

 private:
  std::string dir_;
  CheckpointOptions options_;
  std::vector<Layer*> models_;
  optim::Optimizer* optimizer_ = nullptr;
  std::vector<std::pair<std::string, Var>> vars_;
};

}  // namespace tapir::nn
