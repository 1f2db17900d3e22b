// Checkpoints for the example programs: the model's variables, the optimizer state, the draw
// counters of every variational layer and the training position (step, metric history), each
// written atomically, so an interrupted run resumes from the last complete checkpoint and then
// continues exactly as the uninterrupted run would have. Header-only; examples only.
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

  void save(tapir::nn::Layer& model, const tapir::optim::Optimizer& optimizer,
            const TrainingPosition& pos) const {
    std::filesystem::create_directories(dir_);
    model.save(path("model.npz"));
    tapir::optim::save_state(optimizer, path("optimizer.npz"));
    tapir::io::NamedTensors progress{
        {"step", tapir::Tensor::scalar(static_cast<double>(pos.step), tapir::DType::float64)},
        {"loss", history(pos.loss)}, {"nll", history(pos.nll)}, {"kl", history(pos.kl)}};
    for (tapir::nn::VariationalLayer* layer : variational_layers(model))
      progress.emplace_back("draws/" + layer->name(),
                            tapir::Tensor::scalar(static_cast<double>(layer->seed_stream().counter()), tapir::DType::float64));
    tapir::io::save_npz(path("progress.npz"), progress);
  }

  /// Restores what save() wrote; IOError naming the folder if there is no checkpoint.
  TrainingPosition load(tapir::nn::Layer& model, tapir::optim::Optimizer& optimizer) const {
    if (!exists()) throw tapir::IOError("--resume: no checkpoint in '" + dir_ + "'");
    model.load(path("model.npz"));
    tapir::optim::load_state(optimizer, path("optimizer.npz"));
    TrainingPosition pos;
    for (const auto& [name, t] : tapir::io::load_npz(path("progress.npz"))) {
      if (name == "step") pos.step = static_cast<std::size_t>(t.item());
      else if (name == "loss") pos.loss = t.to_vector<double>();
      else if (name == "nll") pos.nll = t.to_vector<double>();
      else if (name == "kl") pos.kl = t.to_vector<double>();
      for (tapir::nn::VariationalLayer* layer : variational_layers(model))
        if (name == "draws/" + layer->name()) layer->seed_stream().set_counter(static_cast<std::uint64_t>(t.item()));
    }
    return pos;
  }

  std::string path(const std::string& file) const { return (std::filesystem::path(dir_) / file).string(); }

  /// The model itself and every submodule that draws random numbers.
  static std::vector<tapir::nn::VariationalLayer*> variational_layers(tapir::nn::Layer& model) {
    std::vector<tapir::nn::VariationalLayer*> out;
    auto add = [&](tapir::nn::Layer* l) {
      if (auto* v = dynamic_cast<tapir::nn::VariationalLayer*>(l)) out.push_back(v);
    };
    add(&model);
    for (const auto& m : model.submodules()) add(m.get());
    return out;
  }

 private:
  static tapir::Tensor history(const std::vector<double>& v) {
    return tapir::Tensor::from_vector<double>({v.size()}, v);
  }
  std::string dir_;
};

}  // namespace examples
