#include "conv_thin.hpp"

#include <algorithm>
#include <vector>

#include <tapir/core/simd.hpp>
#include <xsimd/xsimd.hpp>

#include "elementwise.hpp"
#include "scratch.hpp"

namespace tapir::kernels {

namespace {

// Along dim j, the taps of small position o that land inside the image form an interval
// [lo, hi): p = o*s - P + t*d increases with t.
struct TapInterval {
  long lo = 0, hi = 0, origin = 0;  // origin = p at t = 0
};

// Along dim j, the (tap, small position) pairs reaching big position p form an arithmetic run:
// o*s + t*d = p + P, and since s or d is 1, t steps by s while o steps by -d.
struct ReachRun {
  long t_first = 0, count = 0, o_first = 0;
};

struct Tables {
  std::array<std::vector<TapInterval>, 3> taps;   // indexed by small position
  std::array<std::vector<ReachRun>, 3> reach;     // indexed by big position
  explicit Tables(const Geo3& g) {
    for (int j = 0; j < 3; ++j) {
      const long s = g.stride[j], d = g.dil[j], P = g.pad[j], f = g.filter[j];
      taps[j].reserve(static_cast<std::size_t>(g.small[j]));  // built on every call: no regrowth
      reach[j].reserve(static_cast<std::size_t>(g.big[j]));
      for (long o = 0; o < g.small[j]; ++o) {
        TapInterval iv;
        iv.origin = o * s - P;
        iv.lo = iv.origin >= 0 ? 0 : (-iv.origin + d - 1) / d;
        iv.hi = g.big[j] - iv.origin <= 0 ? 0 : std::min(f, (g.big[j] - iv.origin + d - 1) / d);
        if (iv.hi < iv.lo) iv.hi = iv.lo;
        taps[j].push_back(iv);
      }
      for (long p = 0; p < g.big[j]; ++p) {
        ReachRun r;
        const long a = p + P;
        long lo = a - s * g.small[j] >= 0 ? (a - s * g.small[j]) / d + 1 : 0;  // keeps o < small
        const long hi = std::min(f - 1, a / d);                                  // keeps o >= 0
        if (s > 1) lo += ((a - lo) % s + s) % s;                                 // t = a (mod s)
        if (lo <= hi) {
          r.t_first = lo;
          r.count = (hi - lo) / s + 1;
          r.o_first = (a - lo * d) / s;
        }
        reach[j].push_back(r);
      }
    }
  }
};

// How far the last small pixel's last tap reaches past the image along the innermost dim (0
// when it stays inside).
inline long innermost_overhang(const Geo3& g) {
  return std::max(0L, (g.small[2] - 1) * g.stride[2] - g.pad[2] + (g.filter[2] - 1) * g.dil[2] - (g.big[2] - 1));
}

// The big side's rows along the innermost dim, with zeros on both sides where some small
// pixel's taps leave the image (when `wanted` and there is such a pixel), so that every small
// pixel reads all its taps along that dim: the register blocks then need no border cases. The
// big side here is thin, so the copy is small; it lives in the caller's scratch buffer. A zero
// product added to a sum changes nothing (starting from +0 a sum never becomes -0), so the sums
// keep their bits, unless a value multiplied by the zeros is infinite or NaN.
template <class T>
struct PaddedRows {
  const T* data;
  long pixels;  // a row's length
  long start;   // where position 0 of a row lies
  PaddedRows(const T* big, const Geo3& g, long images, long thin, bool wanted, Scratch<T>& scratch)
      : data(big), pixels(g.big[2]), start(0) {
    const long hi = innermost_overhang(g);
    if (!wanted || (g.pad[2] == 0 && hi == 0)) return;
    start = g.pad[2];
    pixels = g.big[2] + start + hi;
    const long rows = images * g.big[0] * g.big[1];
    T* const padded = scratch.get(static_cast<std::size_t>(std::max(1L, rows * pixels * thin)));
    const long lo_values = start * thin, mid_values = g.big[2] * thin, hi_values = hi * thin;
    // split by rows as the kernels split their lines (by image), so that each core finds the
    // rows it reads in its own cache (made on one thread, the other core's half of the reads
    // came from this core's cache: the 2-thread 1 -> 32 convolution took 1.65x less time than
    // at 1 thread, not 2x)
    simd::parallel_for(rows * pixels * thin >= (1 << 14), rows, [&](long r) {
      T* out = padded + r * pixels * thin;
      std::fill_n(out, lo_values, T(0));
      std::copy_n(big + r * mid_values, mid_values, out + lo_values);
      std::fill_n(out + lo_values + mid_values, hi_values, T(0));
    });
    data = padded;
  }
  // the first value of position `pos` (-start <= pos) of row (n, p0, p1)
  const T* at(const Geo3& g, long n, long p0, long p1, long pos, long thin) const {
    return data + (((n * g.big[0] + p0) * g.big[1] + p1) * pixels + start + pos) * thin;
  }
};

}  // namespace

template <class T>
void gather_to_small(const T* big, const T* wt, const Geo3& g, long images, long thin, long wide, T* small) {
  using B = xsimd::batch<T>;
  constexpr long W = static_cast<long>(B::size);
  const Tables tab(g);
  const long lines = images * g.small[0] * g.small[1];
  const long tap_stride = thin * wide;
  const long pixel_step = g.dil[2] * thin;
  // With whole vectors of the wide axis every pixel takes the register blocks, border pixels
  // reading zeros (PaddedRows); otherwise each pixel its taps inside the image (`one`).
  const bool blocked = wide % W == 0;
  static thread_local Scratch<T> pad_scratch;
  const PaddedRows<T> rows(big, g, images, thin, blocked, pad_scratch);
#pragma omp parallel for schedule(static) if (lines * g.small[2] * wide * g.taps() >= (1 << 16))
  for (long line = 0; line < lines; ++line) {
    const long o1 = line % g.small[1], o0 = (line / g.small[1]) % g.small[0], n = line / (g.small[1] * g.small[0]);
    const TapInterval& i0 = tab.taps[0][static_cast<std::size_t>(o0)];
    const TapInterval& i1 = tab.taps[1][static_cast<std::size_t>(o1)];
    // one small pixel, any position: the taps of its box
    auto one = [&](long o2) {
      const TapInterval& i2 = tab.taps[2][static_cast<std::size_t>(o2)];
      T* out = small + (line * g.small[2] + o2) * wide;
      for (long c0 = 0; c0 < wide; c0 += W) {
        const bool vec = c0 + W <= wide;  // a whole vector of the wide axis, else scalar tail
        B acc(T(0));
        T tail[W > 0 ? W : 1] = {};
        for (long t0 = i0.lo; t0 < i0.hi; ++t0) {
          const long p0 = i0.origin + t0 * g.dil[0];
          for (long t1 = i1.lo; t1 < i1.hi; ++t1) {
            const long p1 = i1.origin + t1 * g.dil[1];
            const T* in = big + (((n * g.big[0] + p0) * g.big[1] + p1) * g.big[2] + i2.origin + i2.lo * g.dil[2]) * thin;
            const T* w = wt + ((t0 * g.filter[1] + t1) * g.filter[2] + i2.lo) * tap_stride + c0;
            for (long t2 = i2.lo; t2 < i2.hi; ++t2, in += pixel_step, w += tap_stride)
              for (long h = 0; h < thin; ++h) {
                if (vec) acc = xsimd::fma(B(in[h]), B::load_unaligned(w + h * wide), acc);
                else for (long c = 0; c < wide - c0; ++c) tail[c] += in[h] * w[h * wide + c];
              }
          }
        }
        if (vec) acc.store_unaligned(out + c0);
        else for (long c = 0; c < wide - c0; ++c) out[c0 + c] = tail[c];
      }
    };
    // P pixels x V vectors of the wide axis from c0 at once: every weight vector loaded feeds P
    // FMAs, every input value broadcast feeds V, and the P x V accumulators are independent
    // chains (a single chain waits on the FMA latency at every tap). Each output adds its taps in
    // the order `one` does. NEXT > 0: one source channel and pixels NEXT values apart (stride 1
    // or 2), so that every load is a fixed offset from one pointer (with a run-time distance the
    // P pointers do not fit in registers).
    auto block = [&](long o2, long c0, auto pixels, auto vectors, auto next_tag) {
      constexpr long P = decltype(pixels)::value, V = decltype(vectors)::value, NEXT = decltype(next_tag)::value;
      const long channels_in = NEXT > 0 ? 1 : thin;
      const long next = NEXT > 0 ? NEXT : g.stride[2] * thin;  // from pixel o2 to o2 + 1 in a row
      const long origin = o2 * g.stride[2] - g.pad[2];
      T* out = small + (line * g.small[2] + o2) * wide + c0;
      B acc[P][V];
      for (long p = 0; p < P; ++p)
        for (long v = 0; v < V; ++v) acc[p][v] = B(T(0));
      for (long t0 = i0.lo; t0 < i0.hi; ++t0) {
        const long p0 = i0.origin + t0 * g.dil[0];
        for (long t1 = i1.lo; t1 < i1.hi; ++t1) {
          const long p1 = i1.origin + t1 * g.dil[1];
          const T* in = rows.at(g, n, p0, p1, origin, thin);
          const T* w = wt + (t0 * g.filter[1] + t1) * g.filter[2] * tap_stride + c0;
          for (long t2 = 0; t2 < g.filter[2]; ++t2, in += pixel_step, w += tap_stride)
            for (long h = 0; h < channels_in; ++h) {
              B wv[V];
              for (long v = 0; v < V; ++v) wv[v] = B::load_unaligned(w + h * wide + v * W);
              for (long p = 0; p < P; ++p) {
                const B x(in[h + p * next]);
                for (long v = 0; v < V; ++v) acc[p][v] = xsimd::fma(x, wv[v], acc[p][v]);
              }
            }
        }
      }
      for (long p = 0; p < P; ++p)
        for (long v = 0; v < V; ++v) acc[p][v].store_unaligned(out + p * wide + v * W);
    };
    using std::integral_constant;
    // pixels o2 .. end by blocks of P, then of 4, 2 and 1, with the wide axis's vectors in groups
    // of V: 8 x 1, 6 x 2, 4 x 3 and 4 x 4 keep 8-16 chains in flight
    auto blocks = [&](long& o2, long end, auto pixels, auto vectors) {
      constexpr long P = decltype(pixels)::value, V = decltype(vectors)::value;
      const long groups = wide / (V * W);
      auto run = [&](auto p, auto next_tag) {
        for (; o2 + decltype(p)::value <= end; o2 += decltype(p)::value)
          for (long k = 0; k < groups; ++k) block(o2, k * V * W, p, vectors, next_tag);
      };
      auto all = [&](auto next_tag) {
        run(pixels, next_tag);
        if constexpr (P > 4) run(integral_constant<long, 4>{}, next_tag);
        run(integral_constant<long, 2>{}, next_tag);
        run(integral_constant<long, 1>{}, next_tag);
      };
      const long next = g.stride[2] * thin;
      if (thin == 1 && next == 1) all(integral_constant<long, 1>{});
      else if (thin == 1 && next == 2) all(integral_constant<long, 2>{});
      else all(integral_constant<long, 0>{});
    };
    long o2 = 0;
    if (!blocked) {
      for (; o2 < g.small[2]; ++o2) one(o2);
      continue;
    }
    const long end = g.small[2], vectors = wide / W;
    if (vectors % 4 == 0) blocks(o2, end, integral_constant<long, 4>{}, integral_constant<long, 4>{});
    else if (vectors % 3 == 0) blocks(o2, end, integral_constant<long, 4>{}, integral_constant<long, 3>{});
    else if (vectors % 2 == 0) blocks(o2, end, integral_constant<long, 6>{}, integral_constant<long, 2>{});
    else blocks(o2, end, integral_constant<long, 8>{}, integral_constant<long, 1>{});
  }
}

template <class T>
void gather_to_big(const T* small, const T* wt, const Geo3& g, long images, long thin, long wide, T* big) {
  using B = xsimd::batch<T>;
  constexpr long W = static_cast<long>(B::size);
  constexpr long kBlock = 4;  // big pixels sharing each weight load in the interior
  const Tables tab(g);
  const long lines = images * g.big[0] * g.big[1];
  const long full = wide / W;
  const long tap_stride = thin * wide;
  const long tap_step = g.stride[2] * tap_stride;  // along the innermost run
  const long row_step = -g.dil[2] * wide;
  // With stride 1 along the innermost dim, the p2 reached by every tap form one interval, and
  // neighbouring p2 read neighbouring small pixels for the same tap.
  long inner_begin = g.big[2], inner_end = g.big[2];
  if (g.stride[2] == 1 && wide % W == 0)
    for (long p2 = 0; p2 < g.big[2]; ++p2)
      if (tab.reach[2][static_cast<std::size_t>(p2)].count == g.filter[2]) {
        if (inner_begin == g.big[2]) inner_begin = p2;
        inner_end = p2 + 1;
      }
#pragma omp parallel for schedule(static) if (lines * g.big[2] * wide * g.taps() >= (1 << 16))
  for (long line = 0; line < lines; ++line) {
    const long p1 = line % g.big[1], p0 = (line / g.big[1]) % g.big[0], n = line / (g.big[1] * g.big[0]);
    const ReachRun& r0 = tab.reach[0][static_cast<std::size_t>(p0)];
    const ReachRun& r1 = tab.reach[1][static_cast<std::size_t>(p1)];
    auto one = [&](long p2) {
      const ReachRun& r2 = tab.reach[2][static_cast<std::size_t>(p2)];
      for (long h = 0; h < thin; ++h) {
        B acc(T(0));
        T tail = 0;
        for (long i0 = 0; i0 < r0.count; ++i0) {
          const long t0 = r0.t_first + i0 * g.stride[0], o0 = r0.o_first - i0 * g.dil[0];
          for (long i1 = 0; i1 < r1.count; ++i1) {
            const long t1 = r1.t_first + i1 * g.stride[1], o1 = r1.o_first - i1 * g.dil[1];
            const T* s = small + (((n * g.small[0] + o0) * g.small[1] + o1) * g.small[2] + r2.o_first) * wide;
            const T* w = wt + ((t0 * g.filter[1] + t1) * g.filter[2] + r2.t_first) * tap_stride + h * wide;
            for (long i2 = 0; i2 < r2.count; ++i2, s += row_step, w += tap_step) {
              for (long v = 0; v < full; ++v)
                acc = xsimd::fma(B::load_unaligned(s + v * W), B::load_unaligned(w + v * W), acc);
              for (long c = full * W; c < wide; ++c) tail += s[c] * w[c];
            }
          }
        }
        big[((line * g.big[2]) + p2) * thin + h] = xsimd::hadd(acc) + tail;
      }
    };
    auto block = [&](long p2) {  // p2 .. p2 + kBlock - 1, all taps valid, stride 1
      const ReachRun& r2 = tab.reach[2][static_cast<std::size_t>(p2)];
      for (long h = 0; h < thin; ++h) {
        B a0(T(0)), a1(T(0)), a2(T(0)), a3(T(0));
        for (long i0 = 0; i0 < r0.count; ++i0) {
          const long t0 = r0.t_first + i0 * g.stride[0], o0 = r0.o_first - i0 * g.dil[0];
          for (long i1 = 0; i1 < r1.count; ++i1) {
            const long t1 = r1.t_first + i1 * g.stride[1], o1 = r1.o_first - i1 * g.dil[1];
            const T* s = small + (((n * g.small[0] + o0) * g.small[1] + o1) * g.small[2] + r2.o_first) * wide;
            const T* w = wt + (t0 * g.filter[1] + t1) * g.filter[2] * tap_stride + h * wide;
            for (long t2 = 0; t2 < g.filter[2]; ++t2, s += row_step, w += tap_stride)
              for (long v = 0; v < full; ++v) {
                const B wv = B::load_unaligned(w + v * W);
                a0 = xsimd::fma(B::load_unaligned(s + v * W), wv, a0);
                a1 = xsimd::fma(B::load_unaligned(s + wide + v * W), wv, a1);
                a2 = xsimd::fma(B::load_unaligned(s + 2 * wide + v * W), wv, a2);
                a3 = xsimd::fma(B::load_unaligned(s + 3 * wide + v * W), wv, a3);
              }
          }
        }
        T* out = big + (line * g.big[2] + p2) * thin + h;
        out[0] = xsimd::hadd(a0);
        out[thin] = xsimd::hadd(a1);
        out[2 * thin] = xsimd::hadd(a2);
        out[3 * thin] = xsimd::hadd(a3);
      }
    };
    long p2 = 0;
    for (; p2 < inner_begin; ++p2) one(p2);
    for (; p2 + kBlock <= inner_end; p2 += kBlock) block(p2);
    for (; p2 < g.big[2]; ++p2) one(p2);
  }
}

template <class T>
void weight_grad(const T* big, const T* small, const Geo3& g, long images, long thin, long wide, T* dwt) {
  // dWt[tap, h, :] = the sum over the small pixels o whose tap lands inside the image of
  // big[p(o, tap), h] * small[o, :], each sum in line order and along a line in o2 order. Lines
  // (n, o0, o1) are processed in fixed blocks whose partial sums are added in block order, so the
  // result does not depend on the thread count. With whole vectors of the wide axis, a line's
  // sums run for G taps along the innermost dim x V vectors at once (independent FMA chains
  // sharing each small[o] vector), over rows padded with zeros (PaddedRows) so that every tap
  // reads all of the line; otherwise one tap at a time over the o2 where it lands inside.
  using B = xsimd::batch<T>;
  constexpr long W = static_cast<long>(B::size);
  const long lines = images * g.small[0] * g.small[1];
  const long size = g.taps() * thin * wide;
  constexpr long kBlockLines = 16;
  const long blocks = (lines + kBlockLines - 1) / kBlockLines;
  static thread_local Scratch<T> partial_scratch;  // every block writes all of its sums
  T* const partial = partial_scratch.get(static_cast<std::size_t>(std::max(1L, blocks * size)));
  const long big_step = g.stride[2] * thin;  // next o2 -> next big pixel along the line
  const bool blocked = wide % W == 0;
  static thread_local Scratch<T> pad_scratch;
  const PaddedRows<T> rows(big, g, images, thin, blocked, pad_scratch);
  // taps t2 .. t2 + G - 1 (of t0, t1), channel h, wide vectors c0 .. c0 + V * W, one line block
  auto tap_block = [&](T* acc_out, long b, long t0, long t1, long t2, long h, long c0, auto taps, auto vectors) {
    constexpr long G = decltype(taps)::value, V = decltype(vectors)::value;
    const long line_end = std::min(lines, (b + 1) * kBlockLines), tap_step = g.dil[2] * thin;
    B acc[G][V];
    for (long t = 0; t < G; ++t)
      for (long v = 0; v < V; ++v) acc[t][v] = B(T(0));
    for (long line = b * kBlockLines; line < line_end; ++line) {
      const long o1 = line % g.small[1], o0 = (line / g.small[1]) % g.small[0];
      const long n = line / (g.small[1] * g.small[0]);
      const long p0 = o0 * g.stride[0] + t0 * g.dil[0] - g.pad[0];
      const long p1 = o1 * g.stride[1] + t1 * g.dil[1] - g.pad[1];
      if (p0 < 0 || p0 >= g.big[0] || p1 < 0 || p1 >= g.big[1]) continue;
      const T* in = rows.at(g, n, p0, p1, t2 * g.dil[2] - g.pad[2], thin) + h;
      const T* s = small + line * g.small[2] * wide + c0;
      for (long o2 = 0; o2 < g.small[2]; ++o2, in += big_step, s += wide) {
        B sv[V];
        for (long v = 0; v < V; ++v) sv[v] = B::load_unaligned(s + v * W);
        for (long t = 0; t < G; ++t) {
          const B x(in[t * tap_step]);
          for (long v = 0; v < V; ++v) acc[t][v] = xsimd::fma(x, sv[v], acc[t][v]);
        }
      }
    }
    for (long t = 0; t < G; ++t) {
      const long tap = (t0 * g.filter[1] + t1) * g.filter[2] + t2 + t;
      for (long v = 0; v < V; ++v) acc[t][v].store_unaligned(acc_out + (tap * thin + h) * wide + c0 + v * W);
    }
  };
  // the taps along the innermost dim in groups of G (then 2, then 1), the vectors in groups of V
  auto line_block = [&](T* acc_out, long b, auto vectors) {
    using std::integral_constant;
    constexpr long V = decltype(vectors)::value;
    constexpr long G = V >= 4 ? 2 : 4;  // 8 chains (4 with one vector)
    for (long t0 = 0; t0 < g.filter[0]; ++t0)
      for (long t1 = 0; t1 < g.filter[1]; ++t1)
        for (long h = 0; h < thin; ++h)
          for (long c0 = 0; c0 < wide; c0 += V * W) {
            long t2 = 0;
            for (; t2 + G <= g.filter[2]; t2 += G) tap_block(acc_out, b, t0, t1, t2, h, c0, integral_constant<long, G>{}, vectors);
            for (; t2 + 2 <= g.filter[2]; t2 += 2) tap_block(acc_out, b, t0, t1, t2, h, c0, integral_constant<long, 2>{}, vectors);
            for (; t2 < g.filter[2]; ++t2) tap_block(acc_out, b, t0, t1, t2, h, c0, integral_constant<long, 1>{}, vectors);
          }
  };
  // the per-tap path, for a wide axis that is not whole vectors
  auto scalar_block = [&](T* acc_out, long b) {
    const long line_end = std::min(lines, (b + 1) * kBlockLines);
    for (long t0 = 0; t0 < g.filter[0]; ++t0)
      for (long t1 = 0; t1 < g.filter[1]; ++t1)
        for (long t2 = 0; t2 < g.filter[2]; ++t2) {
          const long tap = (t0 * g.filter[1] + t1) * g.filter[2] + t2;
          // o2 interval with 0 <= o2*s2 + t2*d2 - P2 < big2
          const long off2 = t2 * g.dil[2] - g.pad[2];
          const long lo2 = off2 >= 0 ? 0 : (-off2 + g.stride[2] - 1) / g.stride[2];
          const long hi2 = g.big[2] - off2 <= 0 ? 0 : std::min(g.small[2], (g.big[2] - off2 + g.stride[2] - 1) / g.stride[2]);
          for (long h = 0; h < thin; ++h)
            for (long c0 = 0; c0 < wide; c0 += W) {
              const bool vec = c0 + W <= wide;
              B acc(T(0));
              T tail[W] = {};
              for (long line = b * kBlockLines; line < line_end; ++line) {
                const long o1 = line % g.small[1], o0 = (line / g.small[1]) % g.small[0];
                const long n = line / (g.small[1] * g.small[0]);
                const long p0 = o0 * g.stride[0] + t0 * g.dil[0] - g.pad[0];
                const long p1 = o1 * g.stride[1] + t1 * g.dil[1] - g.pad[1];
                if (p0 < 0 || p0 >= g.big[0] || p1 < 0 || p1 >= g.big[1] || lo2 >= hi2) continue;
                const T* in = big + (((n * g.big[0] + p0) * g.big[1] + p1) * g.big[2] + lo2 * g.stride[2] + off2) * thin + h;
                const T* s = small + (line * g.small[2] + lo2) * wide + c0;
                if (vec) {
                  for (long o2 = lo2; o2 < hi2; ++o2, in += big_step, s += wide)
                    acc = xsimd::fma(B(*in), B::load_unaligned(s), acc);
                } else {
                  for (long o2 = lo2; o2 < hi2; ++o2, in += big_step, s += wide)
                    for (long c = 0; c < wide - c0; ++c) tail[c] += *in * s[c];
                }
              }
              T* dst = acc_out + (tap * thin + h) * wide + c0;
              if (vec) acc.store_unaligned(dst);
              else for (long c = 0; c < wide - c0; ++c) dst[c] = tail[c];
            }
        }
  };
  const long vectors = wide / W;
#pragma omp parallel for schedule(static) if (lines * g.small[2] * size >= (1 << 16))
  for (long b = 0; b < blocks; ++b) {
    T* acc_out = partial + b * size;
    using std::integral_constant;
    if (!blocked) scalar_block(acc_out, b);
    else if (vectors % 4 == 0) line_block(acc_out, b, integral_constant<long, 4>{});
    else if (vectors % 2 == 0) line_block(acc_out, b, integral_constant<long, 2>{});
    else line_block(acc_out, b, integral_constant<long, 1>{});
  }
  // dwt = 0 + the blocks' sums in block order, each thread over its own range of dwt (the
  // serial sum was half of this kernel's time at 2 threads for the autoencoder's 1 -> 32 layer:
  // 392 blocks of 800 sums)
  const long chunk_values = 64;  // (800 sums: 13 chunks, 7 and 6 a thread)
  const long value_chunks = (size + chunk_values - 1) / chunk_values;
  simd::parallel_for(static_cast<double>(blocks) * size >= (1 << 16), value_chunks, [&](long c) {
    const std::size_t begin = static_cast<std::size_t>(c * chunk_values);
    const std::size_t end = static_cast<std::size_t>(std::min(size, (c + 1) * chunk_values));
    std::fill(dwt + begin, dwt + end, T(0));
    add_runs_in_order(dwt, partial, static_cast<std::size_t>(blocks) + 1, static_cast<std::size_t>(size), begin, end);
  });
}

#define TAPIR_INSTANTIATE(T)                                                                         \
  template void gather_to_small<T>(const T*, const T*, const Geo3&, long, long, long, T*);          \
  template void gather_to_big<T>(const T*, const T*, const Geo3&, long, long, long, T*);            \
  template void weight_grad<T>(const T*, const T*, const Geo3&, long, long, long, T*);
TAPIR_INSTANTIATE(float)
TAPIR_INSTANTIATE(double)
#undef TAPIR_INSTANTIATE

}  // namespace tapir::kernels
