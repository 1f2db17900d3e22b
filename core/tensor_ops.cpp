#include <tapir/core/tensor_ops.hpp>

#include <algorithm>

#include <tapir/core/simd.hpp>
#include "kernels/elementwise.hpp"
#include <tapir/core/kernels/gemm.hpp>
#include <tapir/core/shape_arith.hpp>

namespace tapir::tensor_ops {

namespace {
void check_dtypes(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() != b.dtype())
    throw TypeError(std::string(op) + ": dtypes differ: " + dtype_name(a.dtype()) + " " +
                    shape_str(a.shape()) + " vs " + dtype_name(b.dtype()) + " " +
                    shape_str(b.shape()));
}

template <class F> Tensor binary(const Tensor& a, const Tensor& b, const char* op, F f) {
  check_dtypes(a, b, op);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), op), a.dtype());
  TAPIR_DISPATCH(a.dtype(), T, kernels::binary_broadcast<T>(a, b, out, f));
  return out;
}

// Contiguous row-major strides of `shape`.
std::vector<std::ptrdiff_t> strides_of(const Shape& shape) {
  std::vector<std::ptrdiff_t> s(shape.size());
  std::ptrdiff_t st = 1;
  for (std::size_t d = shape.size(); d-- > 0;) { s[d] = st; st *= static_cast<std::ptrdiff_t>(shape[d]); }
  return s;
}

// dst[idx . dst_strides] = src[idx . src_strides] for every idx in `shape`.
template <class T>
void copy_strided(const Shape& shape, const T* src, const std::vector<std::ptrdiff_t>& src_strides,
                  T* dst, const std::vector<std::ptrdiff_t>& dst_strides) {
  const kernels::StridedLoop loop = kernels::make_loop(shape, dst_strides, src_strides, {});
  const std::size_t inner = loop.inner();
  const auto s = loop.inner_strides();
  const std::size_t outer = loop.outer();
  simd::parallel_for(numel(shape) >= kernels::kParallelGrain, static_cast<std::ptrdiff_t>(outer), [&](std::ptrdiff_t o) {
    const auto off = loop.offsets(static_cast<std::size_t>(o));
    T* d = dst + off[0];
    const T* x = src + off[1];
    if (s[0] == 1 && s[1] == 1) std::copy(x, x + inner, d);
    else for (std::size_t i = 0; i < inner; ++i) d[i * s[0]] = x[i * s[1]];
  });
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, "add", [](auto x, auto y) { return x + y; }); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(a, b, "sub", [](auto x, auto y) { return x - y; }); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, "mul", [](auto x, auto y) { return x * y; }); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(a, b, "div", [](auto x, auto y) { return x / y; }); }

Tensor scale(const Tensor& x, double factor) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  TAPIR_DISPATCH(x.dtype(), T, {
    const T f = static_cast<T>(factor);
    kernels::map(x.size(), out.data<T>(), [f](auto v) { return v * decltype(v)(f); }, x.data<T>());
  });
  return out;
}
Tensor neg(const Tensor& x) { return scale(x, -1.0); }

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  if (broadcast_shapes(shape, x.shape(), "sum_to") != x.shape())
    throw ShapeError("sum_to: " + shape_str(shape) + " does not broadcast to " + shape_str(x.shape()));
  Tensor out = Tensor::empty(shape, x.dtype());
  TAPIR_DISPATCH(x.dtype(), T, kernels::sum_to<T>(x, out));
  return out;
}

Tensor max_to(const Tensor& x, const Shape& shape) {
  if (broadcast_shapes(shape, x.shape(), "max") != x.shape())
    throw ShapeError("max: " + shape_str(shape) + " does not broadcast to " + shape_str(x.shape()));
  Tensor out = Tensor::empty(shape, x.dtype());
  TAPIR_DISPATCH(x.dtype(), T, kernels::max_to<T>(x, out));
  return out;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  if (broadcast_shapes(x.shape(), shape, "broadcast_to") != shape)
    throw ShapeError("broadcast_to: " + shape_str(x.shape()) + " cannot be broadcast to " +
                     shape_str(shape));
  Tensor out = Tensor::empty(shape, x.dtype());
  TAPIR_DISPATCH(x.dtype(), T, kernels::broadcast_copy<T>(x, out));
  return out;
}

Tensor permute(const Tensor& x, const std::vector<std::size_t>& perm) {
  const std::size_t r = x.ndim();
  std::vector<bool> used(r, false);
  bool ok = perm.size() == r;
  for (std::size_t p : perm) ok = ok && p < r && !used[p] && (used[p] = true);
  if (!ok) {
    std::vector<std::size_t> pv(perm.begin(), perm.end());
    throw ValueError("permute: perm " + shape_str(pv) + " is not a permutation of the axes of " +
                     shape_str(x.shape()));
  }
  Shape out_shape(r);
  const auto xs = strides_of(x.shape());
  std::vector<std::ptrdiff_t> src(r);
  for (std::size_t i = 0; i < r; ++i) { out_shape[i] = x.shape()[perm[i]]; src[i] = xs[perm[i]]; }
  Tensor out = Tensor::empty(out_shape, x.dtype());
  TAPIR_DISPATCH(x.dtype(), T,
                 copy_strided<T>(out_shape, x.data<T>(), src, out.data<T>(), strides_of(out_shape)));
  return out;
}

Tensor slice(const Tensor& x, const std::vector<std::size_t>& begin,
             const std::vector<std::size_t>& step, const Shape& shape) {
  const auto xs = strides_of(x.shape());
  std::vector<std::ptrdiff_t> src(x.ndim());
  std::ptrdiff_t offset = 0;
  for (std::size_t d = 0; d < x.ndim(); ++d) {
    src[d] = xs[d] * static_cast<std::ptrdiff_t>(step[d]);
    offset += xs[d] * static_cast<std::ptrdiff_t>(begin[d]);
  }
  Tensor out = Tensor::empty(shape, x.dtype());
  if (out.size() == 0) return out;
  TAPIR_DISPATCH(x.dtype(), T,
                 copy_strided<T>(shape, x.data<T>() + offset, src, out.data<T>(), strides_of(shape)));
  return out;
}

Tensor unslice(const Tensor& g, const Shape& full_shape, const std::vector<std::size_t>& begin,
               const std::vector<std::size_t>& step) {
  Tensor out(full_shape, g.dtype());
  if (g.size() == 0) return out;
  const auto fs = strides_of(full_shape);
  std::vector<std::ptrdiff_t> dst(full_shape.size());
  std::ptrdiff_t offset = 0;
  for (std::size_t d = 0; d < full_shape.size(); ++d) {
    dst[d] = fs[d] * static_cast<std::ptrdiff_t>(step[d]);
    offset += fs[d] * static_cast<std::ptrdiff_t>(begin[d]);
  }
  TAPIR_DISPATCH(g.dtype(), T,
                 copy_strided<T>(g.shape(), g.data<T>(), strides_of(g.shape()), out.data<T>() + offset, dst));
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_dtypes(a, b, "matmul");
  if (a.ndim() < 2 || b.ndim() < 2)
    throw ShapeError("matmul: both operands need at least 2 dims, got " + shape_str(a.shape()) +
                     " and " + shape_str(b.shape()));
  const std::size_t ar = a.ndim(), br = b.ndim();
  const std::size_t m = trans_a ? a.dim(ar - 1) : a.dim(ar - 2);
  const std::size_t k = trans_a ? a.dim(ar - 2) : a.dim(ar - 1);
  const std::size_t kb = trans_b ? b.dim(br - 1) : b.dim(br - 2);
  const std::size_t n = trans_b ? b.dim(br - 2) : b.dim(br - 1);
  if (k != kb)
    throw ShapeError("matmul: inner dimensions differ: " + shape_str(a.shape()) +
                     (trans_a ? "^T" : "") + " @ " + shape_str(b.shape()) + (trans_b ? "^T" : ""));
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2);
  const Shape b_batch(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(a_batch, b_batch, "matmul (batch dims)");
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  checked_tensor_bytes(out_shape, a.dtype(), "matmul");  // names the op, not just "Tensor"
  Tensor out = Tensor::empty(out_shape, a.dtype());
  if (out.size() == 0) return out;  // nothing to compute (and k may be huge when m or n is 0)
  const std::size_t lda = a.dim(ar - 1), ldb = b.dim(br - 1);
  TAPIR_DISPATCH(a.dtype(), T, {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    if (numel(b_batch) == 1 && !trans_a) {
      // b is shared by every batch entry: fold a's batch into M, one large GEMM
      kernels::gemm<T>(false, trans_b, numel(batch) * m, n, k, T(1), pa, lda, pb, ldb, T(0), po, n);
    } else {
      const auto sa = kernels::broadcast_strides(a_batch, batch);
      const auto sb = kernels::broadcast_strides(b_batch, batch);
      const std::size_t count = numel(batch);
      for (std::size_t i = 0; i < count; ++i) {
        std::size_t rem = i;
        std::ptrdiff_t oa = 0, ob = 0;
        for (std::size_t d = batch.size(); d-- > 0;) {
          const std::size_t idx = rem % batch[d];
          rem /= batch[d];
          oa += static_cast<std::ptrdiff_t>(idx) * sa[d];
          ob += static_cast<std::ptrdiff_t>(idx) * sb[d];
        }
        kernels::gemm<T>(trans_a, trans_b, m, n, k, T(1), pa + oa * m * k, lda, pb + ob * k * n, ldb,
                         T(0), po + i * m * n, n);
      }
    }
  });
  return out;
}

}  // namespace tapir::tensor_ops
