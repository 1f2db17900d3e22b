// Whole training steps of the example programs: forward, ELBO, backward and the Adam update,
// exactly as the programs run them (the model comes from the example's own header), on fixed
// synthetic images so the case needs no dataset.
#include <tapir/tapir.hpp>

#include "../examples/common/autoencoder_model.hpp"
#include "bench.hpp"

namespace {
// One step of the main job (the seed's autoencoder) at batch `n`: the peer script times the same
// model in PyTorch. flops: the four Flipout layers' convolutions (2 per forward, 4 in backward)
// plus the bottleneck's matmuls, counted from their shapes.
bench::Work autoencoder_step(std::size_t n) {
  auto model = std::make_shared<examples::Model>(examples::build_model(7, tfn::SignMode::elementwise));
  std::vector<tapir::Var> params = model->all->trainable_variables();
  params.push_back(model->rho_scale);
  auto adam = std::make_shared<tapir::optim::Adam>(params, tapir::optim::AdamOptions().learning_rate(1e-3));
  auto images = tapir::random::uniform({n, 28, 28, 1}, tapir::DType::float32, tapir::RandomStream(3, "bench_images"));
  auto x = std::make_shared<tapir::Var>(tapir::constant(examples::squash(images)));
  const double n_train = 60000;
  const double conv_macs = 14.0 * 14 * 32 * 25 * 1       // encoder conv 1→32 k5 s2 (14x14 outputs)
                           + 7.0 * 7 * 64 * 2            // deconv 2→64 k7 on a 1x1 input (49 taps)
                           + 7.0 * 7 * 64 * 32 * 16      // deconv 64→32 k4 s4 (16 taps per input pixel)
                           + 28.0 * 28 * 32 * 1 * 4;     // conv 32→1 k2
  const double flops = n * (2.0 * conv_macs * 6 + 2.0 * 6272 * 2 * 3);
  return {[=] {
            tapir::Var loc = (*model->all)(*x);
            tapir::Var nll = tapir::mean(examples::negative_log_likelihood(loc, model->rho_scale, *x));
            tapir::Var loss = nll + tfn::losses::compute_extra_loss(*model->all) * (1.0 / n_train);
            adam->zero_grad();
            tapir::backward(loss);
            adam->step();
          },
          flops, 0, "one Adam step of the seed's autoencoder; flops = 6 x the convolutions' 2*MACs + 3 x the bottleneck's"};
}
}  // namespace

BENCH_CASE("train_step/autoencoder/b32") { return autoencoder_step(32); }
