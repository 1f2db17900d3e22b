// Checkpoints for the example programs: the model's variables, the optimizer state and the
// training position (step, epoch, metric history), each written atomically, so an interrupted
// run resumes from the last complete checkpoint. Header-only; examples only.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <tapir/tapir.hpp>

namespace examples {

struct TrainingPosition {
  std::size_t step = 0;                        ///< optimizer steps taken
  std::vector<double> loss, nll, kl;           ///< per-step history, for the curves
};

class Checkpoint {
 public:
  explicit Checkpoint(std::string dir) : dir_(std::move(dir)) {}

  bool exists() const { return std::filesystem::exists(path("model.npz")); }

  void save(const tapir::nn::Layer& model, const tapir::optim::Optimizer& optimizer,
            const TrainingPosition& pos) const {
    std::filesystem::create_directories(dir_);
    model.save(path("model.npz"));
    tapir::optim::save_state(optimizer, path("optimizer.npz"));
    tapir::io::save_npz(path("progress.npz"),
                        {{"step", tapir::Tensor::scalar(static_cast<double>(pos.step), tapir::DType::float64)},
                         {"loss", history(pos.loss)}, {"nll", history(pos.nll)}, {"kl", history(pos.kl)}});
  }

  TrainingPosition load(tapir::nn::Layer& model, tapir::optim::Optimizer& optimizer) const {
    model.load(path("model.npz"));
    tapir::optim::load_state(optimizer, path("optimizer.npz"));
    TrainingPosition pos;
    for (const auto& [name, t] : tapir::io::load_npz(path("progress.npz"))) {
      if (name == "step") pos.step = static_cast<std::size_t>(t.item());
      else if (name == "loss") pos.loss = t.to_vector<double>();
      else if (name == "nll") pos.nll = t.to_vector<double>();
      else if (name == "kl") pos.kl = t.to_vector<double>();
    }
    return pos;
  }

  std::string path(const std::string& file) const { return (std::filesystem::path(dir_) / file).string(); }

 private:
  static tapir::Tensor history(const std::vector<double>& v) {
    return tapir::Tensor::from_vector<double>({v.size()}, v);
  }
  std::string dir_;
};

}  // namespace examples
