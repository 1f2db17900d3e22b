// A Bayesian CNN classifier on Fashion-MNIST with Flipout layers and a Categorical likelihood:
//
//   Conv-Flipout(1→32, k3, SAME) → BatchNorm → relu → MaxPool 2
//   → Conv-Flipout(32→64, k3, SAME) → BatchNorm → relu → MaxPool 2
//   → Flatten → Affine-Flipout(3136→10) = logits;   p(y | x, w) = Categorical(logits)
//
// Prior N(0, 1) on every weight with the closed-form KL (bayesian-torch's default; measured
// better here than TFP's spike-and-slab prior with its single-sample Monte Carlo KL, which
// --prior spike_and_slab selects). loss = −mean log p(y | x) + KL / N_train, Adam (lr 3e-3) with
// cosine decay. Evaluation uses the Monte Carlo predictive (tfn::predictive::monte_carlo, S = 16):
// class probabilities averaged over S weight samples (never averaged logits), in inference mode
// (BatchNorm's running statistics), and reports accuracy, NLL, Brier score and the expected
// calibration error (15 bins), with a reliability diagram and the most and least certain test
// images.
// --from-deterministic first trains the deterministic twin (the same network with plain
// Convolution/Affine layers), then converts it with tfn::dnn_to_bnn and MOPED (posterior
// loc = the trained weights, σ = δ|w|, prior N(w, σ_p)) and trains the Bayesian model from
// there; the summary reports both models side by side.
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
#include "common/training_loop.hpp"

namespace tfd = tapir::distributions;
namespace opt = tapir::optim;
namespace pred = tapir::metrics;
using tapir::Var;

namespace {

// The network; `bayesian` picks Flipout layers, else the deterministic twin (for dnn_to_bnn).
// `normal_prior`: N(0, 1) on every weight with the closed-form KL (bayesian-torch's default);
// otherwise TFP's spike-and-slab prior with the single-sample Monte Carlo KL.
template <class Options> Options with_prior(Options o, bool normal_prior) {
  if (!normal_prior) return o;
  return o.make_prior_fn(tfn::util::prior_normal_fn()).divergence_fn(tfn::losses::kl_divergence_exact);
}

std::shared_ptr<tfn::Sequential> build_model(bool bayesian, std::uint64_t seed, tfn::SignMode sign_mode,
                                             bool normal_prior) {
  auto init = tfn::initializers::he_uniform();
  auto relu = [](const Var& x) { return tapir::relu(x); };
  std::vector<tfn::Sequential::Element> layers;
  auto conv = [&](std::size_t in, std::size_t out, const char* name) -> std::shared_ptr<tfn::Layer> {
    // no bias: the BatchNormalization after it has one
    auto o = tfn::ConvolutionOptions().padding("SAME").kernel_initializer(init).use_bias(false).seed(seed).name(name);
    if (!bayesian) return std::make_shared<tfn::Convolution>(in, out, 3, o);
    return std::make_shared<tfn::ConvolutionVariationalFlipout>(in, out, 3, with_prior(o.sign_mode(sign_mode), normal_prior));
  };
  auto block = [&](std::size_t in, std::size_t out, const char* conv_name, const char* bn_name) {
    layers.emplace_back(conv(in, out, conv_name));
    layers.emplace_back(std::make_shared<tfn::BatchNormalization>(out, tfn::NormalizationOptions().name(bn_name)));
    layers.emplace_back(relu);
    layers.emplace_back(std::make_shared<tfn::MaxPooling>(2));
  };
  block(1, 32, "conv1", "bn1");
  block(32, 64, "conv2", "bn2");
  layers.emplace_back(std::make_shared<tfn::Flatten>());
  auto head = tfn::AffineOptions().seed(seed).name("head");
  if (bayesian) layers.emplace_back(std::make_shared<tfn::AffineVariationalFlipout>(7 * 7 * 64, 10, with_prior(head.sign_mode(sign_mode), normal_prior)));
  else layers.emplace_back(std::make_shared<tfn::Affine>(7 * 7 * 64, 10, head));
  return std::make_shared<tfn::Sequential>(std::move(layers), "classifier");
}

tapir::Tensor labels_tensor(const std::vector<int>& labels) {
  std::vector<float> v(labels.begin(), labels.end());
  return tapir::Tensor::from_vector<float>({v.size()}, v);
}

struct Evaluation {
  tapir::Tensor samples, mean;  // [S, N, 10] class probabilities and their MC mean
  double accuracy, nll, brier, ece;
};

// The Monte Carlo predictive of `model` on the test images (S passes; 1 for a deterministic model).
Evaluation evaluate(tfn::Layer& model, const tapir::data::Dataset& test, std::size_t passes) {
  Evaluation e;
  const auto mc = tfn::predictive::monte_carlo(
      model, test.images(), passes,
      tfn::predictive::MonteCarloOptions().batch_size(500).keep_samples(true).transform(
          [](const Var& logits) { return tapir::softmax(logits); }));
  e.samples = mc.samples;
  e.mean = mc.mean;
  const std::vector<int>& labels = test.labels();
  e.accuracy = pred::accuracy(e.mean, labels);
  e.nll = pred::nll(e.mean, labels);
  e.brier = pred::brier_score(e.mean, labels);
  e.ece = pred::expected_calibration_error(e.mean, labels, 15);
  return e;
}

nlohmann::json metrics_json(const Evaluation& e) {
  return {{"test_accuracy", e.accuracy}, {"test_nll", e.nll}, {"test_brier", e.brier}, {"test_ece_15_bins", e.ece}};
}

}  // namespace

int main(int argc, char** argv) {
  examples::DataParallel dp(&argc, &argv);
  CLI::App app{"Bayesian CNN classifier (Flipout) on Fashion-MNIST: trains, then reports accuracy, NLL, Brier "
               "score and ECE of the Monte Carlo predictive, with a reliability diagram and certainty grids."};
  examples::TrainingFlags flags;
  flags.out_dir = "out/classifier";
  flags.epochs = 6;
  flags.learning_rate = 3e-3;
  flags.batch_size = 64;
  flags.mc_samples = 16;
  flags.seed = 7;
  std::size_t kl_warmup = 0;
  std::string lr_schedule = "cosine";
  flags.add_to(app, "Weight samples in the predictive");
  app.add_option("--lr-schedule", lr_schedule, "Learning-rate schedule over the whole run: cosine (decay to 0) | constant")
      ->capture_default_str()->check(CLI::IsMember({"cosine", "constant"}));
  app.add_option("--kl-warmup", kl_warmup, "Steps over which the KL weight rises linearly to 1/N")->capture_default_str();
  std::string prior = "normal";
  app.add_option("--prior", prior, "Weight prior: spike_and_slab (TFP: ½N(0,1)+½N(0,2000), Monte Carlo KL) | "
                 "normal (N(0,1), closed-form KL)")->capture_default_str()->check(CLI::IsMember({"spike_and_slab", "normal"}));
  bool from_deterministic = false;
  std::size_t det_epochs = 3;
  double moped_delta = 0.1, prior_sigma = 0.1;
  app.add_flag("--from-deterministic", from_deterministic,
               "Train the deterministic twin first, then convert it with dnn_to_bnn + MOPED and train that");
  app.add_option("--deterministic-epochs", det_epochs, "Epochs of the deterministic twin")->capture_default_str();
  app.add_option("--moped-delta", moped_delta, "MOPED: posterior sigma = delta * |w|")->capture_default_str();
  app.add_option("--prior-sigma", prior_sigma, "MOPED: prior N(w, prior_sigma)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const std::string& out_dir = flags.out_dir;
  const std::size_t batch_size = flags.batch_size, epochs = flags.epochs, mc_samples = flags.mc_samples;
  const std::uint64_t seed = flags.seed;

  try {
    auto [train, test] = flags.prepare();

    nlohmann::json deterministic_json;
    std::shared_ptr<tfn::Layer> model = build_model(true, seed, flags.sign_mode(), prior == "normal");
    if (from_deterministic) {  // the deterministic twin, trained, then converted with MOPED
      auto det = build_model(false, seed, flags.sign_mode(), false);
      opt::Adam det_adam(det->trainable_variables(), opt::AdamOptions().learning_rate(flags.learning_rate));
      tapir::data::DataLoader det_loader(train, batch_size, tapir::data::DataLoaderOptions().seed(seed + 1).drop_remainder(true));
      det_adam.set_schedule(opt::cosine_decay(static_cast<std::int64_t>(det_loader.num_batches() * det_epochs)));
      tfn::Checkpoint det_checkpoint(out_dir + "/checkpoint_deterministic");
      det_checkpoint.track(*det).track(det_adam);
      examples::TrainingPosition det_pos;
      if (flags.resume && det_checkpoint.exists()) det_pos = examples::TrainingPosition::from(det_checkpoint.restore());
      examples::TrainingFlags det_flags = flags;
      det_flags.stop_after = 0;
      const auto det_run = examples::train_steps(
          det_loader, det_epochs, det_flags, det_adam, det_checkpoint, det_pos, [&](const tapir::data::Batch& batch, std::size_t) {
            tfd::Categorical likelihood(tfd::Logits{(*det)(tapir::constant(batch.images))});
            Var nll = -tapir::mean(likelihood.log_prob(tapir::constant(labels_tensor(batch.labels))));
            return examples::StepObjective{nll, nll, 0.0};
          }, examples::LoopHooks{{}, {}, dp.is_root(), 0, "loss %.3f  NLL %.3f  KL/N %.0f (deterministic twin)"});
      const Evaluation det_eval = evaluate(*det, test, 1);
      deterministic_json = metrics_json(det_eval);
      deterministic_json["epochs"] = det_epochs;
      deterministic_json["train_seconds_this_run"] = det_run.seconds;
      std::printf("deterministic twin: test accuracy %.2f%%  NLL %.4f  Brier %.4f  ECE %.2f%%\n", 100 * det_eval.accuracy,
                  det_eval.nll, det_eval.brier, 100 * det_eval.ece);
      model = tfn::dnn_to_bnn(det, tfn::DnnToBnnOptions().moped_enable(true).moped_delta(moped_delta)
                                       .prior_sigma(prior_sigma).seed(seed));
    }
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
    const auto run = examples::train_steps(
        loader, epochs, flags, adam, checkpoint, pos,
        [&](const tapir::data::Batch& batch, std::size_t step) {
          tfd::Categorical likelihood(tfd::Logits{(*model)(tapir::constant(batch.images))});
          Var nll = -tapir::mean(likelihood.log_prob(tapir::constant(labels_tensor(batch.labels))));
          Var kl = tfn::losses::compute_extra_loss(*model);
          return examples::StepObjective{nll + kl * kl_weight(step), nll, kl.item() / static_cast<double>(train.size())};
        },
        examples::LoopHooks{[&] { dp.reduce_gradients(); }, [&] { dp.check_in_sync(adam); }, dp.is_root(), global_batch});
    const double train_seconds = run.seconds;
    const std::size_t trained_now = run.steps;
    if (!dp.is_root()) {  // the replicas are identical: rank 0 evaluates and writes
      dp.barrier();
      return 0;
    }

    // ---- Monte Carlo predictive: average class probabilities over S weight samples
    const Evaluation eval = evaluate(*model, test, mc_samples);
    const std::size_t n = test.size();
    const std::vector<int>& labels = test.labels();
    const tapir::Tensor& samples = eval.samples;
    const double accuracy = eval.accuracy, nll = eval.nll, brier = eval.brier, ece = eval.ece;
    const auto bins = pred::reliability_bins(eval.mean, labels, 15);
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
        {"batch_size", batch_size}, {"world_size", dp.world_size()}, {"global_batch_size", global_batch}, {"lr_schedule", lr_schedule}, {"threads", flags.threads}, {"seed", seed}, {"sign_mode", flags.sign}, {"prior", from_deterministic ? "moped" : prior}, {"mc_samples", mc_samples},
        {"test_accuracy", accuracy}, {"test_nll", nll}, {"test_brier", brier}, {"test_ece_15_bins", ece},
        {"mean_mutual_information", mean_mi},
        {"least_certain_entropy", entropy.at(order.back())}, {"most_certain_entropy", entropy.at(order.front())},
        {"train_seconds_this_run", train_seconds},
        {"train_images_per_second", trained_now ? trained_now * global_batch / train_seconds : 0.0},
        {"pictures", {out_dir + "/reliability.png", out_dir + "/certainty.png"}},
        {"from_deterministic", from_deterministic},
        {"deterministic_twin", from_deterministic ? deterministic_json : nlohmann::json(nullptr)},
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
