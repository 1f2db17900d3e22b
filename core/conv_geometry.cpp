// Output sizes and pad placement of convolution and conv-transpose (TF/Keras semantics, see
// docs/semantics/convolution.md). Every convolution argument is validated here and nowhere
// else: conv_spec checks what does not depend on the input, ConvSpec::geometry the rest.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <utility>

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

// Overflow-checked extent arithmetic for one spatial dimension; a wrap names the op, the
// dimension and the arguments instead of producing a tiny (or zero) output size.
class Extent {
 public:
  Extent(const char* who, std::size_t dim, const std::vector<std::size_t>& in,
         const std::vector<std::size_t>& filter, const std::vector<std::size_t>& strides)
      : who_(who), dim_(dim), in_(in), filter_(filter), strides_(strides) {}
  std::size_t mul(std::size_t a, std::size_t b) const {
    std::size_t r;
    if (__builtin_mul_overflow(a, b, &r)) fail(a, " * ", b);
    return r;
  }
  std::size_t add(std::size_t a, std::size_t b) const {
    std::size_t r;
    if (__builtin_add_overflow(a, b, &r)) fail(a, " + ", b);
    return r;
  }

 private:
  [[noreturn]] void fail(std::size_t a, const char* op, std::size_t b) const {
    throw ShapeError(std::string(who_) + ": size along spatial dim " + std::to_string(dim_) + " overflows (" +
                     std::to_string(a) + op + std::to_string(b) + ") for input " + shape_str(in_) +
                     ", filter " + shape_str(filter_) + ", strides " + shape_str(strides_));
  }
  const char* who_;
  std::size_t dim_;
  const std::vector<std::size_t>& in_;
  const std::vector<std::size_t>& filter_;
  const std::vector<std::size_t>& strides_;
};

// Every pixel count the kernels form (Geo3 works in signed longs) must fit a signed offset.
void check_extents(const ConvGeometry& g, const char* who) {
  const std::pair<const char*, const std::vector<std::size_t>*> sides[] = {
      {"small side (conv output / conv-transpose input)", &g.small},
      {"big side (conv input / conv-transpose output)", &g.big},
      {"filter", &g.filter}};
  for (const auto& [side, sizes] : sides) {
    std::size_t n = 1;
    bool overflow = false;
    for (auto v : *sizes) overflow = overflow || __builtin_mul_overflow(n, v, &n);
    if (overflow || n > static_cast<std::size_t>(PTRDIFF_MAX))
      throw ShapeError(std::string(who) + ": spatial sizes " + shape_str(*sizes) + " of the " + side +
                       " have more pixels than a 64-bit offset holds (filter " + shape_str(g.filter) + ")");
  }
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
    const Extent x(who, i, in, filter, stride);
    const std::size_t k_eff = x.add(x.mul(dilation[i], filter[i] - 1), 1);
    const std::size_t st = stride[i];
    if (!transpose) {
      std::size_t out, pad = 0;
      if (same) {
        out = (in[i] - 1) / st + 1;  // ceil(in / st) without forming in + st - 1
        const std::size_t needed = x.add(x.mul(out - 1, st), k_eff);
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
    const std::size_t n = in[i];
    // full: the extent every input position's taps cover, before any cropping
    const std::size_t full = x.add(x.mul(n - 1, st), k_eff);
    std::size_t out;
    if (!output_padding) {  // Keras deconv_output_length, output_padding=None
      out = same ? x.mul(n, st) : x.add(x.mul(n, st), k_eff > st ? k_eff - st : 0);
    } else {
      const std::size_t pad = same ? k_eff / 2 : 0;
      const std::size_t grown = x.add(full, (*output_padding)[i]);
      if (grown <= 2 * pad)
        throw ValueError(std::string(who) + ": output size along dim " + std::to_string(i) + " would be " +
                         (grown == 2 * pad ? "0" : "-" + std::to_string(2 * pad - grown)) + " (input " + shape_str(in) +
                         ", filter " + shape_str(filter) + ")");
      out = grown - 2 * pad;
    }
    g.small.push_back(n);
    g.big.push_back(out);
    g.pad_lead.push_back(full > out ? (full - out) / 2 : 0);
  }
  check_extents(g, who);
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
