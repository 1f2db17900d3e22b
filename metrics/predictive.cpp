#include <tapir/metrics/predictive.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include <tapir/core/error.hpp>

namespace tapir::metrics {

namespace {

std::vector<double> as_doubles(const Tensor& t) {
  return t.dtype() == DType::float64 ? t.to_vector<double>() : t.astype(DType::float64).to_vector<double>();
}

Tensor make(const Shape& shape, const std::vector<double>& values, DType dtype) {
  Tensor t = Tensor::from_vector<double>(shape, values);
  return dtype == DType::float64 ? t : t.astype(dtype);
}

void require_defined(const Tensor& t, const char* fn, const char* arg) {
  if (!t.defined()) throw ValueError(std::string(fn) + ": '" + arg + "' is an undefined tensor");
}

// Checks that every length-K row of `p` is a probability vector; `shape` is the caller's
// tensor, for the message.
void check_rows(const std::vector<double>& p, std::size_t k, const char* fn, const Shape& shape) {
  for (std::size_t r = 0; r * k < p.size(); ++r) {
    double s = 0;
    for (std::size_t j = 0; j < k; ++j) {
      const double v = p[r * k + j];
      if (!(v >= 0.0) || !std::isfinite(v))
        throw ValueError(std::string(fn) + ": probs " + shape_str(shape) + " row " +
                         std::to_string(r) + " has entry " + std::to_string(v) +
                         "; probabilities must be finite and >= 0 (pass probabilities, not logits: see probs_from_logits)");
      s += v;
    }
    if (std::fabs(s - 1.0) > 1e-3)
      throw ValueError(std::string(fn) + ": probs " + shape_str(shape) + " row " +
                       std::to_string(r) + " sums to " + std::to_string(s) +
                       ", expected 1 (pass probabilities, not logits: see probs_from_logits)");
  }
}

// Sampled probabilities [S, N, K] as doubles, validated.
struct Samples {
  std::size_t s, n, k;
  std::vector<double> p;
};
Samples samples_of(const Tensor& probs, const char* fn) {
  require_defined(probs, fn, "probs");
  if (probs.ndim() != 3 || probs.dim(2) == 0)
    throw ShapeError(std::string(fn) + ": probs must be [S, N, K] sampled class probabilities, got " +
                     shape_str(probs.shape()));
  if (probs.dim(0) == 0) throw ShapeError(std::string(fn) + ": probs " + shape_str(probs.shape()) + " has no samples (S = 0)");
  Samples out{probs.dim(0), probs.dim(1), probs.dim(2), as_doubles(probs)};
  check_rows(out.p, out.k, fn, probs.shape());
  return out;
}

// Predictive probabilities [N, K].
struct Predictive {
  std::size_t n, k;
  std::vector<double> p;
};
// The MC predictive: probabilities averaged over the samples.
Predictive average(const Samples& s) {
  Predictive out{s.n, s.k, std::vector<double>(s.n * s.k, 0.0)};
  for (std::size_t i = 0; i < s.s; ++i)
    for (std::size_t j = 0; j < s.n * s.k; ++j) out.p[j] += s.p[i * s.n * s.k + j];
  for (double& v : out.p) v /= static_cast<double>(s.s);
  return out;
}
// From either [N, K] or [S, N, K] (averaged over S), validated.
Predictive predictive_of(const Tensor& probs, const char* fn) {
  require_defined(probs, fn, "probs");
  if (probs.ndim() == 3) return average(samples_of(probs, fn));
  if (probs.ndim() != 2 || probs.dim(1) == 0)
    throw ShapeError(std::string(fn) + ": probs must be [N, K] or [S, N, K] class probabilities, got " +
                     shape_str(probs.shape()));
  Predictive out{probs.dim(0), probs.dim(1), as_doubles(probs)};
  check_rows(out.p, out.k, fn, probs.shape());
  return out;
}

void check_labels(const std::vector<int>& labels, std::size_t n, std::size_t k, const char* fn,
                  const Shape& shape) {
  if (labels.size() != n)
    throw ShapeError(std::string(fn) + ": probs " + shape_str(shape) + " hold " + std::to_string(n) +
                     " examples but there are " + std::to_string(labels.size()) + " labels");
  for (std::size_t i = 0; i < n; ++i)
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= k)
      throw ValueError(std::string(fn) + ": label " + std::to_string(i) + " is " +
                       std::to_string(labels[i]) + ", expected 0.." + std::to_string(k - 1) +
                       " for probs " + shape_str(shape));
}

double row_entropy(const double* p, std::size_t k) {
  double h = 0;
  for (std::size_t j = 0; j < k; ++j)
    if (p[j] > 0) h -= p[j] * std::log(p[j]);
  return h;
}

std::size_t argmax(const double* p, std::size_t k) {
  return static_cast<std::size_t>(std::max_element(p, p + k) - p);
}

}  // namespace

MeanStd mean_std(const Tensor& samples, int ddof) {
  require_defined(samples, "mean_std", "samples");
  if (samples.ndim() == 0)
    throw ShapeError("mean_std: samples must be stacked along axis 0 [S, ...], got a scalar");
  const std::size_t s = samples.dim(0);
  if (ddof < 0 || static_cast<std::size_t>(ddof) >= s)
    throw ValueError("mean_std: need more samples than ddof: samples " + shape_str(samples.shape()) +
                     ", ddof=" + std::to_string(ddof));
  const std::vector<double> x = as_doubles(samples);
  const std::size_t m = s ? x.size() / s : 0;
  std::vector<double> mean(m, 0.0), var(m, 0.0);
  for (std::size_t i = 0; i < s; ++i)
    for (std::size_t j = 0; j < m; ++j) mean[j] += x[i * m + j];
  for (double& v : mean) v /= static_cast<double>(s);
  // Two passes (mean, then squared deviations): no cancellation when the spread is small
  // relative to the mean, as it often is for MC samples.
  for (std::size_t i = 0; i < s; ++i)
    for (std::size_t j = 0; j < m; ++j) {
      const double d = x[i * m + j] - mean[j];
      var[j] += d * d;
    }
  for (double& v : var) v = std::sqrt(v / static_cast<double>(s - static_cast<std::size_t>(ddof)));
  const Shape rest(samples.shape().begin() + 1, samples.shape().end());
  return {make(rest, mean, samples.dtype()), make(rest, var, samples.dtype())};
}

Tensor probs_from_logits(const Tensor& logits) {
  require_defined(logits, "probs_from_logits", "logits");
  if (logits.ndim() == 0 || logits.shape().back() == 0)
    throw ShapeError("probs_from_logits: logits need a non-empty class axis (last), got " +
                     shape_str(logits.shape()));
  const std::size_t k = logits.shape().back();
  std::vector<double> x = as_doubles(logits);
  for (std::size_t r = 0; r * k < x.size(); ++r) {
    double* row = x.data() + r * k;
    const double mx = *std::max_element(row, row + k);
    double z = 0;
    for (std::size_t j = 0; j < k; ++j) z += (row[j] = std::exp(row[j] - mx));
    for (std::size_t j = 0; j < k; ++j) row[j] /= z;
  }
  return make(logits.shape(), x, logits.dtype());
}

Tensor mean_probs(const Tensor& probs) {
  const Predictive p = average(samples_of(probs, "mean_probs"));
  return make({p.n, p.k}, p.p, probs.dtype());
}

Tensor entropy(const Tensor& probs) {
  require_defined(probs, "entropy", "probs");
  if (probs.ndim() == 0 || probs.shape().back() == 0)
    throw ShapeError("entropy: probs need a non-empty class axis (last), got " +
                     shape_str(probs.shape()));
  const std::size_t k = probs.shape().back();
  const std::vector<double> p = as_doubles(probs);
  check_rows(p, k, "entropy", probs.shape());
  std::vector<double> h(p.size() / k);
  for (std::size_t r = 0; r < h.size(); ++r) h[r] = row_entropy(p.data() + r * k, k);
  return make(Shape(probs.shape().begin(), probs.shape().end() - 1), h, probs.dtype());
}

Tensor predictive_entropy(const Tensor& probs) {
  const Samples s = samples_of(probs, "predictive_entropy");
  const Predictive p = average(s);
  std::vector<double> h(s.n);
  for (std::size_t i = 0; i < s.n; ++i) h[i] = row_entropy(p.p.data() + i * s.k, s.k);
  return make({s.n}, h, probs.dtype());
}

Tensor expected_entropy(const Tensor& probs) {
  const Samples s = samples_of(probs, "expected_entropy");
  std::vector<double> h(s.n, 0.0);
  for (std::size_t i = 0; i < s.s; ++i)
    for (std::size_t n = 0; n < s.n; ++n) h[n] += row_entropy(s.p.data() + (i * s.n + n) * s.k, s.k);
  for (double& v : h) v /= static_cast<double>(s.s);
  return make({s.n}, h, probs.dtype());
}

Tensor mutual_information(const Tensor& probs) {
  const Samples s = samples_of(probs, "mutual_information");
  const Predictive mean = average(s);
  std::vector<double> expected(s.n, 0.0), mi(s.n);
  for (std::size_t i = 0; i < s.s; ++i)
    for (std::size_t n = 0; n < s.n; ++n) expected[n] += row_entropy(s.p.data() + (i * s.n + n) * s.k, s.k);
  for (std::size_t n = 0; n < s.n; ++n)
    mi[n] = row_entropy(mean.p.data() + n * s.k, s.k) - expected[n] / static_cast<double>(s.s);
  return make({s.n}, mi, probs.dtype());
}

double accuracy(const Tensor& probs, const std::vector<int>& labels) {
  const Predictive p = predictive_of(probs, "accuracy");
  check_labels(labels, p.n, p.k, "accuracy", probs.shape());
  if (p.n == 0) throw ValueError("accuracy: no examples (probs " + shape_str(probs.shape()) + ")");
  std::size_t correct = 0;
  for (std::size_t i = 0; i < p.n; ++i)
    correct += argmax(p.p.data() + i * p.k, p.k) == static_cast<std::size_t>(labels[i]);
  return static_cast<double>(correct) / static_cast<double>(p.n);
}

double nll(const Tensor& probs, const std::vector<int>& labels) {
  const Predictive p = predictive_of(probs, "nll");
  check_labels(labels, p.n, p.k, "nll", probs.shape());
  if (p.n == 0) throw ValueError("nll: no examples (probs " + shape_str(probs.shape()) + ")");
  double total = 0;
  for (std::size_t i = 0; i < p.n; ++i) total -= std::log(p.p[i * p.k + static_cast<std::size_t>(labels[i])]);
  return total / static_cast<double>(p.n);
}

double nll_from_logits(const Tensor& logits, const std::vector<int>& labels) {
  require_defined(logits, "nll_from_logits", "logits");
  if ((logits.ndim() != 2 && logits.ndim() != 3) || logits.shape().back() == 0)
    throw ShapeError("nll_from_logits: logits must be [N, K] or [S, N, K], got " +
                     shape_str(logits.shape()));
  const bool sampled = logits.ndim() == 3;
  const std::size_t s = sampled ? logits.dim(0) : 1;
  const std::size_t n = logits.dim(sampled ? 1 : 0), k = logits.shape().back();
  if (s == 0) throw ShapeError("nll_from_logits: logits " + shape_str(logits.shape()) + " has no samples (S = 0)");
  check_labels(labels, n, k, "nll_from_logits", logits.shape());
  if (n == 0) throw ValueError("nll_from_logits: no examples (logits " + shape_str(logits.shape()) + ")");
  const std::vector<double> x = as_doubles(logits);
  for (double v : x)
    if (std::isnan(v)) throw ValueError("nll_from_logits: logits " + shape_str(logits.shape()) + " contain NaN");
  double total = 0;
  std::vector<double> lp(s);  // log p_s(y_n | x_n) for each sample
  for (std::size_t e = 0; e < n; ++e) {
    for (std::size_t i = 0; i < s; ++i) {
      const double* row = x.data() + (i * n + e) * k;
      const double mx = *std::max_element(row, row + k);
      double z = 0;
      for (std::size_t j = 0; j < k; ++j) z += std::exp(row[j] - mx);
      lp[i] = row[static_cast<std::size_t>(labels[e])] - mx - std::log(z);
    }
    const double m = *std::max_element(lp.begin(), lp.end());
    double acc = 0;
    for (double v : lp) acc += std::exp(v - m);
    total -= m + std::log(acc) - std::log(static_cast<double>(s));
  }
  return total / static_cast<double>(n);
}

double brier_score(const Tensor& probs, const std::vector<int>& labels) {
  const Predictive p = predictive_of(probs, "brier_score");
  check_labels(labels, p.n, p.k, "brier_score", probs.shape());
  if (p.n == 0) throw ValueError("brier_score: no examples (probs " + shape_str(probs.shape()) + ")");
  double total = 0;
  for (std::size_t i = 0; i < p.n; ++i)
    for (std::size_t j = 0; j < p.k; ++j) {
      const double d = p.p[i * p.k + j] - (j == static_cast<std::size_t>(labels[i]) ? 1.0 : 0.0);
      total += d * d;
    }
  return total / static_cast<double>(p.n);
}

std::vector<ReliabilityBin> reliability_bins(const Tensor& probs, const std::vector<int>& labels,
                                             std::size_t num_bins) {
  if (num_bins == 0) throw ValueError("reliability_bins: num_bins must be > 0, got 0");
  const Predictive p = predictive_of(probs, "reliability_bins");
  check_labels(labels, p.n, p.k, "reliability_bins", probs.shape());
  const double m = static_cast<double>(num_bins);
  std::vector<ReliabilityBin> bins(num_bins);
  for (std::size_t b = 0; b < num_bins; ++b) {
    bins[b].lower = static_cast<double>(b) / m;
    bins[b].upper = static_cast<double>(b + 1) / m;
  }
  std::vector<double> conf_sum(num_bins, 0.0);
  std::vector<std::size_t> correct(num_bins, 0);
  for (std::size_t i = 0; i < p.n; ++i) {
    const double* row = p.p.data() + i * p.k;
    const std::size_t pred = argmax(row, p.k);
    const double conf = row[pred];
    // Bin b holds (b/M, (b+1)/M]; start from the arithmetic guess and settle against the exact
    // boundaries so a confidence equal to a boundary lands in the lower bin, as with
    // NumPy-based reference implementations.
    std::size_t b = conf <= 0 ? 0 : static_cast<std::size_t>(std::max(0.0, std::ceil(conf * m) - 1));
    b = std::min(b, num_bins - 1);
    while (b > 0 && conf <= bins[b].lower) --b;
    while (b + 1 < num_bins && conf > bins[b].upper) ++b;
    ++bins[b].count;
    conf_sum[b] += conf;
    correct[b] += pred == static_cast<std::size_t>(labels[i]);
  }
  for (std::size_t b = 0; b < num_bins; ++b)
    if (bins[b].count) {
      bins[b].mean_confidence = conf_sum[b] / static_cast<double>(bins[b].count);
      bins[b].accuracy = static_cast<double>(correct[b]) / static_cast<double>(bins[b].count);
    }
  return bins;
}

double expected_calibration_error(const Tensor& probs, const std::vector<int>& labels,
                                  std::size_t num_bins) {
  const std::vector<ReliabilityBin> bins = reliability_bins(probs, labels, num_bins);
  std::size_t n = 0;
  for (const auto& b : bins) n += b.count;
  if (n == 0) throw ValueError("expected_calibration_error: no examples (probs " + shape_str(probs.shape()) + ")");
  double ece = 0;
  for (const auto& b : bins)
    ece += static_cast<double>(b.count) / static_cast<double>(n) * std::fabs(b.accuracy - b.mean_confidence);
  return ece;
}

}  // namespace tapir::metrics
