// Max and average pooling on the convolution geometry (a pool is a convolution whose "kernel" is
// a max or a mean): ConvSpec::geometry gives the output sizes and the leading padding, so the
// two ops share every size rule with convolution. Work is split over images (each image by one
// thread, in a fixed order), so forward and backward are bit-identical at any thread count,
// including the backward scatters of overlapping windows.
#include <tapir/core/pooling.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include <tapir/core/ops.hpp>
#include <tapir/core/simd.hpp>

#include "kernels/conv_geo3.hpp"

namespace tapir {

namespace {

// One pooling call: the geometry padded to 3 spatial dims (big = input, small = output,
// filter = window; dilation 1), and the batch and channel split of x.
struct PoolCall {
  std::size_t rank = 0, images = 0, channels = 0;
  Shape batch, out_shape;
  kernels::Geo3 g;
};

}  // namespace

ConvSpec pool_spec(const IntOrList& pool_size, const PoolOptions& options, const char* who) {
  const int rank = options.rank() > 0 ? options.rank()
                                      : (pool_size.values().size() > 1 ? static_cast<int>(pool_size.values().size()) : 2);
  if (rank < 1 || rank > 3)
    throw ValueError(std::string(who) + ": rank must be 1, 2 or 3, got " + std::to_string(rank));
  const std::vector<int> window = pool_size.expand(static_cast<std::size_t>(rank), (std::string(who) + " pool_size").c_str());
  std::vector<std::size_t> filter;
  for (int w : window) {
    if (w < 1) throw ValueError(std::string(who) + ": pool_size must be >= 1, got " + std::to_string(w));
    filter.push_back(static_cast<std::size_t>(w));
  }
  const IntOrList strides = options.strides() ? *options.strides() : IntOrList(window);
  return conv_spec(filter, ConvOptions().strides(strides).padding(options.padding()), who);
}

namespace {

PoolCall inspect(const Var& x, const IntOrList& pool_size, const PoolOptions& options, const char* who) {
  if (!x.defined()) throw ValueError(std::string(who) + ": input is undefined");
  const ConvSpec spec = pool_spec(pool_size, options, who);
  PoolCall c;
  c.rank = spec.rank();
  const Shape& xs = x.shape();
  if (xs.size() < c.rank + 1)
    throw ShapeError(std::string(who) + ": input shape " + shape_str(xs) + " has rank " + std::to_string(xs.size()) +
                     "; rank-" + std::to_string(c.rank) + " pooling needs [batch..., spatial x" + std::to_string(c.rank) +
                     ", channels]");
  const std::vector<std::size_t> in(xs.end() - static_cast<long>(c.rank) - 1, xs.end() - 1);
  const ConvGeometry g = spec.geometry(in, (std::string(who) + " (input shape " + shape_str(xs) + ")").c_str());
  c.batch.assign(xs.begin(), xs.end() - static_cast<long>(c.rank) - 1);
  c.images = numel(c.batch);
  c.channels = xs.back();
  c.g = kernels::to_geo3(g);
  c.out_shape = c.batch;
  c.out_shape.insert(c.out_shape.end(), g.small.begin(), g.small.end());
  c.out_shape.push_back(c.channels);
  return c;
}

// The window of output o along one dim, clipped to the input: [lo, hi).
inline void window_range(const PoolCall& c, int d, long o, long& lo, long& hi) {
  lo = std::max(0L, o * c.g.stride[d] - c.g.pad[d]);
  hi = std::min(c.g.big[d], o * c.g.stride[d] - c.g.pad[d] + c.g.filter[d]);
}

// Calls f(output pixel, input pixel) for every (output, input) pair of image-relative indices,
// outputs in order, taps in order within each window.
template <class F>
void for_each_window(const PoolCall& c, F f) {
  for (long oz = 0; oz < c.g.small[0]; ++oz)
    for (long oy = 0; oy < c.g.small[1]; ++oy)
      for (long ox = 0; ox < c.g.small[2]; ++ox) {
        long z0, z1, y0, y1, x0, x1;
        window_range(c, 0, oz, z0, z1);
        window_range(c, 1, oy, y0, y1);
        window_range(c, 2, ox, x0, x1);
        const long o = (oz * c.g.small[1] + oy) * c.g.small[2] + ox;
        f(o, z0, z1, y0, y1, x0, x1);
      }
}

template <class T>
void max_forward(const PoolCall& c, const T* x, T* y, std::int64_t* arg) {
  const long C = static_cast<long>(c.channels), in_px = c.g.big_pixels(), out_px = c.g.small_pixels();
#pragma omp parallel for schedule(static) if (c.images > 1 && c.images * out_px * C >= static_cast<long>(simd::kParallelGrain))
  for (long n = 0; n < static_cast<long>(c.images); ++n) {
    const T* xi = x + n * in_px * C;
    T* yi = y + n * out_px * C;
    std::int64_t* ai = arg + n * out_px * C;
    for_each_window(c, [&](long o, long z0, long z1, long y0, long y1, long x0, long x1) {
      T* yo = yi + o * C;
      std::int64_t* ao = ai + o * C;
      std::fill(yo, yo + C, -std::numeric_limits<T>::infinity());
      std::fill(ao, ao + C, -1);
      for (long z = z0; z < z1; ++z)
        for (long yy = y0; yy < y1; ++yy)
          for (long xx = x0; xx < x1; ++xx) {
            const long p = (z * c.g.big[1] + yy) * c.g.big[2] + xx;
            const T* xp = xi + p * C;
            for (long ch = 0; ch < C; ++ch)
              if (xp[ch] > yo[ch] || ao[ch] < 0) {  // first maximum wins; NaN propagates via the first tap
                yo[ch] = xp[ch];
                ao[ch] = p;
              }
          }
    });
  }
}

template <class T>
void max_backward(const PoolCall& c, const T* g, const std::int64_t* arg, T* dx) {
  const long C = static_cast<long>(c.channels), in_px = c.g.big_pixels(), out_px = c.g.small_pixels();
  std::fill(dx, dx + c.images * in_px * C, T(0));
#pragma omp parallel for schedule(static) if (c.images > 1 && c.images * out_px * C >= static_cast<long>(simd::kParallelGrain))
  for (long n = 0; n < static_cast<long>(c.images); ++n) {
    const T* gi = g + n * out_px * C;
    const std::int64_t* ai = arg + n * out_px * C;
    T* di = dx + n * in_px * C;
    for (long o = 0; o < out_px; ++o)
      for (long ch = 0; ch < C; ++ch) di[ai[o * C + ch] * C + ch] += gi[o * C + ch];
  }
}

// Average pooling forward (backward = false: y from x) or backward (true: dx from g); the
// window's divisor is its number of real (unpadded) elements.
template <class T>
void average(const PoolCall& c, const T* src, T* dst, bool backward) {
  const long C = static_cast<long>(c.channels), in_px = c.g.big_pixels(), out_px = c.g.small_pixels();
  if (backward) std::fill(dst, dst + c.images * in_px * C, T(0));
#pragma omp parallel for schedule(static) if (c.images > 1 && c.images * out_px * C >= static_cast<long>(simd::kParallelGrain))
  for (long n = 0; n < static_cast<long>(c.images); ++n) {
    const T* si = src + n * (backward ? out_px : in_px) * C;
    T* di = dst + n * (backward ? in_px : out_px) * C;
    for_each_window(c, [&](long o, long z0, long z1, long y0, long y1, long x0, long x1) {
      const T inv = T(1) / static_cast<T>((z1 - z0) * (y1 - y0) * (x1 - x0));
      if (!backward) std::fill(di + o * C, di + (o + 1) * C, T(0));
      for (long z = z0; z < z1; ++z)
        for (long yy = y0; yy < y1; ++yy)
          for (long xx = x0; xx < x1; ++xx) {
            const long p = (z * c.g.big[1] + yy) * c.g.big[2] + xx;
            if (backward)
              for (long ch = 0; ch < C; ++ch) di[p * C + ch] += si[o * C + ch] * inv;
            else
              for (long ch = 0; ch < C; ++ch) di[o * C + ch] += si[p * C + ch];
          }
      if (!backward)
        for (long ch = 0; ch < C; ++ch) di[o * C + ch] *= inv;
    });
  }
}

}  // namespace

Var max_pool(const Var& x, const IntOrList& pool_size, const PoolOptions& options) {
  const PoolCall c = inspect(x, pool_size, options, "max_pool");
  const Tensor xv = x.value();
  Tensor y = Tensor::empty(c.out_shape, xv.dtype());
  auto arg = std::make_shared<std::vector<std::int64_t>>(y.size());
  TAPIR_DISPATCH(xv.dtype(), T, max_forward<T>(c, xv.data<T>(), y.data<T>(), arg->data()));
  const Shape x_shape = x.shape();
  return custom_op("max_pool", y, {x}, [c, arg, x_shape](const Tensor& g) {
    Tensor dx = Tensor::empty(x_shape, g.dtype());
    TAPIR_DISPATCH(g.dtype(), T, max_backward<T>(c, g.data<T>(), arg->data(), dx.data<T>()));
    return std::vector<Tensor>{dx};
  });
}

Var avg_pool(const Var& x, const IntOrList& pool_size, const PoolOptions& options) {
  const PoolCall c = inspect(x, pool_size, options, "avg_pool");
  const Tensor xv = x.value();
  Tensor y = Tensor::empty(c.out_shape, xv.dtype());
  TAPIR_DISPATCH(xv.dtype(), T, average<T>(c, xv.data<T>(), y.data<T>(), false));
  const Shape x_shape = x.shape();
  return custom_op("avg_pool", y, {x}, [c, x_shape](const Tensor& g) {
    Tensor dx = Tensor::empty(x_shape, g.dtype());
    TAPIR_DISPATCH(g.dtype(), T, average<T>(c, g.data<T>(), dx.data<T>(), true));
    return std::vector<Tensor>{dx};
  });
}

Var global_avg_pool(const Var& x, int rank) {
  if (rank < 1 || rank > 3) throw ValueError("global_avg_pool: rank must be 1, 2 or 3, got " + std::to_string(rank));
  if (!x.defined() || x.ndim() < static_cast<std::size_t>(rank) + 1)
    throw ShapeError("global_avg_pool: a rank-" + std::to_string(rank) + " input needs [batch..., spatial x" +
                     std::to_string(rank) + ", channels], got " + (x.defined() ? shape_str(x.shape()) : "undefined"));
  std::vector<int> axes;
  for (int d = 0; d < rank; ++d) axes.push_back(-2 - d);
  return mean(x, axes);
}

}  // namespace tapir
