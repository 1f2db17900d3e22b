// JointDistributionSequential — a fixed list of independent parts, like TFP's
// JointDistributionSequential when no part depends on another: the kernel/bias posterior and
// prior of a layer. A value is one Var per part. (Parts that are functions of earlier parts are
// not supported.)
//   auto q = std::make_shared<tfd::JointDistributionSequential>(std::vector<tfd::DistributionPtr>{
//       kernel_posterior, bias_posterior});
//   std::vector<Var> theta = q->sample({}, seeds.next());     // {kernel, bias}
//   Var log_q = q->log_prob(theta);                           // Σ of the parts' log_prob
//   auto kernel = tfd::peel_independent(q->part(0));          // the Normal: loc(), scale()
#pragma once
#include <memory>
#include <vector>

#include <tapir/distributions/distribution.hpp>

namespace tapir::distributions {

class JointDistributionSequential {
 public:
  explicit JointDistributionSequential(std::vector<DistributionPtr> parts,
                                       std::string name = "JointDistributionSequential");

  const std::string& name() const { return name_; }
  std::size_t size() const { return parts_.size(); }
  const std::vector<DistributionPtr>& parts() const { return parts_; }
  /// Part i; ValueError if i is out of range.
  const DistributionPtr& part(std::size_t i) const;
  /// Part i as a D (e.g. Independent); TypeError naming the actual type if it is not one.
  template <class D> std::shared_ptr<D> part_as(std::size_t i) const {
    auto p = std::dynamic_pointer_cast<D>(part(i));
    if (!p) wrong_part_type(i);
    return p;
  }

  /// One draw per part; part i uses stream.fold_in(i), so parts are independent of each other.
  std::vector<Var> sample(const Shape& sample_shape, const RandomStream& stream) const;
  /// Σ_i part(i).log_prob(value[i]) (broadcast over the parts' batch shapes).
  Var log_prob(const std::vector<Var>& value) const;
  std::vector<Var> log_prob_parts(const std::vector<Var>& value) const;
  std::vector<Var> mean() const;

 private:
  [[noreturn]] void wrong_part_type(std::size_t i) const;
  void check_value(const std::vector<Var>& value, const char* method) const;
  std::vector<DistributionPtr> parts_;
  std::string name_;
};

using JointDistributionPtr = std::shared_ptr<JointDistributionSequential>;

}  // namespace tapir::distributions
