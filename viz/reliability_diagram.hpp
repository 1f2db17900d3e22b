// Reliability diagrams (PLplot): accuracy against confidence per bin, with the gap to perfect
// calibration, the number of examples per bin in a panel below, and the ECE in the title
// (Guo et al. 2017, "On Calibration of Modern Neural Networks", figure 1).
//
// The input is plain numbers, so any metrics code can feed it; tapir's MC predictive metrics
// (metrics/predictive.hpp) convert in a line:
//   bins.push_back({b.lower, b.upper, b.mean_confidence, b.accuracy, b.count});
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <tapir/viz/png.hpp>

namespace tapir::viz {

/// One confidence bin: examples whose confidence lies in (lower, upper].
struct ReliabilityBin {
  double lower = 0, upper = 0;
  double mean_confidence = 0;  ///< mean confidence of the bin's examples (ignored when count = 0)
  double accuracy = 0;         ///< fraction of them classified correctly (ignored when count = 0)
  std::size_t count = 0;
};

class ReliabilityOptions {
 public:
  ReliabilityOptions& width(int v) { width_ = v; return *this; }    ///< default 560
  int width() const { return width_; }
  ReliabilityOptions& height(int v) { height_ = v; return *this; }  ///< default 640
  int height() const { return height_; }
  /// Title; the ECE is appended ("TITLE — ECE 0.0123"). Default "Reliability diagram".
  ReliabilityOptions& title(std::string v) { title_ = std::move(v); return *this; }
  const std::string& title() const { return title_; }
  /// Shade the gap between each bar's accuracy and its mean confidence (default true).
  ReliabilityOptions& show_gap(bool v) { show_gap_ = v; return *this; }
  bool show_gap() const { return show_gap_; }

 private:
  int width_ = 560, height_ = 640;
  std::string title_ = "Reliability diagram";
  bool show_gap_ = true;
};

/// Bars of accuracy over each bin's [lower, upper] (empty bins drawn as nothing), the diagonal of
/// perfect calibration dashed, the gaps shaded red; below, the count per bin with its number.
/// ValueError for no bins, bins outside [0, 1] or with lower >= upper, a non-empty bin whose
/// accuracy or confidence is not in [0, 1], a non-finite or negative `ece`, or a size too small.
Image reliability_diagram(const std::vector<ReliabilityBin>& bins, double ece,
                          const ReliabilityOptions& options = ReliabilityOptions());

}  // namespace tapir::viz
