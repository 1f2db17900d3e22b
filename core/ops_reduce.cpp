// Reductions: the keepdims shape carries the reduction; backward broadcasts back.
#include <cmath>
#include <set>

#include <tapir/core/simd.hpp>
#include <tapir/core/ops.hpp>
#include <tapir/core/tensor_ops.hpp>

namespace tapir {

namespace to = tensor_ops;

namespace {
// Shape of the result with keepdims=true (reduced axes set to 1); validates `axes`.
Shape keepdims_shape(const Shape& shape, const std::vector<int>& axes, const char* op) {
  Shape out = shape;
  if (axes.empty()) {
    for (auto& d : out) d = 1;
    return out;
  }
  std::set<std::size_t> seen;
  const int r = static_cast<int>(shape.size());
  for (int a : axes) {
    if (a < -r || a >= r)
      throw ValueError(std::string(op) + ": axis " + std::to_string(a) + " is out of range for shape " +
                       shape_str(shape));
    const std::size_t ax = static_cast<std::size_t>(a < 0 ? a + r : a);
    if (!seen.insert(ax).second)
      throw ValueError(std::string(op) + ": axis " + std::to_string(a) + " is repeated");
    out[ax] = 1;
  }
  return out;
}

Shape squeeze_reduced(const Shape& shape, const Shape& kept, const std::vector<int>& axes) {
  Shape out;
  const int r = static_cast<int>(shape.size());
  for (int d = 0; d < r; ++d) {
    bool reduced = axes.empty();
    for (int a : axes) reduced = reduced || (a < 0 ? a + r : a) == d;
    if (!reduced) out.push_back(kept[d]);
  }
  return out;
}
}  // namespace

Var sum(const Var& x, std::vector<int> axes, bool keepdims) {
  const Shape in_shape = x.shape();
  const Shape kept = keepdims_shape(in_shape, axes, "sum");
  Tensor out = to::sum_to(x.value(), kept);
  if (out.shares_storage(x.value())) out = out.clone();
  if (!keepdims) out = out.reshape(squeeze_reduced(in_shape, kept, axes));
  return custom_op("sum", out, {x}, [in_shape, kept](const Tensor& g) {
    return std::vector<Tensor>{to::broadcast_to(g.reshape(kept), in_shape)};
  });
}

Var mean(const Var& x, std::vector<int> axes, bool keepdims) {
  const Shape kept = keepdims_shape(x.shape(), axes, "mean");
  const double count = static_cast<double>(x.size()) / static_cast<double>(numel(kept));
  return scale(sum(x, axes, keepdims), count == 0 ? NAN : 1.0 / count);
}

Var max(const Var& x, std::vector<int> axes, bool keepdims) {
  const Shape in_shape = x.shape();
  if (x.size() == 0) throw ValueError("max: reduction of the empty tensor " + shape_str(in_shape));
  const Shape kept = keepdims_shape(in_shape, axes, "max");
  const Tensor m = to::max_to(x.value(), kept);
  const Tensor v = x.value();
  Tensor out = keepdims ? m : m.reshape(squeeze_reduced(in_shape, kept, axes));
  return custom_op("max", out, {x}, [v, m, kept, in_shape](const Tensor& g) {
    // the gradient goes to the maximal elements, shared equally among ties
    Tensor mask(in_shape, v.dtype());
    const Tensor mb = to::broadcast_to(m, in_shape);
    TAPIR_DISPATCH(v.dtype(), T, {
      const T* a = v.data<T>(); const T* b = mb.data<T>(); T* o = mask.data<T>();
      for (std::size_t i = 0; i < v.size(); ++i) o[i] = a[i] == b[i] ? T(1) : T(0);
    });
    const Tensor count = to::sum_to(mask, kept);
    return std::vector<Tensor>{to::mul(mask, to::div(g.reshape(kept), count))};
  });
}

Var logsumexp(const Var& x, std::vector<int> axes, bool keepdims) {
  // m + log(sum(exp(x - m))) with m = max held constant: exact gradient (softmax), no overflow
  const Shape kept = keepdims_shape(x.shape(), axes, "logsumexp");
  Tensor m = to::max_to(x.value(), kept);
  TAPIR_DISPATCH(m.dtype(), T, {
    T* p = m.data<T>();
    for (std::size_t i = 0; i < m.size(); ++i) if (!std::isfinite(p[i])) p[i] = T(0);
  });
  const Var mv = constant(m);
  Var r = log(sum(exp(x - mv), axes, true)) + mv;
  return keepdims ? r : reshape(r, squeeze_reduced(x.shape(), kept, axes));
}

}  // namespace tapir
