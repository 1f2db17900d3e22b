#include <tapir/layers/sequential.hpp>
#include <tapir/core/anomaly.hpp>

#include <climits>
#include <iostream>

namespace tapir::nn {

Var Sequential::Element::operator()(const Var& x) const {
  if (layer) return (*layer)(x);
  if (fn) return fn(x);
  return x;
}

std::string Sequential::joined_name(const std::vector<Element>& elements) {
  std::string s;
  for (std::size_t i = 0; i < elements.size(); ++i) s += (i ? "_" : "") + elements[i].label;
  return s;
}

Sequential::Sequential(std::vector<Element> elements, const std::string& name, bool validate_args)
    : Layer("Sequential", name.empty() ? (elements.empty() ? "Sequential" : joined_name(elements)) : name,
            validate_args),
      elements_(std::move(elements)) {
  if (elements_.empty()) throw ValueError("Sequential '" + this->name() + "': layers must be a non-empty list");
  for (const auto& e : elements_)
    if (e.layer) add_child(e.layer);
}

Var Sequential::operator()(const Var& x) {
  OpScope scope(name());  // anomaly reports say "model/layer"; the layers push their own names
  Var y = x;
  for (const auto& e : elements_) {
    if (e.layer) {
      y = e(y);
    } else {
      OpScope fn_scope(e.label);
      y = e(y);
    }
    if (trace_) {
      std::ostream& os = trace_stream_ ? *trace_stream_ : std::cout;
      os << name() << " > " << e.label << ": " << shape_str(y.shape()) << " " << dtype_name(y.dtype()) << "\n";
    }
  }
  return y;
}

std::shared_ptr<Layer> Sequential::layer(long index) const {
  const long n = static_cast<long>(elements_.size());
  const long i = index < 0 ? index + n : index;
  if (i < 0 || i >= n)
    throw ValueError("Sequential '" + name() + "': index " + std::to_string(index) + " is out of range for " +
                     std::to_string(n) + " elements");
  return elements_[static_cast<std::size_t>(i)].layer;
}

std::shared_ptr<Sequential> Sequential::slice(long begin, long end) const {
  const long n = static_cast<long>(elements_.size());
  auto clamp = [n](long v) {
    if (v < 0) v += n;
    return std::max(0L, std::min(n, v));
  };
  const long b = clamp(begin), e = end == LONG_MAX ? n : clamp(end);
  if (b >= e)
    throw ValueError("Sequential '" + name() + "': slice [" + std::to_string(begin) + ":" +
                     (end == LONG_MAX ? std::string() : std::to_string(end)) + "] of " + std::to_string(n) +
                     " elements is empty (a Sequential must be non-empty)");
  std::vector<Element> part(elements_.begin() + b, elements_.begin() + e);
  auto s = std::make_shared<Sequential>(std::move(part), name(), validate_args());
  s->set_trace(trace_, trace_stream_);
  return s;
}

}  // namespace tapir::nn
