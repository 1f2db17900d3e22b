// The optimisation loop both training programs share: for the steps [pos.step, last) of the
// epoch-ordered batches, evaluate the program's objective (the negative ELBO: NLL + KL weight),
// backpropagate, step the optimizer, record the history in `pos`, show progress, and commit a
// checkpoint every --checkpoint-every steps and at the last one. What differs between the
// programs — the model, the likelihood, data parallelism — comes in as the objective and hooks.
// Header-only; examples only.
#pragma once
#include <cstdio>
#include <functional>

#include <tapir/tapir.hpp>

#include "progress.hpp"
#include "training_flags.hpp"

namespace examples {

/// One step's objective: loss = nll + kl_weight * kl; kl_per_example is what the history
/// records (KL / N).
struct StepObjective {
  tapir::Var loss, nll;
  double kl_per_example = 0;
};

struct LoopHooks {
  std::function<void()> after_backward;     ///< e.g. the data-parallel gradient reduction
  std::function<void()> before_checkpoint;  ///< e.g. the replicas' consistency check
  bool is_root = true;                      ///< prints progress and writes checkpoints
  std::size_t images_per_step = 0;          ///< for the images/second display
  const char* metrics_format = "-ELBO %.3f  NLL %.3f  KL/N %.3f";
};

struct LoopResult {
  double seconds = 0;
  std::size_t steps = 0;  ///< steps this invocation trained
};

template <class Objective>  // Objective: StepObjective(const tapir::data::Batch&, std::size_t step)
LoopResult train_steps(const tapir::data::DataLoader& loader, std::size_t epochs, const TrainingFlags& flags,
                       tapir::optim::Optimizer& optimizer, tapir::nn::Checkpoint& checkpoint, TrainingPosition& pos,
                       Objective objective, const LoopHooks& hooks = {}) {
  const std::size_t steps_per_epoch = loader.num_batches(), total_steps = steps_per_epoch * epochs;
  const std::size_t last_step = flags.last_step(pos.step, total_steps);
  Progress progress(total_steps, steps_per_epoch);
  LoopResult run;
  for (std::size_t step = pos.step; step < last_step; ++step) {
    const tapir::data::Batch batch = loader.epoch(step / steps_per_epoch)[step % steps_per_epoch];
    const StepObjective o = objective(batch, step);
    optimizer.zero_grad();
    tapir::backward(o.loss);
    if (hooks.after_backward) hooks.after_backward();
    optimizer.step();
    pos.step = step + 1;
    pos.loss.push_back(o.loss.item());
    pos.nll.push_back(o.nll.item());
    pos.kl.push_back(o.kl_per_example);
    ++run.steps;
    char metrics[160];
    std::snprintf(metrics, sizeof metrics, hooks.metrics_format, pos.loss.back(), pos.nll.back(), pos.kl.back());
    if (hooks.is_root) progress.update(step, metrics, hooks.images_per_step ? hooks.images_per_step : batch.size());
    if (pos.step % flags.checkpoint_every == 0 || pos.step == last_step) {
      if (hooks.before_checkpoint) hooks.before_checkpoint();
      if (hooks.is_root) checkpoint.save(pos.step, pos.entries());
    }
  }
  run.seconds = progress.elapsed_seconds();
  return run;
}

}  // namespace examples
