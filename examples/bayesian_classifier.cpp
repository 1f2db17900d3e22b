// A Bayesian CNN classifier on Fashion-MNIST with Flipout layers and a Categorical likelihood:
//
//   Conv-Flipout(1→32, k5, s2, SAME, relu) → Conv-Flipout(32→64, k5, s2, SAME, relu)
//   → flatten → Affine-Flipout(3136→10) = logits;   p(y | x, w) = Categorical(logits)
//
// loss = −mean log p(y | x) + KL / N_train, Adam. Evaluation uses the Monte Carlo predictive:
// class probabilities averaged over S weight samples (never averaged logits), and reports
// accuracy, NLL, Brier score and the expected calibration error (15 bins), with a reliability
// diagram and the most and least certain test images.
//
// Started by `mpirun -np K` it trains data-parallel (common/data_parallel.hpp): --batch-size is
// per rank, the global batch is K times it; rank 0 prints, evaluates and writes.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <tapir/tapir.hpp>
#include <tapir/viz/plots.hpp>

#include "common/data_parallel.hpp"
#include "common/progress.hpp"
#include "common/training_flags.hpp"

namespace tfd = tapir::distributions;
namespace opt = tapir::optim;
namespace pred = tapir::metrics;
using tapir::Var;

namespace {

std::shared_ptr<tfn::Sequential> build_model(std::uint64_t seed, tfn::SignMode sign_mode) {
  auto init = tfn::initializers::he_uniform();
  auto relu = [](const Var& x) { return tapir::relu(x); };
  auto conv = [&](std::size_t in, std::size_t out, const char* name) {
    return std::make_shared<tfn::ConvolutionVariationalFlipout>(
        in, out, 5,
        tfn::ConvolutionOptions().rank(2).padding("SAME").strides(2).kernel_initializer(init).activation_fn(relu)
            .seed(seed).name(name).sign_mode(sign_mode));
  };
  auto head = std::make_shared<tfn::AffineVariationalFlipout>(
      7 * 7 * 64, 10, tfn::AffineOptions().seed(seed).name("head").sign_mode(sign_mode));
  return std::make_shared<tfn::Sequential>(
      std::vector<tfn::Sequential::Element>{conv(1, 32, "conv1"), conv(32, 64, "conv2"), tfn::util::flatten_rightmost_fn(3), head},
      "classifier");
}

tapir::Tensor labels_tensor(const std::vector<int>& labels) {
  std::vector<float> v(labels.begin(), labels.end());
  return tapir::Tensor::from_vector<float>({v.size()}, v);
}

}  // namespace

int main(int argc, char** argv) {
  examples::DataParallel dp(&argc, &argv);
  CLI::App app{"Bayesian CNN classifier (Flipout) on Fashion-MNIST: trains, then reports accuracy, NLL, Brier "
               "score and ECE of the Monte Carlo predictive, with a reliability diagram and certainty grids."};
  examples::TrainingFlags flags;
  flags.out_dir = "out/classifier";
  flags.epochs = 5;
  flags.batch_size = 64;
  flags.mc_samples = 8;
  flags.seed = 7;
  std::size_t kl_warmup = 0;
  std::string lr_schedule = "cosine";
  flags.add_to(app, "Weight samples in the predictive");
  app.add_option("--lr-schedule", lr_schedule, "Learning-rate schedule over the whole run: cosine (decay to 0) | constant")
      ->capture_default_str()->check(CLI::IsMember({"cosine", "constant"}));
  app.add_option("--kl-warmup", kl_warmup, "Steps over which the KL weight rises linearly to 1/N")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const std::string& out_dir = flags.out_dir;
  const std::size_t batch_size = flags.batch_size, epochs = flags.epochs, mc_samples = flags.mc_samples;
  const std::uint64_t seed = flags.seed;

  try {
    auto [train, test] = flags.prepare();

    auto model = build_model(seed, flags.sign_mode());
    opt::Adam adam(model->trainable_variables(), opt::AdamOptions().learning_rate(flags.learning_rate));
    tfn::losses::KLWeight kl_weight(train.size(), kl_warmup);

    tapir::data::DataLoader loader = dp.loader(train, batch_size, seed);
    const std::size_t steps_per_epoch = loader.num_batches(), total_steps = steps_per_epoch * epochs;
    if (lr_schedule == "cosine") adam.set_schedule(opt::cosine_decay(static_cast<std::int64_t>(total_steps)));
    tfn::Checkpoint checkpoint(out_dir + "/checkpoint");
    checkpoint.track(*model).track(adam);
    examples::TrainingPosition pos;
    if (flags.resume) pos = examples::TrainingPosition::from(checkpoint.restore());
    dp.replicate(*model);
    const std::size_t global_batch = batch_size * static_cast<std::size_t>(dp.world_size());
    if (dp.is_root()) {
      std::printf("Bayesian classifier: %zu train / %zu test images, %zu epochs x %zu steps, batch %zu x %d ranks, %d threads\n",
                  train.size(), test.size(), epochs, steps_per_epoch, batch_size, dp.world_size(), flags.threads);
      std::printf("%s", model->summary().c_str());
    }

    examples::Progress progress(total_steps, steps_per_epoch);
    std::size_t trained_now = 0;
    const std::size_t last_step = flags.last_step(pos.step, total_steps);
    for (std::size_t step = pos.step; step < last_step; ++step) {
      const tapir::data::Batch batch = loader.epoch(step / steps_per_epoch)[step % steps_per_epoch];
      Var logits = (*model)(tapir::constant(batch.images));
      tfd::Categorical likelihood(tfd::Logits{logits});
      Var nll = -tapir::mean(likelihood.log_prob(tapir::constant(labels_tensor(batch.labels))));
      Var kl = tfn::losses::compute_extra_loss(*model);
      Var loss = nll + kl * kl_weight(step);
      adam.zero_grad();
      tapir::backward(loss);
      dp.reduce_gradients();
      adam.step();
      pos.step = step + 1;
      pos.loss.push_back(loss.item());
      pos.nll.push_back(nll.item());
      pos.kl.push_back(kl.item() / static_cast<double>(train.size()));
      ++trained_now;
      char metrics[160];
      std::snprintf(metrics, sizeof metrics, "-ELBO %.3f  NLL %.3f  KL/N %.3f", pos.loss.back(), pos.nll.back(), pos.kl.back());
      if (dp.is_root()) progress.update(step, metrics, global_batch);
      if (pos.step % flags.checkpoint_every == 0 || pos.step == last_step) {
        dp.check_in_sync(adam);
        if (dp.is_root()) checkpoint.save(pos.step, pos.entries());
      }
    }
    const double train_seconds = progress.elapsed_seconds();
    if (!dp.is_root()) {  // the replicas are identical: rank 0 evaluates and writes
      dp.barrier();
      return 0;
    }

    // ---- Monte Carlo predictive: average class probabilities over S weight samples
    tapir::NoGradGuard no_grad;
    const std::size_t n = test.size();
    std::vector<float> probs(mc_samples * n * 10);
    for (std::size_t begin = 0; begin < n; begin += 500) {
      const std::size_t end = std::min(n, begin + 500);
      Var x = tapir::constant(test.slice(begin, end).images());
      for (std::size_t s = 0; s < mc_samples; ++s) {
        const tapir::Tensor p = pred::probs_from_logits((*model)(x).value());
        for (std::size_t i = 0; i < (end - begin) * 10; ++i) probs[(s * n + begin) * 10 + i] = static_cast<float>(p.at(i));
      }
    }
    const tapir::Tensor samples = tapir::Tensor::from_vector<float>({mc_samples, n, 10}, probs);
    const tapir::Tensor mean = pred::mean_probs(samples);
    const std::vector<int>& labels = test.labels();
    const double accuracy = pred::accuracy(mean, labels), nll = pred::nll(mean, labels);
    const double brier = pred::brier_score(mean, labels), ece = pred::expected_calibration_error(mean, labels, 15);
    const auto bins = pred::reliability_bins(mean, labels, 15);
    const tapir::Tensor entropy = pred::predictive_entropy(samples), mi = pred::mutual_information(samples);
    double mean_mi = 0;
    for (std::size_t i = 0; i < n; ++i) mean_mi += mi.at(i) / static_cast<double>(n);

    // ---- pictures: reliability diagram; the 16 most and least certain test images
    namespace viz = tapir::viz;
    std::vector<viz::ReliabilityBin> plotted;
    for (const auto& b : bins) plotted.push_back({b.lower, b.upper, b.mean_confidence, b.accuracy, b.count});
    viz::write_png(out_dir + "/reliability.png",
                   viz::reliability_diagram(plotted, ece, viz::ReliabilityOptions().title("MC predictive, test set")));
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return entropy.at(a) < entropy.at(b); });
    const std::size_t k = std::min<std::size_t>(16, n);
    std::vector<std::size_t> picked(order.begin(), order.begin() + k);
    picked.insert(picked.end(), order.end() - k, order.end());
    viz::write_png(out_dir + "/certainty.png",
                   viz::image_grid(test.gather(picked).images(), viz::GridOptions().columns(static_cast<int>(k)).zoom(2)));

    nlohmann::json summary = {
        {"program", "bayesian_classifier"},
        {"train_images", train.size()}, {"test_images", n}, {"epochs", epochs}, {"steps", pos.step},
        {"batch_size", batch_size}, {"world_size", dp.world_size()}, {"global_batch_size", global_batch}, {"lr_schedule", lr_schedule}, {"threads", flags.threads}, {"seed", seed}, {"sign_mode", flags.sign}, {"mc_samples", mc_samples},
        {"test_accuracy", accuracy}, {"test_nll", nll}, {"test_brier", brier}, {"test_ece_15_bins", ece},
        {"mean_mutual_information", mean_mi},
        {"least_certain_entropy", entropy.at(order.back())}, {"most_certain_entropy", entropy.at(order.front())},
        {"train_seconds_this_run", train_seconds},
        {"train_images_per_second", trained_now ? trained_now * global_batch / train_seconds : 0.0},
        {"pictures", {out_dir + "/reliability.png", out_dir + "/certainty.png"}},
        {"certainty_png", "top row: the 16 most certain test images (lowest predictive entropy); bottom row: the 16 least certain"}};
    tapir::io::write_file_atomic(out_dir + "/summary.json", summary.dump(2) + "\n");
    std::printf("test accuracy %.2f%%  NLL %.4f  Brier %.4f  ECE %.2f%%  (MC predictive, %zu samples)\n", 100 * accuracy,
                nll, brier, 100 * ece, mc_samples);
    std::printf("wrote %s/{reliability,certainty}.png and summary.json\n", out_dir.c_str());
    dp.barrier();
  } catch (const tapir::Error& e) {
    return dp.fail("bayesian_classifier", e.what());
  }
  return 0;
}
