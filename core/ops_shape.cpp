// Shape ops: data movement only; each backward is the adjoint movement.
#include <tapir/core/ops.hpp>
#include <tapir/core/shape_arith.hpp>
#include <tapir/core/tensor_ops.hpp>

namespace tapir {

namespace to = tensor_ops;

Var reshape(const Var& x, const Shape& shape) {
  const Shape in_shape = x.shape();
  return custom_op("reshape", x.value().reshape(shape), {x},
                   [in_shape](const Tensor& g) { return std::vector<Tensor>{g.reshape(in_shape)}; });
}

Var permute(const Var& x, const std::vector<std::size_t>& perm) {
  Tensor out = to::permute(x.value(), perm);
  std::vector<std::size_t> inverse(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = i;
  return custom_op("permute", out, {x},
                   [inverse](const Tensor& g) { return std::vector<Tensor>{to::permute(g, inverse)}; });
}

Var transpose(const Var& x) {
  if (x.ndim() < 2) throw ShapeError("transpose: needs at least 2 dims, got " + shape_str(x.shape()));
  std::vector<std::size_t> perm(x.ndim());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return permute(x, perm);
}

Var broadcast_to(const Var& x, const Shape& shape) {
  const Shape in_shape = x.shape();
  return custom_op("broadcast_to", to::broadcast_to(x.value(), shape), {x},
                   [in_shape](const Tensor& g) { return std::vector<Tensor>{to::sum_to(g, in_shape)}; });
}

Var concat(const std::vector<Var>& xs, int axis) {
  if (xs.empty()) throw ValueError("concat: no inputs");
  const Shape& first = xs[0].shape();
  const int r = static_cast<int>(first.size());
  if (axis < -r || axis >= r)
    throw ValueError("concat: axis " + std::to_string(axis) + " is out of range for shape " + shape_str(first));
  const std::size_t ax = static_cast<std::size_t>(axis < 0 ? axis + r : axis);
  Shape out_shape = first;
  out_shape[ax] = 0;
  for (const auto& x : xs) {
    Shape s = x.shape();
    if (x.dtype() != xs[0].dtype())
      throw TypeError("concat: input " + shape_str(s) + " " + dtype_name(x.dtype()) +
                      " has another dtype than the first input " + shape_str(first) + " " +
                      dtype_name(xs[0].dtype()));
    bool ok = s.size() == first.size();
    for (std::size_t d = 0; ok && d < s.size(); ++d) ok = d == ax || s[d] == first[d];
    if (!ok)
      throw ShapeError("concat: input " + shape_str(s) + " " + dtype_name(x.dtype()) +
                       " does not match " + shape_str(first) + " " + dtype_name(xs[0].dtype()) +
                       " outside axis " + std::to_string(ax));
    out_shape[ax] = checked_add(out_shape[ax], s[ax], "concat: size along axis " + std::to_string(ax));
  }
  // write each input into its block of the output: `outer` rows of `row` bytes each
  checked_tensor_bytes(out_shape, xs[0].dtype(), "concat");
  Tensor out = Tensor::empty(out_shape, xs[0].dtype());
  std::size_t outer = 1;
  for (std::size_t d = 0; d < ax; ++d) outer *= out_shape[d];
  const std::size_t row = outer ? out.nbytes() / outer : 0;
  std::vector<std::size_t> offsets;  // start of each input along `ax`
  std::size_t along = 0, col = 0;
  auto* dst = static_cast<char*>(out.raw_data());
  for (const auto& x : xs) {
    offsets.push_back(along);
    along += x.shape()[ax];
    const std::size_t chunk = outer ? x.value().nbytes() / outer : 0;
    const auto* src = static_cast<const char*>(x.value().raw_data());
    for (std::size_t o = 0; o < outer; ++o)
      std::copy(src + o * chunk, src + (o + 1) * chunk, dst + o * row + col);
    col += chunk;
  }
  std::vector<Shape> shapes;
  for (const auto& x : xs) shapes.push_back(x.shape());
  return custom_op("concat", out, xs, [shapes, offsets, ax](const Tensor& g) {
    std::vector<Tensor> grads;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      std::vector<std::size_t> begin(shapes[i].size(), 0), step(shapes[i].size(), 1);
      begin[ax] = offsets[i];
      grads.push_back(to::slice(g, begin, step, shapes[i]));
    }
    return grads;
  });
}

std::vector<Var> split(const Var& x, const std::vector<std::size_t>& sizes, int axis) {
  if (!x.defined()) throw ValueError("split: input is undefined");
  const Shape& in = x.shape();
  const int r = static_cast<int>(in.size());
  if (r == 0 || axis < -r || axis >= r)
    throw ValueError("split: axis " + std::to_string(axis) + " is out of range for shape " + shape_str(in));
  const std::size_t ax = static_cast<std::size_t>(axis < 0 ? axis + r : axis);
  std::size_t total = 0;
  for (std::size_t s : sizes) {
    if (s == 0) throw ValueError("split: sizes must be positive, got a 0 (shape " + shape_str(in) + ")");
    total += s;
  }
  if (sizes.empty() || total != in[ax])
    throw ShapeError("split: sizes add up to " + std::to_string(total) + " but axis " + std::to_string(axis) +
                     " of shape " + shape_str(in) + " has length " + std::to_string(in[ax]));
  std::vector<Var> out;
  std::int64_t begin = 0;
  for (std::size_t s : sizes) {
    std::vector<SliceSpec> spec(ax + 1);
    spec[ax] = SliceSpec{begin, begin + static_cast<std::int64_t>(s), 1};
    out.push_back(slice(x, spec));
    begin += static_cast<std::int64_t>(s);
  }
  return out;
}

std::vector<Var> split(const Var& x, std::size_t num, int axis) {
  if (!x.defined()) throw ValueError("split: input is undefined");
  const int r = static_cast<int>(x.ndim());
  if (r == 0 || axis < -r || axis >= r)
    throw ValueError("split: axis " + std::to_string(axis) + " is out of range for shape " + shape_str(x.shape()));
  const std::size_t n = x.shape()[static_cast<std::size_t>(axis < 0 ? axis + r : axis)];
  if (num == 0 || n % num != 0)
    throw ValueError("split: num_or_size_splits=" + std::to_string(num) + " does not divide axis " +
                     std::to_string(axis) + " of shape " + shape_str(x.shape()));
  return split(x, std::vector<std::size_t>(num, n / num), axis);
}

Var slice(const Var& x, const std::vector<SliceSpec>& spec) {
  const Shape& in = x.shape();
  if (spec.size() > in.size())
    throw ShapeError("slice: " + std::to_string(spec.size()) + " slice specs for shape " + shape_str(in));
  std::vector<std::size_t> begin(in.size(), 0), step(in.size(), 1);
  Shape out_shape = in;
  for (std::size_t d = 0; d < spec.size(); ++d) {
    const auto n = static_cast<std::int64_t>(in[d]);
    const SliceSpec& s = spec[d];
    const std::int64_t b = s.begin < 0 ? s.begin + n : s.begin;
    const std::int64_t e = s.end == INT64_MAX ? n : (s.end < 0 ? s.end + n : s.end);
    if (s.step <= 0 || b < 0 || b > n || e < b || e > n)
      throw ValueError("slice: axis " + std::to_string(d) + " of shape " + shape_str(in) + ": [" +
                       std::to_string(s.begin) + ":" + (s.end == INT64_MAX ? std::string("") : std::to_string(s.end)) +
                       ":" + std::to_string(s.step) + "] is out of range");
    begin[d] = static_cast<std::size_t>(b);
    step[d] = static_cast<std::size_t>(s.step);
    out_shape[d] = e == b ? 0 : static_cast<std::size_t>((e - b - 1) / s.step + 1);  // ceil without e - b + step wrapping
  }
  const Shape in_shape = in;
  return custom_op("slice", to::slice(x.value(), begin, step, out_shape), {x},
                   [in_shape, begin, step](const Tensor& g) {
                     return std::vector<Tensor>{to::unslice(g, in_shape, begin, step)};
                   });
}

Var pad(const Var& x, const std::vector<std::pair<std::size_t, std::size_t>>& pads, double value) {
  const Shape in_shape = x.shape();
  if (pads.size() != in_shape.size())
    throw ShapeError("pad: " + std::to_string(pads.size()) + " (before, after) pairs for shape " +
                     shape_str(in_shape) + "; one pair per axis is needed");
  Shape out_shape = in_shape;
  std::vector<std::size_t> begin(in_shape.size()), step(in_shape.size(), 1);
  for (std::size_t d = 0; d < pads.size(); ++d) {
    const std::string what = "pad: axis " + std::to_string(d) + " of shape " + shape_str(in_shape) +
                             " padded by (" + std::to_string(pads[d].first) + ", " +
                             std::to_string(pads[d].second) + ")";
    out_shape[d] = checked_add(checked_add(out_shape[d], pads[d].first, what), pads[d].second, what);
    begin[d] = pads[d].first;
  }
  checked_tensor_bytes(out_shape, x.dtype(), "pad");
  Tensor out = to::unslice(x.value(), out_shape, begin, step);
  if (value != 0.0) {
    Tensor fill = Tensor::full(out_shape, x.dtype(), value);
    Tensor hole = to::unslice(Tensor::full(in_shape, x.dtype(), value), out_shape, begin, step);
    out = to::add(out, to::sub(fill, hole));
  }
  return custom_op("pad", out, {x}, [in_shape, begin, step](const Tensor& g) {
    return std::vector<Tensor>{to::slice(g, begin, step, in_shape)};
  });
}

}  // namespace tapir
