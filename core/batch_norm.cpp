// fused_batch_norm: training-mode batch normalization over every axis but the last, as one op.
//
// With x viewed as rows r = 1..R of C channels, per channel:
//   μ = Σ_r x / R,  σ² = Σ_r (x − μ)² / R,  s = 1 / √(σ² + ε),  x̂ = (x − μ)·s,  y = γ·x̂ + β
// and the gradient through the batch statistics (the same as moments + batch_normalization's):
//   dβ = Σ_r dy,  dγ = Σ_r dy·x̂,  dx = γ·s·(dy − dβ/R − x̂·dγ/R)
// Forward: three passes over x (mean, centred variance, output); backward: three (Σdy, Σdy·x̂, then
// dx), with x̂ recomputed rather than stored. The composed version makes a dozen passes and as many
// temporaries. Sums run over fixed blocks of rows whose partial sums are added in block order, so
// the result is the same at any thread count.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <tapir/core/nn.hpp>
#include <tapir/core/simd.hpp>

namespace tapir {

namespace {

constexpr std::size_t kBlockRows = 256;  // rows per partial sum: fixed, independent of threads

// out[c] = Σ_r f(r, c) for c < C, summed in double, block by block in a fixed order. The work is
// split over (row block, channel chunk) pairs, so a short batch with many channels runs in
// parallel too; every channel still sums its rows in the same order.
template <class F> void channel_sums(std::size_t rows, std::size_t C, double* out, F f) {
  constexpr std::size_t kChunk = 64;  // channels per task
  const std::size_t blocks = (rows + kBlockRows - 1) / kBlockRows, chunks = (C + kChunk - 1) / kChunk;
  std::vector<double> partial(blocks * C, 0.0);
  const std::ptrdiff_t tasks = static_cast<std::ptrdiff_t>(blocks * chunks);
#pragma omp parallel for schedule(static) if (rows * C >= simd::kParallelGrain)
  for (std::ptrdiff_t t = 0; t < tasks; ++t) {
    const std::size_t b = static_cast<std::size_t>(t) / chunks, c0 = (static_cast<std::size_t>(t) % chunks) * kChunk;
    const std::size_t c1 = std::min(C, c0 + kChunk);
    double* p = partial.data() + b * C;
    const std::size_t end = std::min(rows, (b + 1) * kBlockRows);
    for (std::size_t r = b * kBlockRows; r < end; ++r)
#pragma omp simd
      for (std::size_t c = c0; c < c1; ++c) p[c] += f(r, c);
  }
  std::fill(out, out + C, 0.0);
  for (std::size_t b = 0; b < blocks; ++b)
    for (std::size_t c = 0; c < C; ++c) out[c] += partial[b * C + c];
}

template <class F> void for_rows(std::size_t rows, std::size_t C, F f) {
#pragma omp parallel for schedule(static) if (rows * C >= simd::kParallelGrain)
  for (std::size_t r = 0; r < rows; ++r) f(r);
}

struct Stats {
  std::vector<double> mean, inv_std, variance;
};

template <class T> Stats statistics(const T* x, std::size_t rows, std::size_t C, double epsilon) {
  Stats s{std::vector<double>(C), std::vector<double>(C), std::vector<double>(C)};
  channel_sums(rows, C, s.mean.data(), [=](std::size_t r, std::size_t c) { return double(x[r * C + c]); });
  for (auto& m : s.mean) m /= static_cast<double>(rows);
  const double* mean = s.mean.data();
  channel_sums(rows, C, s.variance.data(), [=](std::size_t r, std::size_t c) {
    const double d = double(x[r * C + c]) - mean[c];
    return d * d;
  });
  for (std::size_t c = 0; c < C; ++c) {
    s.variance[c] /= static_cast<double>(rows);
    s.inv_std[c] = 1.0 / std::sqrt(s.variance[c] + epsilon);
  }
  return s;
}

// Per-channel coefficients in T: y = x·a + b with a = γ·s, b = β − μ·γ·s.
template <class T> void normalize(const T* x, const Stats& s, const T* gamma, const T* beta, std::size_t rows,
                                  std::size_t C, T* y) {
  std::vector<T> a(C), b(C);
  for (std::size_t c = 0; c < C; ++c) {
    const double g = gamma ? double(gamma[c]) : 1.0;
    a[c] = static_cast<T>(g * s.inv_std[c]);
    b[c] = static_cast<T>((beta ? double(beta[c]) : 0.0) - s.mean[c] * g * s.inv_std[c]);
  }
  const T *pa = a.data(), *pb = b.data();
  for_rows(rows, C, [=](std::size_t r) {
#pragma omp simd
    for (std::size_t c = 0; c < C; ++c) y[r * C + c] = x[r * C + c] * pa[c] + pb[c];
  });
}

struct Grads {
  Tensor dx, dgamma, dbeta;
};

template <class T> Grads backward_pass(const T* x, const T* dy, const Stats& s, const T* gamma, std::size_t rows,
                                       std::size_t C, bool need_x, const Shape& x_shape, DType dtype) {
  std::vector<double> sum_dy(C), sum_dy_xhat(C);
  const double *mean = s.mean.data(), *inv = s.inv_std.data();
  channel_sums(rows, C, sum_dy.data(), [=](std::size_t r, std::size_t c) { return double(dy[r * C + c]); });
  channel_sums(rows, C, sum_dy_xhat.data(), [=](std::size_t r, std::size_t c) {
    return double(dy[r * C + c]) * (double(x[r * C + c]) - mean[c]) * inv[c];
  });
  Grads g;
  g.dbeta = Tensor::empty({C}, dtype);
  g.dgamma = Tensor::empty({C}, dtype);
  for (std::size_t c = 0; c < C; ++c) {
    g.dbeta.data<T>()[c] = static_cast<T>(sum_dy[c]);
    g.dgamma.data<T>()[c] = static_cast<T>(sum_dy_xhat[c]);
  }
  if (!need_x) return g;
  // dx = k·(dy − m1 − x̂·m2), x̂ = (x − μ)·s: per channel dx = k·dy + u·x + v
  std::vector<T> k(C), u(C), v(C);
  const double n = static_cast<double>(rows);
  for (std::size_t c = 0; c < C; ++c) {
    const double kc = (gamma ? double(gamma[c]) : 1.0) * inv[c];
    const double m1 = sum_dy[c] / n, m2 = sum_dy_xhat[c] / n;
    k[c] = static_cast<T>(kc);
    u[c] = static_cast<T>(-kc * m2 * inv[c]);
    v[c] = static_cast<T>(-kc * m1 + kc * m2 * inv[c] * mean[c]);
  }
  g.dx = Tensor::empty(x_shape, dtype);
  T* dx = g.dx.data<T>();
  const T *pk = k.data(), *pu = u.data(), *pv = v.data();
  for_rows(rows, C, [=](std::size_t r) {
#pragma omp simd
    for (std::size_t c = 0; c < C; ++c) dx[r * C + c] = dy[r * C + c] * pk[c] + x[r * C + c] * pu[c] + pv[c];
  });
  return g;
}

void check_channel_vector(const Var& v, std::size_t C, DType dtype, const char* what) {
  if (!v.defined()) return;
  if (v.shape() != Shape{C})
    throw ShapeError(std::string("fused_batch_norm: ") + what + " has shape " + shape_str(v.shape()) +
                     ", expected [" + std::to_string(C) + "] (one value per channel)");
  if (v.dtype() != dtype)
    throw TypeError(std::string("fused_batch_norm: ") + what + " is " + dtype_name(v.dtype()) + " but x is " +
                    dtype_name(dtype));
}

}  // namespace

FusedBatchNorm fused_batch_norm(const Var& x, const Var& scale, const Var& offset, double epsilon) {
  if (!x.defined()) throw ValueError("fused_batch_norm: x is undefined");
  if (!(epsilon > 0.0)) throw ValueError("fused_batch_norm: epsilon must be > 0, got " + std::to_string(epsilon));
  if (x.ndim() < 2)
    throw ShapeError("fused_batch_norm: x needs a batch axis and a channel axis, got shape " + shape_str(x.shape()));
  const std::size_t C = x.shape().back(), rows = x.size() / std::max<std::size_t>(C, 1);
  if (C == 0) throw ShapeError("fused_batch_norm: x has no channels (shape " + shape_str(x.shape()) + ")");
  if (rows < 2)
    throw ValueError("fused_batch_norm: needs more than one value per channel, got shape " + shape_str(x.shape()));
  check_channel_vector(scale, C, x.dtype(), "scale");
  check_channel_vector(offset, C, x.dtype(), "offset");
  const Tensor xv = x.value();
  const Tensor gv = scale.defined() ? scale.value() : Tensor(), bv = offset.defined() ? offset.value() : Tensor();
  auto stats = std::make_shared<Stats>();
  FusedBatchNorm out;
  Tensor y = Tensor::empty(xv.shape(), xv.dtype());
  out.batch_mean = Tensor::empty({C}, xv.dtype());
  out.batch_variance = Tensor::empty({C}, xv.dtype());
  TAPIR_DISPATCH(xv.dtype(), T, {
    *stats = statistics<T>(xv.data<T>(), rows, C, epsilon);
    normalize<T>(xv.data<T>(), *stats, gv.defined() ? gv.data<T>() : nullptr, bv.defined() ? bv.data<T>() : nullptr,
                 rows, C, y.data<T>());
    for (std::size_t c = 0; c < C; ++c) {
      out.batch_mean.data<T>()[c] = static_cast<T>(stats->mean[c]);
      out.batch_variance.data<T>()[c] = static_cast<T>(stats->variance[c]);
    }
  });
  std::vector<Var> inputs{x};
  if (scale.defined()) inputs.push_back(scale);
  if (offset.defined()) inputs.push_back(offset);
  const bool need_x = x.requires_grad(), has_scale = scale.defined(), has_offset = offset.defined();
  out.y = custom_op("fused_batch_norm", y, inputs, [=](const Tensor& dy) {
    Grads g;
    TAPIR_DISPATCH(dy.dtype(), T, {
      g = backward_pass<T>(xv.data<T>(), dy.data<T>(), *stats, has_scale ? gv.data<T>() : nullptr, rows, C, need_x,
                           xv.shape(), dy.dtype());
    });
    std::vector<Tensor> grads{g.dx};
    if (has_scale) grads.push_back(g.dgamma);
    if (has_offset) grads.push_back(g.dbeta);
    return grads;
  });
  return out;
}

}  // namespace tapir
