#include <tapir/optim/schedules.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include <tapir/core/error.hpp>

namespace tapir::optim {

namespace {
const double kPi = std::acos(-1.0);

void require(bool ok, const char* schedule, const std::string& what) {
  if (!ok) throw ValueError(std::string(schedule) + ": " + what);
}
std::string str(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
void check_step(std::int64_t step, const char* schedule) {
  // Runs every step: build the message only on failure (steps allocate nothing).
  if (step < 0) require(false, schedule, "step must be >= 0, got " + std::to_string(step));
}
}  // namespace

Schedule constant_schedule(double value) {
  require(std::isfinite(value) && value >= 0, "constant_schedule",
          "value must be finite and >= 0, got " + str(value));
  return [value](std::int64_t step) {
    check_step(step, "constant_schedule");
    return value;
  };
}

Schedule step_decay(std::int64_t step_size, double gamma) {
  require(step_size > 0, "step_decay", "step_size must be > 0, got " + std::to_string(step_size));
  require(std::isfinite(gamma) && gamma > 0, "step_decay",
          "gamma must be finite and > 0, got " + str(gamma));
  return [step_size, gamma](std::int64_t step) {
    check_step(step, "step_decay");
    return std::pow(gamma, static_cast<double>(step / step_size));  // integer division = floor
  };
}

Schedule exponential_decay(std::int64_t decay_steps, double decay_rate, bool staircase) {
  require(decay_steps > 0, "exponential_decay",
          "decay_steps must be > 0, got " + std::to_string(decay_steps));
  require(std::isfinite(decay_rate) && decay_rate > 0, "exponential_decay",
          "decay_rate must be finite and > 0, got " + str(decay_rate));
  return [decay_steps, decay_rate, staircase](std::int64_t step) {
    check_step(step, "exponential_decay");
    const double p = staircase ? static_cast<double>(step / decay_steps)
                               : static_cast<double>(step) / static_cast<double>(decay_steps);
    return std::pow(decay_rate, p);
  };
}

Schedule cosine_decay(std::int64_t decay_steps, double alpha, std::int64_t warmup_steps) {
  require(decay_steps > 0, "cosine_decay",
          "decay_steps must be > 0, got " + std::to_string(decay_steps));
  require(alpha >= 0 && alpha <= 1, "cosine_decay", "alpha must be in [0, 1], got " + str(alpha));
  require(warmup_steps >= 0, "cosine_decay",
          "warmup_steps must be >= 0, got " + std::to_string(warmup_steps));
  Schedule cosine = [decay_steps, alpha](std::int64_t step) {
    check_step(step, "cosine_decay");
    const double s = static_cast<double>(std::min(step, decay_steps));
    return alpha + (1 - alpha) * 0.5 * (1 + std::cos(kPi * s / static_cast<double>(decay_steps)));
  };
  return warmup_steps == 0 ? cosine : linear_warmup(warmup_steps, cosine, 0.0);
}

Schedule halflife_decay(double half_life, double initial, double final) {
  require(std::isfinite(half_life) && half_life > 0, "halflife_decay",
          "half_life must be finite and > 0, got " + str(half_life));
  require(std::isfinite(initial) && initial >= 0, "halflife_decay",
          "initial must be finite and >= 0, got " + str(initial));
  require(std::isfinite(final) && final >= 0, "halflife_decay",
          "final must be finite and >= 0, got " + str(final));
  return [half_life, initial, final](std::int64_t step) {
    check_step(step, "halflife_decay");
    return final + (initial - final) * std::pow(0.5, static_cast<double>(step) / half_life);
  };
}

Schedule linear_warmup(std::int64_t warmup_steps, Schedule after, double start) {
  require(warmup_steps > 0, "linear_warmup",
          "warmup_steps must be > 0, got " + std::to_string(warmup_steps));
  require(static_cast<bool>(after), "linear_warmup", "the schedule after the warm-up is empty");
  require(std::isfinite(start) && start >= 0, "linear_warmup",
          "start must be finite and >= 0, got " + str(start));
  return [warmup_steps, after = std::move(after), start](std::int64_t step) {
    check_step(step, "linear_warmup");
    if (step >= warmup_steps) return after(step - warmup_steps);
    const double target = after(0);
    return start + (target - start) * static_cast<double>(step) / static_cast<double>(warmup_steps);
  };
}

}  // namespace tapir::optim
