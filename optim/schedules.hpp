// Learning-rate schedules.
//
// A Schedule maps the optimizer's step count (0 for the first update, +1 per applied update;
// skipped steps do not advance it) to a *factor* that multiplies each parameter group's
// learning_rate — PyTorch's LambdaLR convention, so one schedule serves groups with different
// rates. For a Keras-style schedule that yields the learning rate itself, set learning_rate(1.0).
// Any callable `double(std::int64_t step)` is a schedule; a factor must be finite and >= 0
// (step() checks). Schedules are pure functions of the step, so an optimizer's saved state
// (which holds the step count) resumes a schedule exactly: set the same schedule again.
//
//   adam.set_schedule(opt::cosine_decay(/*decay_steps=*/10000, /*alpha=*/0.01,
//   /*warmup_steps=*/500)); adam.set_schedule(opt::linear_warmup(100,
//   opt::halflife_decay(/*half_life=*/2000)));
#pragma once
#include <cstdint>
#include <functional>

namespace tapir::optim {

using Schedule = std::function<double(std::int64_t step)>;

/// factor(step) = value.
Schedule constant_schedule(double value = 1.0);

/// factor(step) = gamma ^ floor(step / step_size)   (PyTorch StepLR).
Schedule step_decay(std::int64_t step_size, double gamma = 0.1);

/// factor(step) = decay_rate ^ (step / decay_steps), with floor(step / decay_steps) if
/// `staircase`   (Keras ExponentialDecay with initial_learning_rate = 1).
Schedule exponential_decay(std::int64_t decay_steps, double decay_rate, bool staircase = false);

/// Cosine decay after an optional linear warm-up (Keras CosineDecay with initial 0 and
/// warmup_target 1, in factor form):
///   step <  warmup_steps:  factor = step / warmup_steps
///   otherwise:             s = min(step - warmup_steps, decay_steps)
///                          factor = alpha + (1 - alpha) * (1 + cos(pi * s / decay_steps)) / 2
/// so the factor reaches 1 at step warmup_steps and alpha at warmup_steps + decay_steps, and
/// stays there.
Schedule cosine_decay(std::int64_t decay_steps, double alpha = 0.0, std::int64_t warmup_steps = 0);

/// TFP's tfp.experimental.nn.util.halflife_decay, with time_step = the step count:
///   factor(step) = final + (initial - final) * 0.5 ^ (step / half_life)
/// (no warm-up, exactly as TFP; wrap it in linear_warmup for one).
Schedule halflife_decay(double half_life, double initial = 1.0, double final = 0.0);

/// Linear warm-up in front of any schedule:
///   step <  warmup_steps:  factor = start + (after(0) - start) * step / warmup_steps
///   otherwise:             factor = after(step - warmup_steps)
/// The ramp ends where `after` begins, so the factor is continuous.
Schedule linear_warmup(std::int64_t warmup_steps, Schedule after, double start = 0.0);

}  // namespace tapir::optim
