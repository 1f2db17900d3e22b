#include <tapir/optim/state.hpp>

#include <cmath>
#include <map>
#include <set>

#include "validate.hpp"

namespace tapir::optim {

namespace detail {

// The friend of Optimizer that reads and writes its private state.
struct StateIO {
  static io::NamedTensors save(const Optimizer& opt);
  static void load(Optimizer& opt, const io::NamedTensors& state, const std::string& source);
};

namespace {

constexpr double kFormatVersion = 1;

Tensor scalar(double v) { return Tensor::scalar(v, DType::float64); }

std::string param_prefix(std::size_t k, const Var& p) {
  return "param/" + std::to_string(k) + "/" + p.name() + "/";
}

// Reads entries by key and remembers which were used, so leftovers can be reported.
class Entries {
 public:
  Entries(const io::NamedTensors& state, std::string source) : source_(std::move(source)) {
    for (const auto& [key, t] : state)
      if (!map_.emplace(key, t).second) fail("holds the entry '" + key + "' twice");
  }
  bool has(const std::string& key) const { return map_.count(key) != 0; }
  const Tensor& get(const std::string& key) {
    const auto it = map_.find(key);
    if (it == map_.end()) fail("lacks the entry '" + key + "'");
    used_.insert(key);
    return it->second;
  }
  double get_scalar(const std::string& key) {
    const Tensor& t = get(key);
    if (t.size() != 1)
      fail("entry '" + key + "' should hold one value, it has shape " + shape_str(t.shape()));
    return t.item();
  }
  /// A count stored as a float64 scalar: an integer >= 0.
  std::int64_t get_count(const std::string& key) {
    const double v = get_scalar(key);
    if (!(v >= 0 && v < 9007199254740992.0 && std::floor(v) == v))
      fail("entry '" + key + "' should be a whole number >= 0, it is " + num(v));
    return static_cast<std::int64_t>(v);
  }
  /// Keys starting with `prefix` (e.g. to say what the file has instead of a missing key).
  std::vector<std::string> with_prefix(const std::string& prefix) const {
    std::vector<std::string> keys;
    for (auto it = map_.lower_bound(prefix);
         it != map_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
      keys.push_back(it->first);
    return keys;
  }
  void mark_used(const std::string& key) { used_.insert(key); }
  void check_all_used() const {
    for (const auto& kv : map_)
      if (!used_.count(kv.first)) fail("has the unexpected entry '" + kv.first + "'");
  }
  [[noreturn]] void fail(const std::string& what) const { throw ValueError(source_ + " " + what); }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::map<std::string, Tensor> map_;
  std::set<std::string> used_;
};

std::string dims_str(const Tensor& shape_entry) {
  Shape s;
  for (std::size_t i = 0; i < shape_entry.size(); ++i)
    s.push_back(static_cast<std::size_t>(shape_entry.at(i)));
  return shape_str(s);
}

}  // namespace

io::NamedTensors StateIO::save(const Optimizer& opt) {
  io::NamedTensors out;
  out.emplace_back(std::string("optimizer/kind/") + opt.kind(), scalar(kFormatVersion));
  out.emplace_back("optimizer/step_count", scalar(static_cast<double>(opt.step_count_)));
  out.emplace_back("optimizer/skipped_steps", scalar(static_cast<double>(opt.skipped_steps_)));
  out.emplace_back("optimizer/lr_factor", scalar(opt.lr_factor()));
  out.emplace_back("optimizer/num_groups", scalar(static_cast<double>(opt.groups_.size())));
  std::size_t k = 0;
  for (std::size_t g = 0; g < opt.groups_.size(); ++g) {
    const auto& group = opt.groups_[g];
    const std::string gp = "group/" + std::to_string(g) + "/";
    out.emplace_back(gp + "num_params", scalar(static_cast<double>(group.params.size())));
    for (const auto& [name, value] : opt.hyperparameters(g))
      out.emplace_back(gp + name, scalar(value));
    const std::vector<std::string> buffers = opt.buffer_names(g);
    for (std::size_t i = 0; i < group.params.size(); ++i, ++k) {
      const Var& p = group.params[i];
      const ParamState& st = group.states[i];
      const std::string pp = param_prefix(k, p);
      std::vector<double> dims(p.shape().begin(), p.shape().end());
      out.emplace_back(pp + "shape", Tensor::from_vector<double>({dims.size()}, dims));
      out.emplace_back(pp + "dtype", scalar(p.dtype() == DType::float32 ? 32 : 64));
      out.emplace_back(pp + "step", scalar(static_cast<double>(st.step)));
      for (std::size_t b = 0; b < st.buffers.size(); ++b)
        out.emplace_back(pp + buffers.at(b), st.buffers[b].clone());
    }
  }
  return out;
}

void StateIO::load(Optimizer& opt, const io::NamedTensors& state, const std::string& source) {
  Entries in(state, source);

  // Which optimizer wrote it.
  const auto kinds = in.with_prefix("optimizer/kind/");
  if (kinds.size() != 1)
    in.fail("is not an optimizer state (no single 'optimizer/kind/...' entry)");
  const std::string file_kind = kinds[0].substr(std::string("optimizer/kind/").size());
  if (file_kind != opt.kind())
    in.fail("holds " + file_kind + " state; this optimizer is " + opt.kind());
  const double version = in.get_scalar(kinds[0]);
  if (version != kFormatVersion)
    in.fail("has format version " + num(version) + "; this tapir reads version " +
            num(kFormatVersion));
  const std::int64_t step_count = in.get_count("optimizer/step_count");
  const std::int64_t skipped = in.get_count("optimizer/skipped_steps");
  in.get_scalar("optimizer/lr_factor");  // informational only

  // The parameter list: groups, counts, then each parameter's name, shape and dtype.
  const std::size_t num_groups = static_cast<std::size_t>(in.get_count("optimizer/num_groups"));
  if (num_groups != opt.groups_.size())
    in.fail("has " + std::to_string(num_groups) + " parameter groups; the optimizer has " +
            std::to_string(opt.groups_.size()));
  for (std::size_t g = 0; g < num_groups; ++g) {
    const auto n =
        static_cast<std::size_t>(in.get_count("group/" + std::to_string(g) + "/num_params"));
    if (n != opt.groups_[g].params.size())
      in.fail("has " + std::to_string(n) + " parameters in group " + std::to_string(g) +
              "; the optimizer has " + std::to_string(opt.groups_[g].params.size()));
  }

  std::vector<std::vector<ParamState>> states(num_groups);
  std::size_t k = 0;
  for (std::size_t g = 0; g < num_groups; ++g) {
    // Hyper-parameters: every entry group/<g>/<name> except num_params.
    const std::string gp = "group/" + std::to_string(g) + "/";
    NamedValues values;
    for (const auto& key : in.with_prefix(gp)) {
      if (key == gp + "num_params") continue;
      values.emplace_back(key.substr(gp.size()), in.get_scalar(key));
    }
    const std::vector<std::string> buffers = opt.stage_hyperparameters(g, values, source);

    const auto& params = opt.groups_[g].params;
    for (std::size_t i = 0; i < params.size(); ++i, ++k) {
      const Var& p = params[i];
      const std::string pp = param_prefix(k, p);
      const std::string what = "parameter " + std::to_string(k) + " '" + p.name() + "'";
      if (!in.has(pp + "shape")) {
        const auto theirs = in.with_prefix("param/" + std::to_string(k) + "/");
        std::string their_name = "?";
        if (!theirs.empty()) {
          const std::string& key = theirs.front();
          const std::size_t begin = ("param/" + std::to_string(k) + "/").size();
          their_name = key.substr(begin, key.rfind('/') - begin);
        }
        in.fail("names parameter " + std::to_string(k) + " '" + their_name +
                "'; the optimizer's parameter " + std::to_string(k) + " is '" + p.name() + "'");
      }
      const Tensor& shape = in.get(pp + "shape");
      bool same_shape = shape.size() == p.ndim();
      for (std::size_t d = 0; same_shape && d < p.ndim(); ++d)
        same_shape = shape.at(d) == static_cast<double>(p.shape()[d]);
      if (!same_shape)
        in.fail("has shape " + dims_str(shape) + " for " + what + ", which has shape " +
                shape_str(p.shape()));
      const double bits = in.get_scalar(pp + "dtype");
      const double want_bits = p.dtype() == DType::float32 ? 32 : 64;
      if (bits != want_bits)
        in.fail("has dtype float" + num(bits) + " for " + what + ", which is " +
                dtype_name(p.dtype()));

      ParamState st;
      st.step = in.get_count(pp + "step");
      if (st.step > 0) {
        for (const auto& b : buffers) {
          const Tensor& t = in.get(pp + b);
          if (t.shape() != p.shape() || t.dtype() != p.dtype())
            in.fail("has '" + b + "' of shape " + shape_str(t.shape()) + ", " +
                    dtype_name(t.dtype()) + " for " + what + " of shape " + shape_str(p.shape()) +
                    ", " + dtype_name(p.dtype()));
          st.buffers.push_back(t.clone());  // own it: the caller's tensors stay independent
        }
      }
      states[g].push_back(std::move(st));
    }
  }
  in.check_all_used();

  // Everything checked: commit (nothing below throws).
  opt.commit_staged_hyperparameters();
  for (std::size_t g = 0; g < num_groups; ++g) opt.groups_[g].states.swap(states[g]);
  opt.step_count_ = step_count;
  opt.skipped_steps_ = skipped;
}

}  // namespace detail

io::NamedTensors state_dict(const Optimizer& optimizer) { return detail::StateIO::save(optimizer); }

void load_state_dict(Optimizer& optimizer, const io::NamedTensors& state) {
  detail::StateIO::load(optimizer, state, std::string(optimizer.kind()) + " state dict");
}

void save_state(const Optimizer& optimizer, const std::string& path) {
  io::save_npz(path, state_dict(optimizer));
}

void load_state(Optimizer& optimizer, const std::string& path) {
  const io::NamedTensors state = io::load_npz(path);
  detail::StateIO::load(optimizer, state,
                        std::string(optimizer.kind()) + " state file '" + path + "'");
}

}  // namespace tapir::optim
