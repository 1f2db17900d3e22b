#include <tapir/distributions/joint.hpp>

#include <tapir/core/ops.hpp>

namespace tapir::distributions {

JointDistributionSequential::JointDistributionSequential(std::vector<DistributionPtr> parts, std::string name)
    : parts_(std::move(parts)), name_(std::move(name)) {
  if (parts_.empty()) throw ValueError("JointDistributionSequential '" + name_ + "': needs at least one part");
  for (std::size_t i = 0; i < parts_.size(); ++i)
    if (!parts_[i])
      throw ValueError("JointDistributionSequential '" + name_ + "': part " + std::to_string(i) + " is null");
}

const DistributionPtr& JointDistributionSequential::part(std::size_t i) const {
  if (i >= parts_.size())
    throw ValueError("JointDistributionSequential '" + name_ + "': part " + std::to_string(i) +
                     " requested, but it has " + std::to_string(parts_.size()) + " parts");
  return parts_[i];
}

void JointDistributionSequential::wrong_part_type(std::size_t i) const {
  throw TypeError("JointDistributionSequential '" + name_ + "': part " + std::to_string(i) + " is " +
                  to_string(*parts_[i]) + ", not the requested type");
}

void JointDistributionSequential::check_value(const std::vector<Var>& value, const char* method) const {
  if (value.size() != parts_.size())
    throw ValueError("JointDistributionSequential '" + name_ + "': " + method + " got " +
                     std::to_string(value.size()) + " values for " + std::to_string(parts_.size()) + " parts");
}

std::vector<Var> JointDistributionSequential::sample(const Shape& sample_shape, const RandomStream& stream) const {
  std::vector<Var> out;
  for (std::size_t i = 0; i < parts_.size(); ++i) out.push_back(parts_[i]->sample(sample_shape, stream.fold_in(i)));
  return out;
}

std::vector<Var> JointDistributionSequential::log_prob_parts(const std::vector<Var>& value) const {
  check_value(value, "log_prob_parts");
  std::vector<Var> out;
  for (std::size_t i = 0; i < parts_.size(); ++i) out.push_back(parts_[i]->log_prob(value[i]));
  return out;
}

Var JointDistributionSequential::log_prob(const std::vector<Var>& value) const {
  check_value(value, "log_prob");
  Var total = parts_[0]->log_prob(value[0]);
  for (std::size_t i = 1; i < parts_.size(); ++i) total = total + parts_[i]->log_prob(value[i]);
  return total;
}

std::vector<Var> JointDistributionSequential::mean() const {
  std::vector<Var> out;
  for (const auto& p : parts_) out.push_back(p->mean());
  return out;
}

}  // namespace tapir::distributions
