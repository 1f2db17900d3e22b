// The command-line flags both training programs share, their parsing, and the data they select.
// Header-only; examples only.
#pragma once
#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>
#include <utility>

#include <tapir/tapir.hpp>

namespace examples {

struct TrainingFlags {
  std::string data_dir = tapir::data::kFashionMnistDir;
  std::string out_dir;
  std::string sign = "elementwise";
  std::size_t train_size = 0, test_size = 0, epochs = 1, batch_size = 32, mc_samples = 8;
  std::size_t checkpoint_every = 500;
  std::size_t stop_after = 0;  ///< steps this invocation may take (0 = to the end); for testing --resume
  double learning_rate = 1e-3;
  std::uint64_t seed = 0;
  int threads = 2;
  bool resume = false;

  /// Registers the flags on `app`, with the values set now as documented defaults.
  void add_to(CLI::App& app, const std::string& mc_samples_help) {
    app.add_option("--data-dir", data_dir, "Folder with the Fashion-MNIST IDX files")->capture_default_str();
    app.add_option("--out-dir", out_dir, "Where pictures, checkpoints and the summary go")->capture_default_str();
    app.add_option("--train-size", train_size, "Training images used (0 = all 60000)")->capture_default_str();
    app.add_option("--test-size", test_size, "Test images evaluated (0 = all 10000)")->capture_default_str();
    app.add_option("--epochs", epochs, "Passes over the training images")->capture_default_str();
    app.add_option("--batch-size", batch_size, "Images per step")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--learning-rate", learning_rate, "Adam learning rate")->capture_default_str();
    app.add_option("--mc-samples", mc_samples, mc_samples_help)->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--checkpoint-every", checkpoint_every, "Steps between checkpoints")->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--seed", seed, "Seed of weights, Flipout signs and shuffling")->capture_default_str();
    app.add_option("--threads", threads, "Threads for tapir's kernels")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--sign-mode", sign, "Flipout signs: elementwise | per_example_channel")->capture_default_str()
        ->check(CLI::IsMember({"elementwise", "per_example_channel"}));
    app.add_flag("--resume", resume, "Continue from the checkpoint in --out-dir");
    app.add_option("--stop-after", stop_after, "Stop (with a checkpoint) after this many steps of this invocation, "
                   "as an interruption would; 0 = run to the end")->capture_default_str();
  }

  /// The last step (exclusive) this invocation trains, starting at `first` of `total`.
  std::size_t last_step(std::size_t first, std::size_t total) const {
    return stop_after ? std::min(total, first + stop_after) : total;
  }

  tfn::SignMode sign_mode() const {
    return sign == "elementwise" ? tfn::SignMode::elementwise : tfn::SignMode::per_example_channel;
  }

  /// Applies --threads, creates --out-dir, and loads the (train, test) images: a seeded random
  /// subset of the training set and the first --test-size test images.
  std::pair<tapir::data::Dataset, tapir::data::Dataset> prepare() const {
    tapir::set_num_threads(threads);
    std::filesystem::create_directories(out_dir);
    tapir::data::Dataset train = tapir::data::load_fashion_mnist(tapir::data::Split::train, data_dir);
    tapir::data::Dataset test = tapir::data::load_fashion_mnist(tapir::data::Split::test, data_dir);
    if (train_size && train_size < train.size()) train = train.shuffled(seed).subset(train_size);
    if (test_size && test_size < test.size()) test = test.subset(test_size);
    return {train, test};
  }
};

}  // namespace examples
