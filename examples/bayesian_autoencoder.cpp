// The seed page's Bayesian autoencoder (the tfp.experimental.nn docstring's model; see
// docs/semantics/variational_layers.md, "Reference model"), trained on Fashion-MNIST with Flipout layers:
//
//   Conv-Flipout(1→32, k5, s2, SAME) → flatten → Affine-Reparam(6272→2)   [2-D bottleneck]
//   → reshape [1,1,2] → ConvT-Flipout(2→64, k7, VALID) → ConvT-Flipout(64→32, k4, s4, SAME)
//   → Conv-Flipout(32→1, k2, SAME) = loc;   p(x | w) = Independent(LogitNormal(loc, σ), 3)
//
// loss = −mean log p(x) + KL / N_train (negative ELBO per example), Adam. The likelihood is the
// reference's LogitNormal (images scaled to [0.001, 0.999]): Fashion-MNIST pixels are grey levels,
// not coin flips, and the logit-normal is the reference's choice. Not a VAE: the weights are
// random, the code is not.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <tapir/tapir.hpp>
#include <tapir/viz/plots.hpp>

#include "common/autoencoder_model.hpp"
#include "common/progress.hpp"
#include "common/training_flags.hpp"
#include "common/training_loop.hpp"

namespace tfd = tapir::distributions;
namespace opt = tapir::optim;
using tapir::Var;

using examples::build_model;
using examples::Model;
using examples::negative_log_likelihood;
using examples::squash;

int main(int argc, char** argv) {
  CLI::App app{"Bayesian autoencoder (Flipout) on Fashion-MNIST: trains, then writes reconstructions, "
               "predictive uncertainty, the 2-D latent space and ELBO curves as PNG, and a JSON summary."};
  examples::TrainingFlags flags;
  flags.out_dir = "out/autoencoder";
  flags.test_size = 2000;
  flags.epochs = 2;
  flags.batch_size = 32;
  flags.mc_samples = 16;
  flags.seed = 42;
  flags.add_to(app, "Forward passes for the predictive mean/std");
  CLI11_PARSE(app, argc, argv);
  const std::string& out_dir = flags.out_dir;
  const std::size_t batch_size = flags.batch_size, epochs = flags.epochs, mc_samples = flags.mc_samples;

  try {
    auto [train, test] = flags.prepare();
    const std::uint64_t seed = flags.seed;
    const double n_train = static_cast<double>(train.size());

    Model model = build_model(seed, flags.sign_mode());
    std::vector<Var> params = model.all->trainable_variables();
    params.push_back(model.rho_scale);
    opt::Adam adam(params, opt::AdamOptions().learning_rate(flags.learning_rate));

    tapir::data::DataLoader loader(train, batch_size, tapir::data::DataLoaderOptions().seed(seed).drop_remainder(true));
    const std::size_t steps_per_epoch = loader.num_batches();
    tfn::Checkpoint checkpoint(out_dir + "/checkpoint");
    checkpoint.track(*model.all).track(adam).track("likelihood_rho", model.rho_scale);
    examples::TrainingPosition pos;
    if (flags.resume) pos = examples::TrainingPosition::from(checkpoint.restore());
    std::printf("Bayesian autoencoder: %zu train / %zu test images, %zu epochs x %zu steps, batch %zu, %d threads\n",
                train.size(), test.size(), epochs, steps_per_epoch, batch_size, flags.threads);
    std::printf("%s", model.all->summary().c_str());

    const auto run = examples::train_steps(
        loader, epochs, flags, adam, checkpoint, pos,
        [&](const tapir::data::Batch& batch, std::size_t) {
          Var x = tapir::constant(squash(batch.images));
          Var nll = tapir::mean(negative_log_likelihood((*model.all)(x), model.rho_scale, x));
          Var kl = tfn::losses::compute_extra_loss(*model.all);
          return examples::StepObjective{nll + kl * (1.0 / n_train), nll, kl.item() / n_train};
        },
        examples::LoopHooks{{}, {}, true, 0, "-ELBO %.1f  NLL %.1f  KL/N %.1f"});
    const double train_seconds = run.seconds;
    const std::size_t trained_now = run.steps;

    // ---- evaluation: the MC predictive over S passes (tfn::predictive::monte_carlo), in chunks
    const std::size_t n_test = test.size();
    double test_nll = 0;
    const tapir::Tensor latent_t =
        tfn::predictive::monte_carlo(*model.encoder, squash(test.images()), 1).mean;  // one encoding per image
    std::vector<float> latent(2 * n_test), recon_mean, recon_std;
    for (std::size_t i = 0; i < 2 * n_test; ++i) latent[i] = static_cast<float>(latent_t.at(i));
    const std::size_t shown = std::min<std::size_t>(16, n_test);
    for (std::size_t begin = 0; begin < n_test; begin += 500) {
      const std::size_t end = std::min(n_test, begin + 500), rows = end - begin;
      const tapir::Tensor x = squash(test.slice(begin, end).images());
      const tapir::Tensor locs = tfn::predictive::monte_carlo(
          *model.all, x, mc_samples, tfn::predictive::MonteCarloOptions().keep_samples(true)).samples;
      tapir::NoGradGuard no_grad;
      // test NLL of the MC predictive: −log (1/S) Σ_s p(x | w_s) per image, by logsumexp over s
      std::vector<Var> log_liks;
      for (std::size_t s = 0; s < mc_samples; ++s) {
        const Var loc = tapir::constant(tapir::slice(tapir::constant(locs), {{static_cast<std::int64_t>(s), static_cast<std::int64_t>(s) + 1}}).value().reshape(x.shape()));
        log_liks.push_back(tapir::reshape(-negative_log_likelihood(loc, model.rho_scale, tapir::constant(x)), {1, rows}));
      }
      const Var per_image = tapir::logsumexp(tapir::concat(log_liks, 0), {0}) - std::log(static_cast<double>(mc_samples));
      test_nll -= tapir::sum(per_image).item();
      if (begin == 0) {  // predictive mean and std of the reconstructed image, sigmoid(loc)
        const auto ms = tfn::predictive::monte_carlo(*model.all, x, mc_samples,
            tfn::predictive::MonteCarloOptions().transform([](const Var& loc) { return tapir::sigmoid(loc); }));
        for (std::size_t i = 0; i < shown * 784; ++i) {
          recon_mean.push_back(static_cast<float>(ms.mean.at(i)));
          recon_std.push_back(static_cast<float>(std::sqrt(ms.variance.at(i))));
        }
      }
    }
    test_nll /= static_cast<double>(n_test);
    // the evaluation passes ran without gradients, so no layer kept a divergence: recompute it
    Var kl_final = tfn::losses::compute_extra_loss(*model.all, tfn::losses::kl_divergence_monte_carlo);

    // ---- pictures: inputs, posterior-mean reconstructions, predictive std (rows of 16)
    namespace viz = tapir::viz;
    std::vector<float> grid;
    const tapir::Tensor inputs = test.subset(shown).images();
    for (std::size_t i = 0; i < shown * 784; ++i) grid.push_back(static_cast<float>(inputs.at(i)));
    grid.insert(grid.end(), recon_mean.begin(), recon_mean.end());
    float max_std = 1e-6f;
    for (float v : recon_std) max_std = std::max(max_std, v);
    for (float v : recon_std) grid.push_back(v / max_std);  // std scaled to its maximum
    viz::write_png(out_dir + "/reconstructions.png",
                   viz::image_grid(tapir::Tensor::from_vector<float>({3 * shown, 28, 28, 1}, grid),
                                   viz::GridOptions().columns(static_cast<int>(shown)).zoom(2)));
    viz::write_png(out_dir + "/latent.png",
                   viz::scatter_plot(tapir::Tensor::from_vector<float>({n_test, 2}, latent), test.labels(),
                                     viz::ScatterOptions()
                                         .title("Latent space of the test set (posterior mean encoding)")
                                         .x_label("z₁").y_label("z₂")
                                         .class_names(tapir::data::fashion_mnist_class_names())));
    // The three terms differ by orders of magnitude (NLL ~ -1900, KL/N ~ 6 nats): one panel each.
    if (!pos.loss.empty()) {
      std::vector<double> steps(pos.loss.size());
      for (std::size_t i = 0; i < steps.size(); ++i) steps[i] = static_cast<double>(i + 1);
      viz::write_png(out_dir + "/curves.png",
                     viz::panel_plot({{"−ELBO (nats)", {{"−ELBO = NLL + KL/N", pos.loss, steps, std::nullopt}}},
                                      {"NLL (nats)", {{"NLL", pos.nll, steps, std::nullopt}}},
                                      {"KL/N (nats)", {{"KL/N", pos.kl, steps, std::nullopt}}}},
                                     viz::LineOptions().title("Training loss per image").x_label("step")));
    }

    nlohmann::json summary = {
        {"program", "bayesian_autoencoder"},
        {"train_images", train.size()}, {"test_images", n_test}, {"epochs", epochs}, {"steps", pos.step},
        {"batch_size", batch_size}, {"threads", flags.threads}, {"seed", seed}, {"sign_mode", flags.sign},
        {"mc_samples", mc_samples},
        {"final_train_neg_elbo", pos.loss.empty() ? NAN : pos.loss.back()},
        {"test_nll_mc_predictive", test_nll},
        {"kl_total", kl_final.item()}, {"kl_per_train_image", kl_final.item() / n_train},
        {"likelihood_scale", (tapir::softplus(model.rho_scale) + 1e-5).item()},
        {"train_seconds_this_run", train_seconds},
        {"train_images_per_second", trained_now ? trained_now * batch_size / train_seconds : 0.0},
        {"pictures", {out_dir + "/reconstructions.png", out_dir + "/latent.png", out_dir + "/curves.png"}}};
    tapir::io::write_file_atomic(out_dir + "/summary.json", summary.dump(2) + "\n");
    std::printf("test NLL (MC predictive, %zu samples): %.2f nats/image   KL: %.1f nats (%.2f per train image)\n",
                mc_samples, test_nll, kl_final.item(), kl_final.item() / n_train);
    std::printf("wrote %s/{reconstructions,latent,curves}.png and summary.json\n", out_dir.c_str());
  } catch (const tapir::Error& e) {
    std::fprintf(stderr, "bayesian_autoencoder: %s\n", e.what());
    return 1;
  }
  return 0;
}
