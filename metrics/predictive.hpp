// Summaries of a Monte Carlo predictive distribution: what a Bayesian network's S stochastic
// forward passes are turned into for evaluation. These act on plain Tensors (no tape): call
// them on `var.value()` under a NoGradGuard.
//
// Class-probability inputs are either
//   [S, N, K]  S sampled predictions (e.g. softmax outputs of S forward passes) — metrics first
//              average the *probabilities* over axis 0 (the MC predictive), never the logits;
//   [N, K]     an already-averaged predictive (p(y | x) per example), where a metric allows it.
// Every row must be a probability vector (entries >= 0, summing to 1 within 1e-3); passing
// logits by mistake is reported, not silently normalised — use probs_from_logits.
// Entropies are in nats. Results have the input's dtype; arithmetic is done in float64.
#pragma once
#include <cstddef>
#include <vector>

#include <tapir/core/tensor.hpp>

namespace tapir::metrics {

struct MeanStd {
  Tensor mean;
  Tensor stddev;
};

/// Mean and standard deviation over axis 0 of stacked samples [S, ...] -> two [...] tensors.
/// `ddof` = 0 gives the population std (NumPy's and tf.math.reduce_std's default); 1 the
/// unbiased-variance one. Requires S > ddof.
MeanStd mean_std(const Tensor& samples, int ddof = 0);

/// Softmax over the last axis (max-shifted, so large logits do not overflow).
Tensor probs_from_logits(const Tensor& logits);

/// Average of sampled class probabilities [S, N, K] -> [N, K].
Tensor mean_probs(const Tensor& probs);

/// Entropy -sum_k p_k log p_k over the last axis ([..., K] -> [...]), with 0 log 0 = 0.
Tensor entropy(const Tensor& probs);

/// Total uncertainty: entropy of the averaged probabilities, [S, N, K] -> [N].
Tensor predictive_entropy(const Tensor& probs);
/// Aleatoric part: mean over samples of each sample's entropy, [S, N, K] -> [N].
Tensor expected_entropy(const Tensor& probs);
/// Epistemic part (BALD): predictive_entropy - expected_entropy, [S, N, K] -> [N]. It is >= 0
/// mathematically; float rounding may leave values of order -1e-16, which are kept as computed.
Tensor mutual_information(const Tensor& probs);

/// Fraction of examples whose most probable class (first on ties) equals the label.
double accuracy(const Tensor& probs, const std::vector<int>& labels);

/// Negative log-likelihood of the labels under the MC predictive, averaged over examples:
/// -1/N sum_n log( 1/S sum_s p_s[n, y_n] ). A zero probability for a label gives +inf.
double nll(const Tensor& probs, const std::vector<int>& labels);
/// The same from logits [S, N, K] (or [N, K]), computed in log space:
/// log mean_s softmax(l_s)[y] = logsumexp_s(log_softmax(l_s)[y]) - log S, finite for any logits.
double nll_from_logits(const Tensor& logits, const std::vector<int>& labels);

/// Multi-class Brier score: 1/N sum_n sum_k (p[n,k] - onehot(y_n)_k)^2, in [0, 2].
double brier_score(const Tensor& probs, const std::vector<int>& labels);

/// One confidence bin (lower, upper] of a reliability diagram.
struct ReliabilityBin {
  double lower = 0, upper = 0;
  std::size_t count = 0;         ///< examples whose confidence falls in the bin
  double mean_confidence = 0;    ///< mean max-probability in the bin (0 when empty)
  double accuracy = 0;           ///< fraction correct in the bin (0 when empty)
};

/// Confidence = the largest averaged class probability, prediction = its class; examples are
/// put into `num_bins` equal-width bins (i/M, (i+1)/M] as in Guo et al. (2017), with a
/// confidence of exactly 0 in the first bin.
std::vector<ReliabilityBin> reliability_bins(const Tensor& probs, const std::vector<int>& labels,
                                             std::size_t num_bins = 15);

/// Expected calibration error: sum_b (n_b / N) |accuracy_b - mean_confidence_b| over
/// reliability_bins (15 by default, Guo et al. 2017).
double expected_calibration_error(const Tensor& probs, const std::vector<int>& labels,
                                  std::size_t num_bins = 15);

}  // namespace tapir::metrics
