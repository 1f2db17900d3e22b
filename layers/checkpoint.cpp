#include <tapir/layers/checkpoint.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <unistd.h>

#include <tapir/optim/state.hpp>

namespace tapir::nn {

namespace fs = std::filesystem;

namespace {

constexpr double kFormat = 1;
const char kPrefix[] = "ckpt-";
const char kSuffix[] = ".npz";
constexpr std::size_t kStepDigits = 20;  // zero-padded: names sort like steps

// A 64-bit count as float64 [hi, lo] (each half exact in a double).
Tensor u64_entry(std::uint64_t v) {
  return Tensor::from_vector<double>({2}, {static_cast<double>(v >> 32), static_cast<double>(v & 0xffffffffu)});
}

bool is_checkpoint_name(const std::string& name) {
  const std::size_t p = sizeof kPrefix - 1, s = sizeof kSuffix - 1;
  if (name.size() != p + kStepDigits + s || name.compare(0, p, kPrefix) != 0 ||
      name.compare(p + kStepDigits, s, kSuffix) != 0)
    return false;
  return std::all_of(name.begin() + static_cast<long>(p), name.begin() + static_cast<long>(p + kStepDigits),
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::string file_name(std::uint64_t step) {
  std::string digits = std::to_string(step);
  return kPrefix + std::string(kStepDigits - digits.size(), '0') + digits + kSuffix;
}

// Entries of one checkpoint file by key, each to be claimed once; leftovers are reported.
class Contents {
 public:
  Contents(io::NamedTensors arrays, std::string path) : path_(std::move(path)) {
    for (auto& [key, t] : arrays)
      if (!map_.emplace(key, std::move(t)).second) fail("holds the entry '" + key + "' twice");
  }
  const Tensor* find(const std::string& key) {
    const auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    used_.insert(key);
    return &it->second;
  }
  const Tensor& get(const std::string& key, const std::string& what) {
    const Tensor* t = find(key);
    if (!t) fail("lacks " + what + " (entry '" + key + "'): it was written for another model or optimizer");
    return *t;
  }
  std::uint64_t get_u64(const std::string& key, const std::string& what) {
    const Tensor& t = get(key, what);
    if (t.shape() != Shape{2} || t.dtype() != DType::float64) fail("entry '" + key + "' is not a [hi, lo] count");
    const double hi = t.at(0), lo = t.at(1);
    for (double h : {hi, lo})
      if (!(h >= 0 && h < 4294967296.0 && std::floor(h) == h)) fail("entry '" + key + "' is not a whole 32-bit half");
    return (static_cast<std::uint64_t>(hi) << 32) | static_cast<std::uint64_t>(lo);
  }
  /// Entries under `prefix` (prefix stripped), claimed.
  io::NamedTensors take_prefix(const std::string& prefix) {
    io::NamedTensors out;
    for (auto it = map_.lower_bound(prefix); it != map_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      used_.insert(it->first);
      out.emplace_back(it->first.substr(prefix.size()), it->second);
    }
    return out;
  }
  void check_all_used() const {
    for (const auto& kv : map_)
      if (!used_.count(kv.first))
        fail("holds '" + kv.first + "', which nothing tracked by this Checkpoint has: it was written for another model");
  }
  [[noreturn]] void fail(const std::string& what) const { throw IOError("checkpoint '" + path_ + "' " + what); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, Tensor> map_;
  std::set<std::string> used_;
};

// Shape and dtype of a saved value against the live one.
void check_like(const Contents& c, const std::string& what, const Tensor& saved, const Var& live) {
  if (saved.shape() != live.shape())
    throw ShapeError("checkpoint '" + c.path() + "': " + what + " has shape " + shape_str(live.shape()) +
                     " but the checkpoint holds " + shape_str(saved.shape()));
  if (saved.dtype() != live.dtype())
    throw TypeError("checkpoint '" + c.path() + "': " + what + " is " + dtype_name(live.dtype()) +
                    " but the checkpoint holds " + dtype_name(saved.dtype()));
}

}  // namespace

const Tensor& RestoredCheckpoint::get(const std::string& key) const {
  for (const auto& [k, t] : user)
    if (k == key) return t;
  throw IOError("checkpoint '" + path + "' has no user entry '" + key + "'");
}

std::vector<double> RestoredCheckpoint::vector(const std::string& key) const {
  return get(key).to_vector<double>();
}

Checkpoint::Checkpoint(std::string dir, const CheckpointOptions& options) : dir_(std::move(dir)), options_(options) {
  if (dir_.empty()) throw ValueError("Checkpoint: dir must not be empty");
  if (options_.keep_last() < 1)
    throw ValueError("Checkpoint '" + dir_ + "': keep_last must be >= 1, got " + std::to_string(options_.keep_last()));
}

Checkpoint& Checkpoint::track(Layer& model) {
  models_.push_back(&model);
  return *this;
}

Checkpoint& Checkpoint::track(optim::Optimizer& optimizer) {
  if (optimizer_ && optimizer_ != &optimizer)
    throw ValueError("Checkpoint '" + dir_ + "': an optimizer (" + optimizer_->kind() + ") is already tracked");
  optimizer_ = &optimizer;
  return *this;
}

Checkpoint& Checkpoint::track(const std::string& key, Var variable) {
  if (key.empty()) throw ValueError("Checkpoint '" + dir_ + "': track: key must not be empty");
  if (!variable.defined()) throw ValueError("Checkpoint '" + dir_ + "': track '" + key + "': undefined Var");
  if (!variable.is_leaf()) throw ValueError("Checkpoint '" + dir_ + "': track '" + key + "': not a leaf Var");
  for (const auto& kv : vars_)
    if (kv.first == key) throw ValueError("Checkpoint '" + dir_ + "': track: key '" + key + "' is already tracked");
  vars_.emplace_back(key, std::move(variable));
  return *this;
}

Tensor Checkpoint::history(const std::vector<double>& values) {
  return Tensor::from_vector<double>({values.size()}, values);
}

std::vector<Layer*> Checkpoint::drawing_layers(Layer& model) {
  std::vector<Layer*> out;
  auto add = [&](Layer* l) {
    if (l->random_stream()) out.push_back(l);
  };
  add(&model);
  for (const auto& m : model.submodules()) add(m.get());
  return out;
}

std::string Checkpoint::save(std::uint64_t step, const io::NamedTensors& user) const {
  io::NamedTensors arrays;
  arrays.emplace_back("checkpoint/format", Tensor::scalar(kFormat, DType::float64));
  arrays.emplace_back("checkpoint/step", u64_entry(step));
  std::set<std::string> keys;
  const auto add = [&](std::string key, const Tensor& t) {
    if (!keys.insert(key).second)
      throw ValueError("Checkpoint '" + dir_ + "': save: two entries are both named '" + key +
                       "' (give the layers distinct names)");
    arrays.emplace_back(std::move(key), t);
  };
  for (Layer* m : models_) {
    for (const Var& v : m->variables()) {
      if (v.name().empty()) throw ValueError("Checkpoint '" + dir_ + "': save: a variable of " + m->name() + " has no name");
      add("model/" + v.name(), v.value());
    }
    for (Layer* l : drawing_layers(*m)) add("draws/" + l->name(), u64_entry(l->random_stream()->counter()));
  }
  if (optimizer_)
    for (auto& [key, t] : optim::state_dict(*optimizer_)) add("optimizer/" + key, t);
  for (const auto& [key, v] : vars_) add("var/" + key, v.value());
  for (const auto& [key, t] : user) {
    if (key.empty()) throw ValueError("Checkpoint '" + dir_ + "': save: a user entry has an empty name");
    add("user/" + key, t);
  }

  fs::create_directories(dir_);
  const std::string path = (fs::path(dir_) / file_name(step)).string();
  io::save_npz(path, arrays);  // temp file, fsync, rename, fsync of the folder: one commit

  // Keep the newest keep_last; remove leftovers of writers killed mid-save (never ours: save_npz
  // has renamed or removed its temporary by now).
  std::vector<std::string> all = list();
  for (std::size_t i = 0; i + options_.keep_last() < all.size(); ++i) fs::remove(all[i]);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.compare(0, sizeof kPrefix - 1, kPrefix) == 0 && name.find(".tmp.") != std::string::npos)
      fs::remove(e.path(), ec);
  }
  return path;
}

std::vector<std::string> Checkpoint::list() const {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (is_checkpoint_name(e.path().filename().string())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

RestoredCheckpoint Checkpoint::restore() const {
  const std::vector<std::string> all = list();
  if (all.empty()) throw IOError("Checkpoint: no checkpoint in '" + dir_ + "'");
  return restore_file(all.back());
}

RestoredCheckpoint Checkpoint::restore_file(const std::string& path) const {
  Contents c(io::load_npz(path), path);
  const Tensor& format = c.get("checkpoint/format", "the format version");
  if (format.size() != 1 || format.item() != kFormat)
    c.fail("has format " + (format.size() == 1 ? std::to_string(format.item()) : shape_str(format.shape())) +
           "; this tapir reads format 1");
  RestoredCheckpoint r;
  r.path = path;
  r.step = c.get_u64("checkpoint/step", "the step");

  // Validate everything first; collect what to write.
  std::vector<std::pair<Var, Tensor>> values;
  std::vector<std::pair<Layer*, std::uint64_t>> draws;
  for (Layer* m : models_) {
    for (const Var& v : m->variables()) {
      const Tensor& t = c.get("model/" + v.name(), "the variable '" + v.name() + "' of " + m->class_name() + " '" + m->name() + "'");
      check_like(c, "variable '" + v.name() + "'", t, v);
      values.emplace_back(v, t);
    }
    for (Layer* l : drawing_layers(*m))
      draws.emplace_back(l, c.get_u64("draws/" + l->name(), "the draw counter of layer '" + l->name() + "'"));
  }
  for (const auto& [key, v] : vars_) {
    const Tensor& t = c.get("var/" + key, "the tracked Var '" + key + "'");
    check_like(c, "tracked Var '" + key + "'", t, v);
    values.emplace_back(v, t);
  }
  const io::NamedTensors opt_state = c.take_prefix("optimizer/");
  if (optimizer_ && opt_state.empty()) c.fail("holds no optimizer state, but a " + std::string(optimizer_->kind()) + " is tracked");
  if (!optimizer_ && !opt_state.empty()) c.fail("holds optimizer state, but no optimizer is tracked");
  r.user = c.take_prefix("user/");
  c.check_all_used();

  // The optimizer validates all of its state before changing any (and throws ValueError naming
  // the difference); only after it succeeded is anything else written.
  if (optimizer_) {
    try {
      optim::load_state_dict(*optimizer_, opt_state);
    } catch (const ValueError& e) {
      throw ValueError("checkpoint '" + path + "': " + e.what());
    }
  }
  for (auto& [v, t] : values) Var(v).set_value(t);
  for (auto& [l, n] : draws) l->random_stream()->set_counter(n);
  return r;
}

}  // namespace tapir::nn
