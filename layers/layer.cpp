#include <tapir/layers/layer.hpp>

#include <iomanip>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <unordered_set>

#include <tapir/core/npz.hpp>

namespace tapir::nn {

namespace {
std::mutex& name_mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, int>& name_counts() {
  static std::map<std::string, int> counts;
  return counts;
}
}  // namespace

std::string Layer::default_name(const std::string& class_name) {
  std::lock_guard<std::mutex> lock(name_mutex());
  const int n = name_counts()[class_name]++;
  return n == 0 ? class_name : class_name + "_" + std::to_string(n);
}

Layer::Layer(const std::string& class_name, const std::string& name, bool validate_args)
    : class_name_(class_name), name_(name.empty() ? default_name(class_name) : name),
      validate_args_(validate_args) {}

void Layer::train(bool training) {
  training_ = training;
  for (const auto& m : submodules()) m->training_ = training;
}

const Var& Layer::add_variable(const Var& v) {
  if (!v.defined()) throw ValueError(who() + ": cannot register an undefined variable");
  own_variables_.push_back(v);
  return own_variables_.back();
}

void Layer::add_child(std::shared_ptr<Layer> child) {
  if (!child) throw ValueError(who() + ": cannot register a null sub-layer");
  children_.push_back(std::move(child));
}

std::vector<std::shared_ptr<Layer>> Layer::submodules() const {
  std::vector<std::shared_ptr<Layer>> out;
  std::unordered_set<const Layer*> seen;
  std::function<void(const Layer&)> walk = [&](const Layer& l) {
    for (const auto& c : l.children_) {
      if (!seen.insert(c.get()).second) continue;
      out.push_back(c);
      walk(*c);
    }
  };
  walk(*this);
  return out;
}

std::vector<Var> Layer::variables() const {
  std::vector<Var> out;
  std::unordered_set<const VarImpl*> seen;
  auto take = [&](const Layer& l) {
    for (const auto& v : l.own_variables_)
      if (seen.insert(v.impl()).second) out.push_back(v);
  };
  take(*this);
  for (const auto& m : submodules()) take(*m);
  return out;
}

std::vector<Var> Layer::trainable_variables() const {
  std::vector<Var> out;
  for (const auto& v : variables())
    if (v.requires_grad()) out.push_back(v);
  return out;
}

std::vector<Var> Layer::non_trainable_variables() const {
  std::vector<Var> out;
  for (const auto& v : variables())
    if (!v.requires_grad()) out.push_back(v);
  return out;
}

std::vector<Var> Layer::losses() const {
  std::vector<Var> out = own_losses_;
  for (const auto& m : submodules()) out.insert(out.end(), m->own_losses_.begin(), m->own_losses_.end());
  return out;
}

std::string Layer::summary() const {
  const auto vars = variables();
  std::size_t w_name = 8, w_shape = 5;
  for (const auto& v : vars) {
    w_name = std::max(w_name, v.name().size());
    w_shape = std::max(w_shape, shape_str(v.shape()).size());
  }
  std::ostringstream os;
  os << class_name_ << " '" << name_ << "'\n";
  os << std::left << std::setw(static_cast<int>(w_name) + 2) << "variable" << std::setw(static_cast<int>(w_shape) + 2)
     << "shape" << std::setw(9) << "dtype" << std::right << std::setw(12) << "count"
     << "  trainable\n";
  std::size_t total = 0, trainable = 0;
  for (const auto& v : vars) {
    os << std::left << std::setw(static_cast<int>(w_name) + 2) << v.name() << std::setw(static_cast<int>(w_shape) + 2)
       << shape_str(v.shape()) << std::setw(9) << dtype_name(v.dtype()) << std::right << std::setw(12) << v.size()
       << "  " << (v.requires_grad() ? "yes" : "no") << "\n";
    total += v.size();
    if (v.requires_grad()) trainable += v.size();
  }
  os << "Total: " << vars.size() << " variables, " << total << " parameters (trainable " << trainable
     << ", non-trainable " << (total - trainable) << ")\n";
  return os.str();
}

void Layer::save(const std::string& path) const {
  io::NamedTensors arrays;
  std::set<std::string> names;
  for (const auto& v : variables()) {
    if (v.name().empty()) throw ValueError(who() + ": save: a variable has no name");
    if (!names.insert(v.name()).second)
      throw ValueError(who() + ": save: two variables are both named '" + v.name() +
                       "' (give the layers distinct names)");
    arrays.emplace_back(v.name(), v.value());
  }
  io::save_npz(path, arrays);
}

void Layer::load(const std::string& path) {
  const auto vars = variables();
  io::NamedTensors arrays = io::load_npz(path);  // throws IOError on unreadable/corrupt files
  std::map<std::string, Tensor> by_name;
  for (auto& [name, t] : arrays)
    if (!by_name.emplace(name, t).second)
      throw IOError(who() + ": load '" + path + "': name '" + name + "' appears twice");
  // Validate everything before touching any variable, so that a failure changes nothing.
  std::set<std::string> expected;
  for (const auto& v : vars) {
    expected.insert(v.name());
    const auto it = by_name.find(v.name());
    if (it == by_name.end())
      throw IOError(who() + ": load '" + path + "': variable '" + v.name() + "' is missing from the file");
    if (it->second.shape() != v.shape())
      throw ShapeError(who() + ": load '" + path + "': variable '" + v.name() + "' has shape " + shape_str(v.shape()) +
                       " but the file holds " + shape_str(it->second.shape()));
    if (it->second.dtype() != v.dtype())
      throw TypeError(who() + ": load '" + path + "': variable '" + v.name() + "' is " + dtype_name(v.dtype()) +
                      " but the file holds " + dtype_name(it->second.dtype()));
  }
  for (const auto& [name, t] : by_name)
    if (!expected.count(name))
      throw IOError(who() + ": load '" + path + "': the file holds '" + name + "', which is not a variable of this layer");
  for (auto v : vars) v.set_value(by_name.at(v.name()));
}

}  // namespace tapir::nn
