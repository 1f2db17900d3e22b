#include "../testing.hpp"

#include <cmath>

using namespace tapir;
namespace pred = tapir::metrics;
using doctest::Approx;

namespace {
// Two MC samples of two examples over two classes:
//   sample 0: [0.9, 0.1], [0.5, 0.5]     sample 1: [0.7, 0.3], [0.5, 0.5]
// so the MC predictive is [0.8, 0.2], [0.5, 0.5].
Tensor two_samples(DType dtype = DType::float64) {
  return Tensor::from_vector<double>({2, 2, 2}, {0.9, 0.1, 0.5, 0.5, 0.7, 0.3, 0.5, 0.5}).astype(dtype);
}
// Averaged predictive of four examples over three classes, labels {0, 2, 0, 2}:
//   conf 0.9 correct, 0.7 wrong (predicts 1), 0.5 correct, 0.65 correct.
Tensor four_examples() {
  return Tensor::from_vector<double>({4, 3}, {0.9, 0.05, 0.05, 0.1, 0.7, 0.2, 0.5, 0.25, 0.25,
                                              0.2, 0.15, 0.65});
}
const std::vector<int> kFourLabels = {0, 2, 0, 2};
}  // namespace

TEST_SUITE("metrics/predictive") {

TEST_CASE("mean_std over the sample axis") {
  const Tensor s = Tensor::from_vector<double>({3, 2}, {1, 2, 3, 2, 5, 2});
  const pred::MeanStd m = pred::mean_std(s);
  CHECK(m.mean.shape() == Shape{2});
  CHECK(m.mean.at(0) == Approx(3.0));
  CHECK(m.mean.at(1) == Approx(2.0));
  CHECK(m.stddev.at(0) == Approx(std::sqrt(8.0 / 3.0)));  // deviations -2, 0, 2; divide by S
  CHECK(m.stddev.at(1) == 0.0);
  CHECK(pred::mean_std(s, 1).stddev.at(0) == Approx(2.0));   // divide by S - 1
  const pred::MeanStd f = pred::mean_std(s.astype(DType::float32).reshape({3, 1, 2}));
  CHECK(f.mean.dtype() == DType::float32);
  CHECK(f.mean.shape() == Shape{1, 2});
  CHECK_THROWS_WITH_AS(pred::mean_std(s, 3), doctest::Contains("ddof=3"), ValueError);
  CHECK_THROWS_AS(pred::mean_std(Tensor::scalar(1.0, DType::float64)), ShapeError);
}

TEST_CASE("probs_from_logits is a stable softmax over the last axis") {
  const Tensor p = pred::probs_from_logits(Tensor::from_vector<double>({2, 2}, {0, std::log(3.0), 1000, 0}));
  CHECK(p.at(0) == Approx(0.25));
  CHECK(p.at(1) == Approx(0.75));
  CHECK(p.at(2) == 1.0);
  CHECK(p.at(3) == 0.0);
}

TEST_CASE("mean_probs, entropies and mutual information by hand") {
  const Tensor probs = two_samples();
  const Tensor m = pred::mean_probs(probs);
  CHECK(m.shape() == Shape{2, 2});
  CHECK(m.at(0) == Approx(0.8));
  CHECK(m.at(1) == Approx(0.2));
  CHECK(m.at(2) == Approx(0.5));

  // H(0.8, 0.2) = 0.8 ln 1.25 + 0.2 ln 5 = 0.500402; H(0.5, 0.5) = ln 2
  const Tensor h = pred::predictive_entropy(probs);
  CHECK(h.shape() == Shape{2});
  CHECK(h.at(0) == Approx(0.500402423538188));
  CHECK(h.at(1) == Approx(0.693147180559945));
  // mean of H(0.9, 0.1) = 0.325083 and H(0.7, 0.3) = 0.610864
  const Tensor e = pred::expected_entropy(probs);
  CHECK(e.at(0) == Approx((0.325082973391448 + 0.610864302054894) / 2));
  CHECK(e.at(1) == Approx(0.693147180559945));
  const Tensor mi = pred::mutual_information(probs);
  CHECK(mi.at(0) == Approx(0.500402423538188 - 0.467973637723171));
  CHECK(std::fabs(mi.at(1)) < 1e-15);
  // identical samples carry no epistemic uncertainty
  const Tensor same = Tensor::from_vector<double>({3, 1, 2}, {0.6, 0.4, 0.6, 0.4, 0.6, 0.4});
  CHECK(std::fabs(pred::mutual_information(same).at(0)) < 1e-15);
  // float32 in, float32 out
  CHECK(pred::predictive_entropy(two_samples(DType::float32)).dtype() == DType::float32);
  // entropy of any [..., K]; 0 log 0 = 0
  const Tensor h1 = pred::entropy(Tensor::from_vector<double>({2, 2}, {1, 0, 0.5, 0.5}));
  CHECK(h1.at(0) == 0.0);
  CHECK(h1.at(1) == Approx(std::log(2.0)));
}

TEST_CASE("accuracy and NLL average probabilities, not logits") {
  const std::vector<int> labels = {0, 1};
  // example 1 is a tie: the first class wins, which is wrong here
  CHECK(pred::accuracy(two_samples(), labels) == 0.5);
  // -(ln 0.8 + ln 0.5) / 2
  CHECK(pred::nll(two_samples(), labels) == Approx(0.458145365937077));
  // the same predictive given already averaged
  CHECK(pred::nll(pred::mean_probs(two_samples()), labels) == Approx(0.458145365937077));
  // from logits: log-probabilities as logits reproduce the probabilities
  Tensor logits = two_samples();
  double* l = logits.data<double>();
  for (std::size_t i = 0; i < logits.size(); ++i) l[i] = std::log(l[i]) + 3.0;  // softmax ignores shifts
  CHECK(pred::nll_from_logits(logits, labels) == Approx(0.458145365937077));
  // confident, disagreeing samples: the predictive is 0.5/0.5, NLL ln 2, finite despite
  // probabilities of e^-1000 in each sample
  const Tensor extreme = Tensor::from_vector<double>({2, 1, 2}, {1000, 0, 0, 1000});
  CHECK(pred::nll_from_logits(extreme, {0}) == Approx(std::log(2.0)));
  CHECK(pred::nll_from_logits(Tensor::from_vector<double>({1, 2}, {0, 0}), {1}) == Approx(std::log(2.0)));
  // zero probability for the label: +inf, not clamped
  CHECK(std::isinf(pred::nll(Tensor::from_vector<double>({1, 2}, {1, 0}), {1})));
}

TEST_CASE("Brier score by hand") {
  // [0.8, 0.2] label 0: 0.04 + 0.04; [0.5, 0.5] label 1: 0.25 + 0.25 -> mean 0.29
  CHECK(pred::brier_score(two_samples(), {0, 1}) == Approx(0.29));
  // 0.015, 1.14, 0.375, 0.185 -> mean 0.42875
  CHECK(pred::brier_score(four_examples(), kFourLabels) == Approx(0.42875));
  CHECK(pred::brier_score(Tensor::from_vector<double>({1, 2}, {0, 1}), {0}) == Approx(2.0));
}

TEST_CASE("reliability bins and ECE by hand") {
  // 5 bins: 0.5 -> (0.4, 0.6]; 0.7 and 0.65 -> (0.6, 0.8]; 0.9 -> (0.8, 1]
  const auto bins = pred::reliability_bins(four_examples(), kFourLabels, 5);
  REQUIRE(bins.size() == 5);
  CHECK(bins[0].count == 0);
  CHECK(bins[1].count == 0);
  CHECK(bins[2].count == 1);
  CHECK(bins[2].lower == Approx(0.4));
  CHECK(bins[2].upper == Approx(0.6));
  CHECK(bins[2].mean_confidence == Approx(0.5));
  CHECK(bins[2].accuracy == 1.0);
  CHECK(bins[3].count == 2);
  CHECK(bins[3].mean_confidence == Approx(0.675));
  CHECK(bins[3].accuracy == 0.5);
  CHECK(bins[4].count == 1);
  CHECK(bins[4].mean_confidence == Approx(0.9));
  CHECK(bins[4].accuracy == 1.0);
  // 1/4 |1 - 0.5| + 2/4 |0.5 - 0.675| + 1/4 |1 - 0.9|
  CHECK(pred::expected_calibration_error(four_examples(), kFourLabels, 5) == Approx(0.2375));
  // 15 bins (the default) put each example alone: (0.1 + 0.7 + 0.5 + 0.35) / 4
  CHECK(pred::reliability_bins(four_examples(), kFourLabels).size() == 15);
  CHECK(pred::expected_calibration_error(four_examples(), kFourLabels) == Approx(0.4125));
  // S samples are averaged first: the two-sample predictive has conf 0.8 (correct) and 0.5 (wrong)
  CHECK(pred::expected_calibration_error(two_samples(), {0, 1}, 10) == Approx((0.2 + 0.5) / 2));
}

TEST_CASE("bin edges: a confidence on a boundary belongs to the lower bin (b/M, (b+1)/M]") {
  const Tensor p = Tensor::from_vector<double>({3, 2}, {0.8, 0.2, 1.0, 0.0, 0.5, 0.5});
  const auto bins = pred::reliability_bins(p, {0, 0, 0}, 5);
  CHECK(bins[1].count == 0);  // (0.2, 0.4]
  CHECK(bins[2].count == 1);  // 0.5
  CHECK(bins[3].count == 1);  // 0.8 exactly
  CHECK(bins[4].count == 1);  // 1.0
  const auto two = pred::reliability_bins(p, {0, 0, 0}, 2);
  CHECK(two[0].count == 1);   // 0.5 exactly -> (0, 0.5]
  CHECK(two[1].count == 2);
  // a perfectly calibrated bin: conf 0.5 and half right
  const Tensor half = Tensor::from_vector<double>({2, 2}, {0.5, 0.5, 0.5, 0.5});
  CHECK(pred::expected_calibration_error(half, {0, 1}) == Approx(0.0));
}

TEST_CASE("errors name the argument, the expectation and the shapes") {
  const Tensor p = four_examples();
  CHECK_THROWS_WITH_AS(pred::brier_score(p, {0, 1}),
                       doctest::Contains("probs [4,3] hold 4 examples but there are 2 labels"), ShapeError);
  CHECK_THROWS_WITH_AS(pred::nll(p, {0, 1, 3, 0}), doctest::Contains("label 2 is 3, expected 0..2"),
                       ValueError);
  const Tensor logits = Tensor::from_vector<double>({1, 2}, {2.0, -1.0});
  CHECK_THROWS_WITH_AS(pred::expected_calibration_error(logits, {0}), doctest::Contains("not logits"),
                       ValueError);
  CHECK_THROWS_WITH_AS(pred::accuracy(Tensor::from_vector<double>({1, 2}, {1.5, -0.5}), {0}),
                       doctest::Contains("entry -0.5"), ValueError);
  CHECK_THROWS_WITH_AS(pred::predictive_entropy(p), doctest::Contains("[S, N, K]"), ShapeError);
  CHECK_THROWS_WITH_AS(pred::accuracy(Tensor::zeros({2}, DType::float64), {0, 0}),
                       doctest::Contains("got [2]"), ShapeError);
  CHECK_THROWS_AS(pred::reliability_bins(p, kFourLabels, 0), ValueError);
  CHECK_THROWS_AS(pred::nll(Tensor::zeros({0, 3}, DType::float64), {}), ValueError);
}

}
