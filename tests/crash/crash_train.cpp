// A small Bayesian training run that checkpoints after every step, for the SIGKILL test
// (sigkill_resume.py): killed at any moment and started again, it resumes from its newest
// checkpoint and must end with exactly the final metrics of a run that was never killed.
//   crash_train DIR STEPS      prints "final ..." lines (hex floats: bit-exact comparison)
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tapir/tapir.hpp>

namespace opt = tapir::optim;
using tapir::Var;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_train DIR STEPS\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::uint64_t steps = std::strtoull(argv[2], nullptr, 10);
  try {
    auto l1 = std::make_shared<tfn::AffineVariationalFlipout>(6, 16, tfn::AffineOptions().name("hidden").seed(11));
    auto l2 = std::make_shared<tfn::AffineVariationalFlipout>(16, 3, tfn::AffineOptions().name("head").seed(12));
    tfn::Sequential model(l1, [](const Var& x) { return tapir::relu(x); }, l2);
    Var log_scale = tapir::parameter(tapir::Tensor::zeros({1}, tapir::DType::float32), "log_scale");
    std::vector<Var> params = model.trainable_variables();
    params.push_back(log_scale);
    opt::Adam adam(params, opt::AdamOptions().learning_rate(1e-2));
    adam.set_schedule(opt::cosine_decay(static_cast<std::int64_t>(steps)));

    tfn::Checkpoint checkpoint(dir, tfn::CheckpointOptions().keep_last(2));
    checkpoint.track(model).track(adam).track("log_scale", log_scale);
    std::uint64_t step = 0;
    std::vector<double> losses;
    if (checkpoint.exists()) {
      const tfn::RestoredCheckpoint r = checkpoint.restore();
      step = r.step;
      losses = r.vector("loss");
    }
    tapir::SeedStream data(7, "data");
    for (; step < steps; ++step) {
      data.set_counter(2 * step);  // the data of a step depends on the step alone
      Var x = tapir::constant(tapir::random::normal({8, 6}, tapir::DType::float32, data.next()));
      Var y = tapir::constant(tapir::random::normal({8, 3}, tapir::DType::float32, data.next()));
      Var fit = tapir::mean(tapir::square(model(x) - y) * tapir::exp(log_scale)) - log_scale;
      Var loss = fit + tfn::losses::compute_extra_loss(model) * 1e-3;
      adam.zero_grad();
      tapir::backward(loss);
      adam.step();
      losses.push_back(loss.item());
      checkpoint.save(step + 1, {{"loss", tfn::Checkpoint::history(losses)}});
    }
    double sum = 0;
    for (double l : losses) sum += l;
    std::printf("final steps %zu\nfinal loss %a\nfinal loss_sum %a\n", losses.size(), losses.back(), sum);
    for (const Var& v : model.variables()) {
      double s = 0;
      for (std::size_t i = 0; i < v.size(); ++i) s = s * 1.0000001 + v.value().at(i);
      std::printf("final %s %a\n", v.name().c_str(), s);
    }
    std::printf("final log_scale %a\nfinal draws %" PRIu64 " %" PRIu64 "\n", log_scale.value().at(0),
                l1->seed_stream().counter(), l2->seed_stream().counter());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "crash_train: %s\n", e.what());
    return 1;
  }
  return 0;
}
