// Output sizes and pad placement of convolution and conv-transpose (TF/Keras semantics, see
// docs/semantics/convolution.md). Every convolution argument is validated here and nowhere
// else: conv_spec checks what does not depend on the input, ConvSpec::geometry the rest.
#include <algorithm>
#include <cctype>

#include <tapir/core/conv.hpp>

namespace tapir {

std::vector<int> IntOrList::expand(std::size_t rank, const char* what) const {
  if (values_.size() == 1) return std::vector<int>(rank, values_[0]);
  if (values_.size() != rank) {
    throw ValueError(std::string(what) + ": expected 1 or " + std::to_string(rank) +
                     " values (one per spatial dimension), got " + std::to_string(values_.size()));
  }
  return values_;
}

std::size_t ConvGeometry::taps() const {
  std::size_t t = 1;
  for (auto f : filter) t *= f;
  return t;
}

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string list_str(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

bool parse_same(const std::string& padding, const char* who) {
  const std::string p = upper(padding);
  if (p == "SAME") return true;
  if (p == "VALID") return false;
  throw ValueError(std::string(who) + ": padding must be \"SAME\" or \"VALID\" (case-insensitive), got \"" +
                   padding + "\"" + (p == "CAUSAL" || p == "FULL" ? " (not supported)" : ""));
}

// Strides and dilations: positive, and not both > 1 (as TF requires).
void check_strides_dilations(const std::vector<int>& s, const std::vector<int>& d, const char* who) {
  for (int v : s)
    if (v < 1) throw ValueError(std::string(who) + ": strides must be >= 1, got " + list_str(s));
  for (int v : d)
    if (v < 1) throw ValueError(std::string(who) + ": dilations must be >= 1, got " + list_str(d));
  const bool strided = std::any_of(s.begin(), s.end(), [](int v) { return v > 1; });
  const bool dilated = std::any_of(d.begin(), d.end(), [](int v) { return v > 1; });
  if (strided && dilated)
    throw ValueError(std::string(who) + ": strides " + list_str(s) + " > 1 cannot be combined with dilations " +
                     list_str(d) + " > 1");
}

void check_positive(const std::vector<std::size_t>& v, const char* what, const char* who) {
  for (auto x : v)
    if (x == 0) throw ValueError(std::string(who) + ": " + what + " must be positive, got " + shape_str(v));
}

// What both ops validate the same way: filter, per-dimension strides and dilations, padding.
ConvSpec check_common(const std::vector<std::size_t>& filter, const IntOrList& strides, const IntOrList& dilations,
                      const std::string& padding, const char* who) {
  check_positive(filter, "filter sizes", who);
  const std::vector<int> s = strides.expand(filter.size(), (std::string(who) + " strides").c_str());
  const std::vector<int> d = dilations.expand(filter.size(), (std::string(who) + " dilations").c_str());
  check_strides_dilations(s, d, who);
  ConvSpec spec;
  spec.same = parse_same(padding, who);
  spec.filter = filter;
  spec.stride.assign(s.begin(), s.end());
  spec.dilation.assign(d.begin(), d.end());
  return spec;
}

}  // namespace

ConvSpec conv_spec(const std::vector<std::size_t>& filter, const ConvOptions& options, const char* who) {
  return check_common(filter, options.strides(), options.dilations(), options.padding(), who);
}

ConvSpec conv_transpose_spec(const std::vector<std::size_t>& filter, const ConvTransposeOptions& options,
                             const char* who) {
  ConvSpec spec = check_common(filter, options.strides(), options.dilations(), options.padding(), who);
  spec.transpose = true;
  if (options.output_padding()) {
    const std::vector<int> op = options.output_padding()->expand(filter.size(),
                                                                (std::string(who) + " output_padding").c_str());
    for (std::size_t i = 0; i < op.size(); ++i)
      if (op[i] < 0 || static_cast<std::size_t>(op[i]) >= spec.stride[i]) {
        const std::vector<int> s(spec.stride.begin(), spec.stride.end());
        throw ValueError(std::string(who) + ": output_padding " + list_str(op) +
                         " must be >= 0 and smaller than strides " + list_str(s) + " in every dimension");
      }
    spec.output_padding = std::vector<std::size_t>(op.begin(), op.end());
  }
  return spec;
}

ConvGeometry ConvSpec::geometry(const std::vector<std::size_t>& in, const char* who) const {
  if (in.size() != rank())
    throw ShapeError(std::string(who) + ": input has " + std::to_string(in.size()) + " spatial dims " +
                     shape_str(in) + ", the filter " + shape_str(filter) + " has " + std::to_string(rank()));
  check_positive(in, "spatial input sizes", who);
  ConvGeometry g;
  g.rank = rank();
  g.filter = filter;
  g.stride = stride;
  g.dilation = dilation;
  for (std::size_t i = 0; i < rank(); ++i) {
    const std::size_t k_eff = dilation[i] * (filter[i] - 1) + 1;
    const std::size_t st = stride[i];
    if (!transpose) {
      std::size_t out, pad = 0;
      if (same) {
        out = (in[i] + st - 1) / st;
        const std::size_t needed = (out - 1) * st + k_eff;
        pad = needed > in[i] ? (needed - in[i]) / 2 : 0;
      } else {
        if (in[i] < k_eff)
          throw ValueError(std::string(who) + ": VALID convolution of spatial size " + shape_str(in) +
                           " with dilated filter size " + std::to_string(k_eff) + " along dim " +
                           std::to_string(i) + " has no output");
        out = (in[i] - k_eff) / st + 1;
      }
      g.small.push_back(out);
      g.big.push_back(in[i]);
      g.pad_lead.push_back(pad);
      continue;
    }
    const long ke = static_cast<long>(k_eff), n = static_cast<long>(in[i]), sl = static_cast<long>(st);
    long out;
    if (!output_padding) {  // Keras deconv_output_length, output_padding=None
      out = same ? n * sl : n * sl + std::max(ke - sl, 0L);
    } else {
      const long pad = same ? ke / 2 : 0;
      out = (n - 1) * sl + ke - 2 * pad + static_cast<long>((*output_padding)[i]);
    }
    if (out < 1)
      throw ValueError(std::string(who) + ": output size along dim " + std::to_string(i) + " would be " +
                       std::to_string(out) + " (input " + shape_str(in) + ", filter " + shape_str(filter) + ")");
    const long full = (n - 1) * sl + ke;
    g.small.push_back(in[i]);
    g.big.push_back(static_cast<std::size_t>(out));
    g.pad_lead.push_back(static_cast<std::size_t>(std::max(full - out, 0L) / 2));
  }
  return g;
}

ConvGeometry conv_geometry(const std::vector<std::size_t>& in, const std::vector<std::size_t>& filter,
                           const ConvOptions& options, const char* who) {
  check_positive(in, "spatial input sizes", who);
  return conv_spec(filter, options, who).geometry(in, who);
}

ConvGeometry conv_transpose_geometry(const std::vector<std::size_t>& in,
                                     const std::vector<std::size_t>& filter,
                                     const ConvTransposeOptions& options, const char* who) {
  check_positive(in, "spatial input sizes", who);
  return conv_transpose_spec(filter, options, who).geometry(in, who);
}

}  // namespace tapir
