#include "internal.hpp"

#include <cmath>
#include <sstream>

#include <tapir/core/simd.hpp>

namespace tapir::distributions::internal {

Var scalar(double value, DType dtype) { return constant(Tensor::scalar(value, dtype)); }

void check_same_dtype(const std::string& who, const char* a_name, const Var& a, const char* b_name,
                      const Var& b) {
  if (a.dtype() != b.dtype())
    throw TypeError(who + ": " + a_name + " is " + dtype_name(a.dtype()) + " " + shape_str(a.shape()) +
                    " but " + b_name + " is " + dtype_name(b.dtype()) + " " + shape_str(b.shape()));
}

Shape broadcast_parameters(const std::string& who, const char* a_name, const Shape& a,
                           const char* b_name, const Shape& b) {
  try {
    return broadcast_shapes(a, b, who.c_str());
  } catch (const ShapeError&) {
    throw ShapeError(who + ": " + a_name + " of shape " + shape_str(a) + " and " + b_name +
                     " of shape " + shape_str(b) + " do not broadcast together");
  }
}

namespace {
// "[1,0,2]": the multi-index of flat element i.
std::string index_str(std::size_t i, const Shape& shape) {
  if (shape.empty()) return "";
  std::vector<std::size_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) { idx[d] = i % shape[d]; i /= shape[d]; }
  return shape_str(idx);
}
}  // namespace

void check_elements(const std::string& who, const char* arg, const Tensor& t,
                    const std::function<bool(double)>& ok, const char* requirement) {
  std::ostringstream bad;
  bad.precision(9);
  std::size_t count = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double v = t.at(i);
    if (ok(v)) continue;
    if (count < 5) bad << (count ? ", " : "") << arg << index_str(i, t.shape()) << " = " << v;
    ++count;
  }
  if (count == 0) return;
  if (count > 5) bad << ", ... (" << count << " in all)";
  throw ValueError(who + ": " + arg + " must be " + requirement + "; got " + bad.str() + " (" + arg +
                   " has shape " + shape_str(t.shape()) + ")");
}

bool elementwise_parameters(const Var& x, const Var& a, const Var& b) {
  auto fits = [&](const Var& p) {
    return p.dtype() == x.dtype() && (p.shape() == x.shape() || (p.size() == 1 && p.ndim() <= x.ndim()));
  };
  return fits(a) && fits(b) && x.size() > 0;
}

Tensor mask(const Tensor& x, const std::function<bool(double)>& pred) {
  Tensor m = Tensor::empty(x.shape(), x.dtype());
  TAPIR_DISPATCH(x.dtype(), T, {
    const T* p = x.data<T>();
    T* o = m.data<T>();
    for (std::size_t i = 0; i < x.size(); ++i) o[i] = pred(static_cast<double>(p[i])) ? T(1) : T(0);
  });
  return m;
}

Tensor one_hot(const std::string& who, const Tensor& indices, std::size_t depth) {
  const double k = static_cast<double>(depth);
  check_elements(who, "value", indices,
                 [k](double v) { return v >= 0 && v < k && v == std::floor(v); },
                 ("an integer class index in [0, " + std::to_string(depth) + ")").c_str());
  Shape shape = indices.shape();
  shape.push_back(depth);
  Tensor out(shape, indices.dtype());
  TAPIR_DISPATCH(indices.dtype(), T, {
    const T* p = indices.data<T>();
    T* o = out.data<T>();
    for (std::size_t i = 0; i < indices.size(); ++i) o[i * depth + static_cast<std::size_t>(p[i])] = T(1);
  });
  return out;
}

Var insert_unit_axes(const Var& x, std::size_t position, std::size_t count) {
  if (count == 0) return x;
  Shape s = x.shape();
  s.insert(s.begin() + static_cast<std::ptrdiff_t>(position), count, 1);
  return reshape(x, s);
}

std::vector<int> rightmost_axes(std::size_t n) {
  std::vector<int> axes;
  for (std::size_t i = n; i > 0; --i) axes.push_back(-static_cast<int>(i));
  return axes;
}

}  // namespace tapir::distributions::internal
