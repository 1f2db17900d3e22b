#include "conv_columns.hpp"

#include <algorithm>

namespace tapir::kernels {

Geo3 to_geo3(const ConvGeometry& g) {
  Geo3 r;
  const std::size_t off = 3 - g.rank;
  for (std::size_t i = 0; i < g.rank; ++i) {
    r.small[off + i] = static_cast<long>(g.small[i]);
    r.big[off + i] = static_cast<long>(g.big[i]);
    r.filter[off + i] = static_cast<long>(g.filter[i]);
    r.stride[off + i] = static_cast<long>(g.stride[i]);
    r.dil[off + i] = static_cast<long>(g.dilation[i]);
    r.pad[off + i] = static_cast<long>(g.pad_lead[i]);
  }
  return r;
}

// cols[(n, o), (tap, c)] = big[n, o*s + tap*d - P, c], zero outside the image.
template <class T>
void im2col(const T* big, const Geo3& g, long images, long channels, T* cols) {
  const long rows = images * g.small_pixels();
  const long row_len = g.taps() * channels;
#pragma omp parallel for schedule(static) if (rows * row_len >= (1 << 15))
  for (long r = 0; r < rows; ++r) {
    long o2 = r % g.small[2], rest = r / g.small[2];
    const long o1 = rest % g.small[1];
    rest /= g.small[1];
    const long o0 = rest % g.small[0], n = rest / g.small[0];
    T* dst = cols + r * row_len;
    for (long t0 = 0; t0 < g.filter[0]; ++t0) {
      const long p0 = o0 * g.stride[0] + t0 * g.dil[0] - g.pad[0];
      for (long t1 = 0; t1 < g.filter[1]; ++t1) {
        const long p1 = o1 * g.stride[1] + t1 * g.dil[1] - g.pad[1];
        for (long t2 = 0; t2 < g.filter[2]; ++t2, dst += channels) {
          const long p2 = o2 * g.stride[2] + t2 * g.dil[2] - g.pad[2];
          if (p0 < 0 || p0 >= g.big[0] || p1 < 0 || p1 >= g.big[1] || p2 < 0 || p2 >= g.big[2]) {
            std::fill(dst, dst + channels, T(0));
          } else {
            const T* src = big + (((n * g.big[0] + p0) * g.big[1] + p1) * g.big[2] + p2) * channels;
            std::copy(src, src + channels, dst);
          }
        }
      }
    }
  }
}

Reach reach_table(long big, long small, long filter, long stride, long dil, long pad) {
  Reach r;
  r.begin.reserve(static_cast<std::size_t>(big) + 1);
  for (long p = 0; p < big; ++p) {
    r.begin.push_back(static_cast<long>(r.pairs.size()));
    for (long t = 0; t < filter; ++t) {
      const long a = p + pad - t * dil;
      if (a >= 0 && a % stride == 0 && a / stride < small) r.pairs.emplace_back(t, a / stride);
    }
  }
  r.begin.push_back(static_cast<long>(r.pairs.size()));
  return r;
}

// The adjoint of im2col as a gather: big[n, p, c] = sum over taps with p = o*s + tap*d - P.
template <class T>
void col2im(const T* cols, const Geo3& g, long images, long channels, T* big) {
  const long pixels = images * g.big_pixels();
  const long row_len = g.taps() * channels;
  Reach reach[3];
  for (int j = 0; j < 3; ++j)
    reach[j] = reach_table(g.big[j], g.small[j], g.filter[j], g.stride[j], g.dil[j], g.pad[j]);
#pragma omp parallel for schedule(static) if (pixels * channels >= (1 << 14))
  for (long q = 0; q < pixels; ++q) {
    long p2 = q % g.big[2], rest = q / g.big[2];
    const long p1 = rest % g.big[1];
    rest /= g.big[1];
    const long p0 = rest % g.big[0], n = rest / g.big[0];
    T* dst = big + q * channels;
    std::fill(dst, dst + channels, T(0));
    for (long i0 = reach[0].begin[p0]; i0 < reach[0].begin[p0 + 1]; ++i0) {
      const auto [t0, o0] = reach[0].pairs[i0];
      for (long i1 = reach[1].begin[p1]; i1 < reach[1].begin[p1 + 1]; ++i1) {
        const auto [t1, o1] = reach[1].pairs[i1];
        const long row01 = (n * g.small[0] + o0) * g.small[1] + o1;
        const long tap01 = t0 * g.filter[1] + t1;
        for (long i2 = reach[2].begin[p2]; i2 < reach[2].begin[p2 + 1]; ++i2) {
          const auto [t2, o2] = reach[2].pairs[i2];
          const T* src = cols + (row01 * g.small[2] + o2) * row_len + (tap01 * g.filter[2] + t2) * channels;
#pragma omp simd
          for (long c = 0; c < channels; ++c) dst[c] += src[c];
        }
      }
    }
  }
}

template void im2col<float>(const float*, const Geo3&, long, long, float*);
template void im2col<double>(const double*, const Geo3&, long, long, double*);
template void col2im<float>(const float*, const Geo3&, long, long, float*);
template void col2im<double>(const double*, const Geo3&, long, long, double*);

}  // namespace tapir::kernels
