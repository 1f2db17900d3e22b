// A training progress display for the example programs: a redrawn status line on a terminal,
// plain periodic lines otherwise (logs, CI). Header-only; examples only.
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <tapir/layers/checkpoint.hpp>

namespace examples {

/// Where a run stands: optimizer steps taken and the per-step history (for the curves); saved
/// as the user entries of a tfn::Checkpoint.
struct TrainingPosition {
  std::size_t step = 0;
  std::vector<double> loss, nll, kl;

  tapir::io::NamedTensors entries() const {
    using C = tapir::nn::Checkpoint;
    return {{"loss", C::history(loss)}, {"nll", C::history(nll)}, {"kl", C::history(kl)}};
  }
  static TrainingPosition from(const tapir::nn::RestoredCheckpoint& r) {
    TrainingPosition pos;
    pos.step = static_cast<std::size_t>(r.step);
    pos.loss = r.vector("loss");
    pos.nll = r.vector("nll");
    pos.kl = r.vector("kl");
    return pos;
  }
};

class Progress {
 public:
  /// total_steps: steps in the whole run (for the ETA); every: plain-line period when not a TTY.
  Progress(std::size_t total_steps, std::size_t steps_per_epoch, std::size_t every = 50)
      : total_(total_steps), per_epoch_(steps_per_epoch), every_(every), tty_(isatty(STDOUT_FILENO)),
        start_(clock::now()) {}

  /// Reports step `step` (0-based, global) with the current metrics (name/value pairs).
  void update(std::size_t step, const std::string& metrics, std::size_t images_per_step) {
    ++done_;
    const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
    const double its = done_ / std::max(elapsed, 1e-9);
    const double eta = (total_ - step - 1) / std::max(its, 1e-9);
    const std::size_t epoch = step / per_epoch_ + 1, in_epoch = step % per_epoch_ + 1;
    char line[512];
    std::snprintf(line, sizeof line, "epoch %zu  step %zu/%zu  %s  %.1f it/s  %.0f img/s  ETA %s", epoch, in_epoch,
                  per_epoch_, metrics.c_str(), its, its * images_per_step, format_seconds(eta).c_str());
    if (tty_) {
      const std::size_t width = 60, filled = total_ ? width * (step + 1) / total_ : width;
      std::string bar(filled, '#');
      bar.resize(width, '.');
      std::printf("\r\033[K[%s] %s", bar.c_str(), line);
      if (step + 1 == total_) std::printf("\n");
      std::fflush(stdout);
    } else if ((step + 1) % every_ == 0 || step + 1 == total_ || done_ == 1) {
      std::printf("%s\n", line);
      std::fflush(stdout);
    }
  }

  /// A message that must not be overwritten by the status line.
  void message(const std::string& text) {
    if (tty_) std::printf("\r\033[K");
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }

  double elapsed_seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

  static std::string format_seconds(double s) {
    if (!(s >= 0) || s > 1e7) return "--:--";
    const long t = static_cast<long>(s + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
    return buf;
  }

 private:
  using clock = std::chrono::steady_clock;
  std::size_t total_, per_epoch_, every_, done_ = 0;
  bool tty_;
  clock::time_point start_;
};

}  // namespace examples
