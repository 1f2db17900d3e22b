#include "conv_gemm.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <tapir/core/shape_arith.hpp>
#include <tapir/core/simd.hpp>

#include "conv_thin.hpp"
#include "elementwise.hpp"
#include "gemm_driver.hpp"

namespace tapir::kernels {

namespace {

// The row side's pixel count along one dim, per plan kind.
GatherAxis small_row_axis(const Geo3& g, int j) {
  GatherAxis a;
  const long rows = g.small[j], taps = g.filter[j];
  a.out.resize(static_cast<std::size_t>(rows));
  a.tap.resize(static_cast<std::size_t>(taps));
  a.src.resize(static_cast<std::size_t>(rows * taps));
  for (long u = 0; u < taps; ++u) a.tap[u] = u;
  for (long o = 0; o < rows; ++o) {
    a.out[o] = o;
    for (long t = 0; t < taps; ++t) {
      const long p = o * g.stride[j] + t * g.dil[j] - g.pad[j];
      a.src[o * taps + t] = p >= 0 && p < g.big[j] ? p : -1;
    }
  }
  return a;
}

// Phase phi of one dim: big positions p with (p + P) mod s == phi, and the taps t*d = phi (mod s).
GatherAxis big_row_axis(const Geo3& g, int j, long phi) {
  GatherAxis a;
  a.out.clear();
  a.tap.clear();
  a.src.clear();
  const long s = g.stride[j], d = g.dil[j], P = g.pad[j];
  for (long t = 0; t < g.filter[j]; ++t)
    if ((t * d) % s == phi) a.tap.push_back(t);
  for (long p = ((phi - P) % s + s) % s; p < g.big[j]; p += s) {
    a.out.push_back(p);
    for (long t : a.tap) {
      const long num = p + P - t * d;  // divisible by s: p + P = phi = t*d (mod s)
      const long o = num >= 0 ? num / s : -1;
      a.src.push_back(o >= 0 && o < g.small[j] ? o : -1);
    }
  }
  return a;
}

// The flat tables of a plan whose axes are set; their size is held to the tensor limit.
void finish(GatherPlan& p, const char* who) {
  const GatherAxis* ax = p.axis.data();
  const std::size_t rows = static_cast<std::size_t>(ax[0].rows() * ax[1].rows() * ax[2].rows());
  const std::size_t taps = static_cast<std::size_t>(ax[0].taps() * ax[1].taps() * ax[2].taps());
  checked_tensor_bytes({rows, taps}, DType::float64, std::string(who) + ": the gather table of one image");
  p.tap_index.clear();
  for (long t0 : ax[0].tap)
    for (long t1 : ax[1].tap)
      for (long t2 : ax[2].tap) p.tap_index.push_back((t0 * p.filter[1] + t1) * p.filter[2] + t2);
  p.rows_per_image = ax[0].rows() * ax[1].rows() * ax[2].rows();
  p.src_image_pixels = p.src_extent[0] * p.src_extent[1] * p.src_extent[2];
  p.out_image_pixels = p.out_extent[0] * p.out_extent[1] * p.out_extent[2];
  p.out_pixel.clear();
  p.src_pixel.clear();
  for (long q0 = 0; q0 < ax[0].rows(); ++q0)
    for (long q1 = 0; q1 < ax[1].rows(); ++q1)
      for (long q2 = 0; q2 < ax[2].rows(); ++q2) {
        p.out_pixel.push_back((ax[0].out[q0] * p.out_extent[1] + ax[1].out[q1]) * p.out_extent[2] + ax[2].out[q2]);
        for (long u0 = 0; u0 < ax[0].taps(); ++u0)
          for (long u1 = 0; u1 < ax[1].taps(); ++u1)
            for (long u2 = 0; u2 < ax[2].taps(); ++u2) {
              const long a = ax[0].src[q0 * ax[0].taps() + u0], b = ax[1].src[q1 * ax[1].taps() + u1],
                         c = ax[2].src[q2 * ax[2].taps() + u2];
              p.src_pixel.push_back((a | b | c) < 0 ? -1 : (a * p.src_extent[1] + b) * p.src_extent[2] + c);
            }
      }
  const long taps_count = static_cast<long>(taps);
  std::vector<unsigned char> live(taps, 0);  // live[u]: some row reads inside the image through tap u
  for (long q = 0; q < p.rows_per_image; ++q)
    for (long u = 0; u < taps_count; ++u) live[static_cast<std::size_t>(u)] |= p.src_pixel[q * taps_count + u] >= 0;
  // tap u + 1 continues tap u's run when every row reads inside the image through u and reads
  // the pixel after u's through u + 1
  auto follows = [&](long u) {
    for (long q = 0; q < p.rows_per_image; ++q) {
      const long s = p.src_pixel[q * taps_count + u];
      if (s < 0 || p.src_pixel[q * taps_count + u + 1] != s + 1) return false;
    }
    return true;
  };
  p.run_first.clear();
  p.run_taps.clear();
  for (long u = 0; u < taps_count;) {
    if (!live[static_cast<std::size_t>(u)]) {  // its products are 0: in no run
      ++u;
      continue;
    }
    long n = 1;
    while (u + n < taps_count && follows(u + n - 1)) ++n;
    p.run_first.push_back(u);
    p.run_taps.push_back(n);
    u += n;
  }
  // shifted taps: each live tap read at one distance from the first live tap, by every row
  p.row_source.clear();
  p.tap_shift.clear();
  if (p.run_first.empty()) return;
  const long first = p.run_first.front();
  std::vector<long> shift(taps, 0);
  for (long u = 0; u < taps_count; ++u)
    if (live[static_cast<std::size_t>(u)]) shift[static_cast<std::size_t>(u)] = p.src_pixel[u] - p.src_pixel[first];
  for (long q = 0; q < p.rows_per_image; ++q) {
    const long* src = p.src_pixel.data() + q * taps_count;
    for (long u = 0; u < taps_count; ++u)
      if (live[static_cast<std::size_t>(u)] && (src[first] < 0 || src[u] != src[first] + shift[static_cast<std::size_t>(u)]))
        return;  // some row misses a live tap (or reads it elsewhere): addresses per row and tap
  }
  p.row_source.resize(static_cast<std::size_t>(p.rows_per_image));
  for (long q = 0; q < p.rows_per_image; ++q) p.row_source[static_cast<std::size_t>(q)] = p.src_pixel[q * taps_count + first];
  p.tap_shift = std::move(shift);
}

// The positions of one axis grouped by which of its taps read inside the image (the border
// positions of a SAME or strided geometry miss some): one sub-axis per pattern, all taps kept.
std::vector<GatherAxis> border_classes(const GatherAxis& a) {
  std::vector<GatherAxis> classes;
  std::vector<std::vector<bool>> patterns;
  const long taps = a.taps();
  for (long q = 0; q < a.rows(); ++q) {
    std::vector<bool> inside(static_cast<std::size_t>(taps));
    for (long u = 0; u < taps; ++u) inside[static_cast<std::size_t>(u)] = a.src[q * taps + u] >= 0;
    std::size_t c = 0;
    while (c < patterns.size() && patterns[c] != inside) ++c;
    if (c == patterns.size()) {
      patterns.push_back(inside);
      GatherAxis group;
      group.out.clear();
      group.src.clear();
      group.tap = a.tap;
      classes.push_back(std::move(group));
    }
    classes[c].out.push_back(a.out[q]);
    classes[c].src.insert(classes[c].src.end(), a.src.begin() + q * taps, a.src.begin() + (q + 1) * taps);
  }
  return classes;
}

// A plan whose axes are set, as one plan per border class (the product of its axes' classes):
// every row of a class misses the same taps, so its register tiles skip those taps (they are
// in no run; they would multiply zeros) — about a sixth of a 7 x 7 image's FMAs at a 5 x 5 filter. The
// rows keep every tap (the classes share their phase's packed weights). Above kMaxClasses (big
// dilated 3-D filters) the plan stays whole.
std::vector<GatherPlan> split_by_border(const GatherPlan& axes, const char* who) {
  constexpr std::size_t kMaxClasses = 64;
  std::array<std::vector<GatherAxis>, 3> classes;
  std::size_t count = 1;
  for (int j = 0; j < 3; ++j) {
    classes[j] = border_classes(axes.axis[j]);
    count *= std::max<std::size_t>(1, classes[j].size());
  }
  std::vector<GatherPlan> plans;
  if (count > kMaxClasses || count == 1) {
    plans.push_back(axes);
    finish(plans.back(), who);
    return plans;
  }
  for (const GatherAxis& a0 : classes[0])
    for (const GatherAxis& a1 : classes[1])
      for (const GatherAxis& a2 : classes[2]) {
        GatherPlan p = axes;
        p.axis = {a0, a1, a2};
        finish(p, who);
        plans.push_back(std::move(p));
      }
  return plans;
}

// Row r of a plan — the flat output pixel it writes, the source pixels its taps read — and the
// rows after it: one division at the start instead of two per row (they cost as much as a short
// tile's arithmetic).
class RowCursor {
 public:
  RowCursor(const GatherPlan& p, long r) : p_(p), image_(r / p.rows_per_image), q_(r % p.rows_per_image) {}
  long out_pixel() const { return image_ * p_.out_image_pixels + p_.out_pixel[q_]; }
  long source(long u) const {  // -1: outside the image
    const long rel = p_.src_pixel[q_ * p_.taps() + u];
    return rel < 0 ? -1 : image_ * p_.src_image_pixels + rel;
  }
  void next() {
    if (++q_ == p_.rows_per_image) {
      q_ = 0;
      ++image_;
    }
  }

 private:
  const GatherPlan& p_;
  long image_, q_;
};

// Rows r0 .. r0 + count of a plan, image by image: f(r, rows, image, q) for each image's share —
// block rows r .. r + rows are rows q .. q + rows of image `image`.
template <class F>
inline void for_image_segments(const GatherPlan& p, std::size_t r0, std::size_t count, F&& f) {
  const long rpi = p.rows_per_image;
  long image = static_cast<long>(r0) / rpi, q = static_cast<long>(r0) % rpi;
  for (std::size_t r = 0; r < count; ++image, q = 0) {
    const std::size_t rows = std::min(count - r, static_cast<std::size_t>(rpi - q));
    f(r, rows, image, q);
    r += rows;
  }
}

// The addresses (as integers, so that they are computed as one vector loop) of the taps of
// `count` consecutive rows from row r0: row k's tap u at out[k * taps + u] = the first of the
// channel run of its source pixel in the image at src_at, or zero_at outside the image
// (pixel_bytes = channels * sizeof(T)). The rows of one image have consecutive entries in the
// plan's per-image table, so each image's share is a single loop over rows x taps entries (a
// loop per row ran a few taps per call: its overhead was most of the table's cost).
inline void block_addresses(const GatherPlan& p, long r0, long count, std::uintptr_t src_at,
                            std::uintptr_t pixel_bytes, std::uintptr_t zero_at, std::uintptr_t* out) {
  const long taps = p.taps();
  for_image_segments(p, static_cast<std::size_t>(r0), static_cast<std::size_t>(count),
                     [&](std::size_t done, std::size_t rows, long image, long q) {
    const long* rel = p.src_pixel.data() + q * taps;
    const std::uintptr_t base = src_at + static_cast<std::uintptr_t>(image * p.src_image_pixels) * pixel_bytes;
    std::uintptr_t* o = out + done * static_cast<std::size_t>(taps);
    const long n = static_cast<long>(rows) * taps;
#pragma omp simd
    for (long j = 0; j < n; ++j) o[j] = rel[j] < 0 ? zero_at : base + static_cast<std::uintptr_t>(rel[j]) * pixel_bytes;
  });
}

// One k of a k-major A micro-panel: d[0..m) = s[0..m), d[m..MR) = 0; a whole panel row is a copy
// of constant size (inlined as a few vector moves, no call).
template <std::size_t MR, class T>
inline void copy_panel_row(T* d, const T* s, std::size_t m) {
  if (m == MR) {
    std::memcpy(d, s, MR * sizeof(T));
    return;
  }
  for (std::size_t i = 0; i < m; ++i) d[i] = s[i];
  for (std::size_t i = m; i < MR; ++i) d[i] = T(0);
}

// dst[0..len) = src[off..off + len), or zeros where off < 0 (outside the image). Runs are a
// tap's channels (often 16 or 32 values): copied in registers, not by a memmove call per run.
template <class T>
inline void copy_run(T* dst, const T* src, long off, long len) {
  using B = xsimd::batch<T>;
  constexpr long W = static_cast<long>(B::size);
  long l = 0;
  if (off < 0) {
    for (; l + W <= len; l += W) B(T(0)).store_unaligned(dst + l);
    for (; l < len; ++l) dst[l] = T(0);
    return;
  }
  const T* s = src + off;
  for (; l + W <= len; l += W) B::load_unaligned(s + l).store_unaligned(dst + l);
  for (; l < len; ++l) dst[l] = s[l];
}

// Rows r0..r1 (of kc) of every NR-wide panel of the transposed patch matrix's column block
// jc..jc+nc, in the driver's BPack::rows contract: dst[p * kc * NR + k * NR + j] = patch(row
// k0 + k, column jc + p * NR + j). Each row's channel runs are read once and split over panels.
template <class T>
void pack_patch_column_rows(T* dst, const GatherPlan& p, const T* src, long channels,
                            std::size_t jc, std::size_t nc, std::size_t k0, std::size_t kc, std::size_t r0,
                            std::size_t r1) {
  constexpr long NR = static_cast<long>(GemmShape<T>::NR);
  const long panels = (static_cast<long>(nc) + NR - 1) / NR;
  RowCursor rs(p, static_cast<long>(k0 + r0));
  const long panel_step = static_cast<long>(kc) * NR;
  for (std::size_t k = r0; k < r1; ++k, rs.next()) {
    T* row = dst + k * NR;  // panel q's row k is at row + q * kc * NR
    T* d = row;      // where column j goes
    long in_panel = 0;  // j % NR
    long j = 0;
    const long end = static_cast<long>(nc);
    long u = static_cast<long>(jc) / channels, c = static_cast<long>(jc) % channels;
    long px = rs.source(u);
    while (j < end) {
      // a run within one tap's channels and within one panel
      const long run = std::min({channels - c, end - j, NR - in_panel});
      copy_run(d, src, px < 0 ? -1 : px * channels + c, run);
      j += run;
      c += run;
      in_panel += run;
      d += run;
      if (in_panel == NR) {  // on to the next panel's row k
        in_panel = 0;
        d += panel_step - NR;
      }
      if (c == channels && j < end) {
        ++u;
        c = 0;
        px = rs.source(u);
      }
    }
    T* last = row + (panels - 1) * static_cast<long>(kc) * NR;  // zero the last panel's columns >= nc
    std::fill(last + (end - (panels - 1) * NR), last + NR, T(0));
  }
}

// B[(u, k), j] of W[t, c_in, c_out]: dst[kk * NR + j] for rows k0.. and columns j0..j0+n.
template <class T, std::size_t NR = GemmShape<T>::NR>
void pack_weight(T* dst, const GatherPlan& p, const T* w, WeightRead read, long k_channels, long j_channels,
                 std::size_t j0, std::size_t n, std::size_t k0, std::size_t kc) {
  for (std::size_t kk = 0; kk < kc; ++kk) {
    const long k = static_cast<long>(k0 + kk), u = k / k_channels, c = k % k_channels;
    const T* tap = w + p.tap_index[u] * k_channels * j_channels;
    T* d = dst + kk * NR;
    if (read == WeightRead::as_is) {
      const T* s = tap + c * j_channels + static_cast<long>(j0);
      std::copy(s, s + n, d);
    } else {
      const T* s = tap + static_cast<long>(j0) * k_channels + c;
      for (std::size_t j = 0; j < n; ++j) d[j] = s[static_cast<long>(j) * k_channels];
    }
    std::fill(d + n, d + NR, T(0));
  }
}

// Rows of the indirect GEMM's register tile for NV vectors per row: 24 accumulators either way
// (12 x 2, or 6 x 4 for wide outputs: half the broadcasts per FMA); 12 x 1 for outputs of at
// most one vector (load-bound, but N = 16 would waste half of a wider tile; see the pair tile).
template <class T, std::size_t NV> constexpr std::size_t tile_rows() { return NV == 4 ? 6 : GemmShape<T>::MR; }


// Where a register tile's rows read their taps, in the two forms a plan allows. The tile asks
// for tap u's MR addresses as one address (row 0's, returned) and the others' byte distances
// from it (apart[i]), for base + index addressing: MR row pointers, a counter and its byte
// offset do not fit in the registers, and the pointers spilled were reloaded inside the FMA
// loops.
//
// TapTable: any plan. Row i's tap u at rows[i * taps + u] (the source pixel's first value, or
// zeros outside the image), so apart changes with the tap.
struct TapTable {
  static constexpr bool kFixedApart = false;
  const std::uintptr_t* rows;
  long taps;
  const char* row(std::size_t i, long u) const {
    return reinterpret_cast<const char*>(rows[static_cast<long>(i) * taps + u]);
  }
  template <std::size_t MR>
  const char* tap(long u, std::ptrdiff_t (&apart)[MR]) const {
    const char* row0 = row(0, u);
#pragma GCC unroll 12
    for (std::size_t i = 0; i < MR; ++i) apart[i] = row(i, u) - row0;
    return row0;
  }
};
// TapShifts: a plan with shifted taps. Row i's first live tap at rows[i], tap u shift_bytes[u]
// further, the same for every row: the distances between rows are the same for every tap,
// set once per tile, and each tap costs one add (and the block's table is a row long, not
// rows x taps).
struct TapShifts {
  static constexpr bool kFixedApart = true;
  const std::uintptr_t* rows;
  const std::ptrdiff_t* shift_bytes;
  const char* row(std::size_t i, long u) const { return reinterpret_cast<const char*>(rows[i]) + shift_bytes[u]; }
  template <std::size_t MR>
  void distances(std::ptrdiff_t (&apart)[MR]) const {
#pragma GCC unroll 12
    for (std::size_t i = 0; i < MR; ++i) apart[i] = static_cast<std::ptrdiff_t>(rows[i] - rows[0]);
  }
  template <std::size_t MR>
  const char* tap(long u, std::ptrdiff_t (&)[MR]) const { return row(0, u); }
};
template <class Rows, std::size_t MR>
inline void tile_distances(const Rows& rows, std::ptrdiff_t (&apart)[MR]) {
  if constexpr (Rows::kFixedApart) rows.distances(apart);
}

// MR x (NV vectors) register tile of the indirect GEMM: no A panel at all — row i reads its
// values for tap u straight from the source image, through the address rows[i * taps + u] of
// `channels` contiguous values (or of zeros); all taps accumulate in registers, and C is written
// once. Each output value sums its taps and channels in the same order whatever NV (the
// AVX-512 pair tile below, which replaces NV = 1 for float, sums even and odd channels apart).
template <class T, std::size_t NV, class Rows, class Scales>
inline void indirect_tile(long channels, const Rows& rows, const T* __restrict b, T beta,
                          T* const* c_rows, Scales s_rows, std::size_t j0, std::size_t m, std::size_t n,
                          const T* bias, bool prefetch_taps, bool prefetch_out, const long* run_first,
                          const long* run_taps, long runs) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = GemmShape<T>::W, MR = tile_rows<T, NV>();
  static_assert(NV == 1 || NV == 2 || NV == 4, "one, two or four vectors per tile row");
  constexpr std::size_t NA = NV < 2 ? 2 : NV;  // store_tile writes vector pairs: NV = 1 pairs with zeros
  B acc[NA][MR];
  // the output rows are written after every tap: for an output bigger than a core's L2, fetch
  // their lines (with intent to write) while the first FMAs run, so that the stores do not wait
  // on memory (for one that fits, the prefetches cost more than they save: measured). One line
  // per kPrefetchSpacing k steps: issued together, the tile's 24 lines filled every fill buffer
  // and the core waited on the prefetches themselves (a tenth of d's forward).
  constexpr std::size_t lines_per_row = NV * W * sizeof(T) / 64;
  const T* out_lines[MR * (lines_per_row > 0 ? lines_per_row : 1)];
  std::size_t lines = 0;
  if (prefetch_out)
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; j += 64 / sizeof(T)) out_lines[lines++] = c_rows[i] + j0 + j;
  std::size_t fetched = 0;
#pragma GCC unroll 4
  for (std::size_t v = 0; v < NA; ++v)
#pragma GCC unroll 12
    for (std::size_t i = 0; i < MR; ++i) acc[v][i] = B(T(0));
  // the taps no row of the plan reads through (their products are 0) are in no run
  const T* const b_taps = b;
  std::ptrdiff_t apart[MR];
  tile_distances(rows, apart);
  for (long r = 0; r < runs; ++r) {
    const long u = run_first[r], run_values = run_taps[r] * channels;
    const char* row0 = rows.tap(u, apart);
    // the next run's rows, while this run's FMAs run (after the output's lines), one line per
    // kPrefetchSpacing k steps as well
    const T* next[MR];
    std::size_t next_row = MR;
    long next_at = 0;
    const long next_values = prefetch_taps && r + 1 < runs ? run_taps[r + 1] * channels : 0;
    if (next_values > 0) {
      next_row = 0;
      for (std::size_t i = 0; i < MR; ++i) next[i] = reinterpret_cast<const T*>(rows.row(i, run_first[r + 1]));
    }
    auto pending = [&] { return fetched < lines || next_row < MR; };
    auto fetch_one = [&] {
      if (fetched < lines) {
        __builtin_prefetch(out_lines[fetched++], 1);
      } else {
        __builtin_prefetch(next[next_row] + next_at);
        next_at += 64 / static_cast<long>(sizeof(T));
        if (next_at >= next_values) next_at = 0, ++next_row;
      }
    };
    b = b_taps + u * channels * static_cast<long>(NV * W);
    auto step = [&]() __attribute__((always_inline)) {
      B bv[NV];
#pragma GCC unroll 4
      for (std::size_t v = 0; v < NV; ++v) bv[v] = B::load_aligned(b + v * W);
#pragma GCC unroll 12
      for (std::size_t i = 0; i < MR; ++i) {
        const B ai(*reinterpret_cast<const T*>(row0 + apart[i]));
#pragma GCC unroll 4
        for (std::size_t v = 0; v < NV; ++v) acc[v][i] = xsimd::fma(ai, bv[v], acc[v][i]);
      }
      b += NV * W;
      row0 += sizeof(T);
      // row0 opaque: else the compiler strength-reduces row0 + apart[i] into MR induction
      // variables in the unrolled prefetch loop, which again do not fit in the registers
      asm("" : "+r"(row0));
    };
    const char* const run_end = row0 + run_values * static_cast<long>(sizeof(T));
    constexpr long spacing_bytes = static_cast<long>(kPrefetchSpacing * sizeof(T));
    while (run_end - row0 >= spacing_bytes && pending()) {
      fetch_one();
#pragma GCC unroll 4
      for (long q = 0; q < static_cast<long>(kPrefetchSpacing); ++q) step();
    }
#pragma GCC unroll 2
    while (row0 < run_end) step();
    while (next_row < MR) fetch_one();  // a short run: the rest of the next run's lines now
  }
  for (; fetched < lines; ++fetched) __builtin_prefetch(out_lines[fetched], 1);  // a tile of few k steps
  for (std::size_t v = 0; v < NA && v * W < n; v += 2)  // columns j0 + v W .. in pairs of vectors
    store_tile<T, Scales>(acc[v], acc[v + 1], T(1), beta, c_rows, s_rows, j0 + v * W, m, std::min(n - v * W, 2 * W), bias);
}

#if defined(__AVX512F__)
// The one-vector tile (at most 16 float outputs) two channels per broadcast: 12 x 16 with one
// broadcast per FMA is bound by the loads (13 per 12 FMAs). Here one 8-byte broadcast carries a
// row's channels k and k + 1 to alternate lanes, and B is packed pair-interleaved
// (b[2j + (k & 1)] = W[k][j] for channels j < 8 in the first vector, j >= 8 in the second), so
// each FMA does two channels' products for 8 outputs: 14 loads per 24 FMAs. Each output sums its
// even and its odd channels (over all taps, in order) and adds the two at the end.
inline constexpr bool kPairTile = true;
template <class Rows, class Scales>
inline void indirect_pair_tile(long channels, const Rows& rows, const float* __restrict b,
                               float beta, float* const* c_rows, Scales s_rows, std::size_t m,
                               std::size_t n, const float* bias, bool prefetch_taps, bool prefetch_out,
                               const long* run_first, const long* run_taps, long runs) {
  using B = xsimd::batch<float>;
  constexpr std::size_t MR = GemmShape<float>::MR;
  __m512 acc0[MR], acc1[MR];
  if (prefetch_out)
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < n; j += 16) __builtin_prefetch(c_rows[i] + j, 1);
#pragma GCC unroll 12
  for (std::size_t i = 0; i < MR; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
  const float* const b_taps = b;
  std::ptrdiff_t apart[MR];
  tile_distances(rows, apart);
  for (long r = 0; r < runs; ++r) {
    const long u = run_first[r], run_values = run_taps[r] * channels;
    if (prefetch_taps && r + 1 < runs) {
      for (std::size_t i = 0; i < MR; ++i) {
        const float* next = reinterpret_cast<const float*>(rows.row(i, run_first[r + 1]));
        for (long c = 0; c < run_taps[r + 1] * channels; c += 16) __builtin_prefetch(next + c);
      }
    }
    b = b_taps + u * channels * 16;
    const char* row0 = rows.tap(u, apart);
    for (const char* const end = row0 + run_values * sizeof(float); row0 < end; row0 += 2 * sizeof(float)) {
      const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
      for (std::size_t i = 0; i < MR; ++i) {
        double pair;
        std::memcpy(&pair, row0 + apart[i], sizeof pair);
        const __m512 ai = _mm512_castpd_ps(_mm512_set1_pd(pair));
        acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
        acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
      }
      b += 32;
    }
  }
  // output j (< 8 from acc0, >= 8 from acc1) = even lane + odd lane
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  B sum[MR], none[MR];
  for (std::size_t i = 0; i < MR; ++i) {
    sum[i] = B(_mm512_add_ps(_mm512_permutex2var_ps(acc0[i], even, acc1[i]), _mm512_permutex2var_ps(acc0[i], odd, acc1[i])));
    none[i] = B(0.0f);
  }
  store_tile<float, Scales>(sum, none, 1.0f, beta, c_rows, s_rows, 0, m, n, bias);
}

// W's packed rows k, k + 1 (one-vector panels, K even) interleaved as indirect_pair_tile reads them.
inline void interleave_pairs(float* rows, std::size_t kc) {
  alignas(64) float pair[32];
  for (std::size_t k = 0; k + 1 < kc; k += 2) {
    float* r = rows + k * 16;
    for (std::size_t j = 0; j < 8; ++j) {
      pair[2 * j] = r[j];
      pair[2 * j + 1] = r[16 + j];
      pair[16 + 2 * j] = r[8 + j];
      pair[16 + 2 * j + 1] = r[24 + j];
    }
    std::memcpy(r, pair, sizeof pair);
  }
}
#else
inline constexpr bool kPairTile = false;
#endif

// out (+)= s_out ⊙ patches(src) @ B + bias by indirect tiles, for `count` plans that write
// disjoint output rows (the stride phases of one product): each plan's B (its taps' weights,
// K x N) is packed once, the patches never are. One parallel region for all the plans: the
// threads pack every plan's weights, then compute their share of each plan's row blocks, so a
// product of 16 phases costs one fork and one barrier, not 16 of each. Each tile sums all its
// taps in registers and writes once: the bits depend on neither the blocks nor the threads.
template <class T, std::size_t NV>
void indirect_patch_gemm(const std::vector<const GatherPlan*>& plans, const T* src, long channels, const T* w,
                         WeightRead read, long out_channels, T* out, bool accumulate, const T* s_out, const T* bias,
                         const T* src2, const T* w2, const T* s2, SignRun s2_signs, Activation act) {
  using S = GemmShape<T>;
  constexpr std::size_t MR = tile_rows<T, NV>(), NR = NV * S::W;
  constexpr std::size_t chunk = 64;  // weights packed in chunks of rows: both threads pack, even for one panel
  const std::size_t N = static_cast<std::size_t>(out_channels), n_panels = (N + NR - 1) / NR;
  // per plan: its rows, taps and depth, where its packed weights start, its row blocks, and
  // where its packing units start in the shared list
  struct Part {
    std::size_t M, taps, K, b_offset, MB, blocks, n_splits, pack_begin, row_table, shift_table;
    bool packs;  // false: another plan's packed weights serve (the same taps)
  };
  const std::size_t count = plans.size();
  std::vector<Part> parts(count);
  std::size_t rows_total = 0, K_max = 0;
  for (const GatherPlan* plan : plans) {
    rows_total += static_cast<std::size_t>(plan->rows());
    K_max = std::max(K_max, static_cast<std::size_t>(plan->taps() * channels));
  }
  const int threads = gemm_threads(rows_total, N, K_max);
  std::size_t b_size = 0, pack_units = 0, ind_size = 0, last_packing = 0;
  std::size_t block_rows = 0;  // the most rows a block (with its last tile's missing rows) has
  std::size_t row_values = 0;    // rows per image, summed over the plans
  std::size_t shift_values = 0;  // taps, summed over the plans
  for (std::size_t i = 0; i < count; ++i) {
    Part& p = parts[i];
    p.M = static_cast<std::size_t>(plans[i]->rows());
    p.taps = static_cast<std::size_t>(plans[i]->taps());
    p.K = p.taps * static_cast<std::size_t>(channels);
    const RowBlocks split = row_blocks(p.M, S::MC, MR, threads);
    p.MB = split.size;
    p.blocks = split.count;
    p.n_splits = split.column_splits;
    // the border classes of one phase come one after another with the same taps: they share
    // the packed weights of the first (last_packing: the plan that packed most recently)
    p.packs = i == 0 || plans[last_packing]->tap_index != plans[i]->tap_index;
    if (p.packs) last_packing = i;
    p.b_offset = p.packs ? b_size : parts[last_packing].b_offset;
    p.pack_begin = pack_units;
    if (p.packs) {
      b_size += p.K * n_panels * NR;
      pack_units += n_panels * ((p.K + chunk - 1) / chunk);
    }
    ind_size = std::max(ind_size, p.MB * p.taps);
    block_rows = std::max(block_rows, p.MB + MR);
    p.row_table = row_values;
    row_values += static_cast<std::size_t>(plans[i]->rows_per_image);
    p.shift_table = shift_values;
    shift_values += p.taps;
  }
  // per plan and row of an image: where the row's first live tap reads (bytes into the image;
  // plans with shifted taps) and where its output row starts (values into the image); per plan
  // and tap: the tap's shift from a row's first live tap, in bytes (shifted taps). Once per call
  // rather than a multiply per row (or tap) and block.
  static thread_local Scratch<long> row_table_scratch;
  long* const row_src_bytes = row_table_scratch.get(std::max<std::size_t>(1, 2 * row_values + shift_values));
  long* const row_out_values = row_src_bytes + row_values;
  long* const tap_shift_bytes = row_out_values + row_values;
  const long pixel_size = channels * static_cast<long>(sizeof(T));
  for (std::size_t i = 0; i < count; ++i) {
    const GatherPlan& plan = *plans[i];
    const bool shifted = plan.shifted_taps();
    for (long q = 0; q < plan.rows_per_image; ++q) {
      row_out_values[parts[i].row_table + q] = plan.out_pixel[static_cast<std::size_t>(q)] * out_channels;
      row_src_bytes[parts[i].row_table + q] = shifted ? plan.row_source[static_cast<std::size_t>(q)] * pixel_size : 0;
    }
    for (std::size_t u = 0; u < parts[i].taps; ++u)
      tap_shift_bytes[parts[i].shift_table + u] = shifted ? plan.tap_shift[u] * pixel_size : 0;
  }
  // the plan that packing unit u belongs to (the last packing plan whose units start at or before u)
  auto part_of = [&](std::size_t u) {
    std::size_t i = count - 1;
    while (!parts[i].packs || parts[i].pack_begin > u) --i;
    return i;
  };
  // with a second product (src2 through w2), its packed weights follow the first's
  const std::size_t terms = src2 ? 2 : 1;
  static thread_local Scratch<T> b_scratch;
  T* bp_all = b_scratch.get(std::max<std::size_t>(1, terms * b_size));
  // what rows outside the image (a last tile's missing rows) read: zeros for the longest run
  long longest_run = 1;
  for (const GatherPlan* plan : plans) longest_run = std::max(longest_run, plan->longest_run());
  const std::vector<T> zeros(static_cast<std::size_t>(channels * longest_run), T(0));
  const T beta = accumulate ? T(1) : T(0);
  // A source bigger than a core's L2 is read from memory: fetch each tap's rows one tap ahead.
  // (For a source that fits, the extra instructions cost more than they save: measured.)
  const bool prefetch_taps =
      static_cast<double>(plans[0]->images) * plans[0]->src_image_pixels * channels * sizeof(T) > (1 << 21);
  const bool prefetch_out =
      static_cast<double>(plans[0]->images) * plans[0]->out_image_pixels * N * sizeof(T) > (1 << 21);
  // one-vector float tiles take two channels per broadcast where every tap's run pairs up
  const bool pairs = kPairTile && std::is_same_v<T, float> && NV == 1 && channels % 2 == 0;
  // A source bigger than L2 read by several plans: the threads go through the batch in chunks
  // of images whose source fits in half of L2, every plan's rows of a chunk before the next
  // chunk, so each image is read from memory once, not once per stride phase (d's forward: 8
  // MiB once instead of four times), and a border class's few rows per image find their
  // pixels in L2 (the mirrored convolution of d, 4 classes: 5 % faster). A class of one row
  // per image then fills a register tile with one chunk's rows only (a few idle tile rows on
  // a small share of the rows). Needs enough chunks to share out evenly; otherwise each plan's
  // row blocks are shared out in turn.
  const long images = plans[0]->images;
  const double image_bytes = static_cast<double>(plans[0]->src_image_pixels) * channels * sizeof(T) * (src2 ? 2 : 1);
  const long chunk_images = std::max(1L, static_cast<long>((1 << 20) / image_bytes));
  const long image_chunks = (images + chunk_images - 1) / chunk_images;
  const bool by_images = prefetch_taps && count > 1 && image_chunks >= 4 * threads;
  if (by_images)
    for (const Part& p : parts) ind_size = std::max(ind_size, (S::MC + MR) * p.taps);
  if (by_images) block_rows = std::max(block_rows, S::MC + MR);
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(static)
    for (std::ptrdiff_t tq = 0; tq < static_cast<std::ptrdiff_t>(terms * pack_units); ++tq) {
      const std::size_t term = static_cast<std::size_t>(tq) / pack_units, q = static_cast<std::size_t>(tq) % pack_units;
      const std::size_t pi = part_of(q);
      const Part& part = parts[pi];
      const GatherPlan& plan = *plans[pi];
      const std::size_t unit = q - part.pack_begin, chunks = (part.K + chunk - 1) / chunk;
      const std::size_t p = unit / chunks, k0 = (unit % chunks) * chunk;
      T* bp = bp_all + term * b_size + part.b_offset + p * part.K * NR;
      pack_weight<T, NR>(bp + k0 * NR, plan, term == 0 ? w : w2, read, channels, out_channels, p * NR,
                         std::min(NR, N - p * NR), k0, std::min(chunk, part.K - k0));
#if defined(__AVX512F__)
      if constexpr (std::is_same_v<T, float> && NV == 1)
        if (pairs) interleave_pairs(bp + k0 * NR, std::min(chunk, part.K - k0));
#endif
    }
    static thread_local Scratch<std::uintptr_t> address_scratch;
    std::uintptr_t* ind = address_scratch.get(std::max<std::size_t>(1, terms * ind_size));
    std::uintptr_t* ind2 = ind + ind_size;  // the second product's table
    // each row of a block: its output row, its rows of the output scales, the bit of its first sign
    static thread_local Scratch<T*> out_row_scratch;
    static thread_local Scratch<const T*> scale_row_scratch;
    static thread_local Scratch<std::size_t> sign_bit_scratch;
    T** out_rows = out_row_scratch.get(block_rows);
    const T** scale_rows = s_out ? scale_row_scratch.get(2 * block_rows) : nullptr;
    const T** scale2_rows = s2 ? (s_out ? scale_rows + block_rows : scale_row_scratch.get(block_rows)) : nullptr;
    std::size_t* sign2_bits = s2_signs ? sign_bit_scratch.get(block_rows) : nullptr;
    const std::uintptr_t zero_at = reinterpret_cast<std::uintptr_t>(zeros.data());
    const std::uintptr_t src_at = reinterpret_cast<std::uintptr_t>(src);
    const std::uintptr_t src2_at = reinterpret_cast<std::uintptr_t>(src2);
    const std::uintptr_t pixel_bytes = static_cast<std::uintptr_t>(channels) * sizeof(T);
    int thread = 0, team = 1;
#ifdef _OPENMP
    thread = omp_get_thread_num();
    team = omp_get_num_threads();
#endif
    // rows i0 .. i0 + mb of plan pi, panels p_begin .. p_end
    auto run_block = [&](std::size_t pi, std::size_t i0, std::size_t mb, std::size_t p_begin, std::size_t p_end) {
      const Part& part = parts[pi];
      const GatherPlan& plan = *plans[pi];
      const long taps = static_cast<long>(part.taps);
      const T* bp = bp_all + part.b_offset;
      const long runs = static_cast<long>(plan.run_first.size());
      // the indirection of this block — with shifted taps, row r's first live tap at ind[r] and
      // tap u shift_bytes[u] further; else row r, tap u at ind[r * taps + u] (rows of a tile are
      // consecutive, so tile ir starts at ind + ir * row_entries) — and each row's output pixel offset
      const bool shifted = plan.shifted_taps();
      const std::size_t row_entries = shifted ? 1 : static_cast<std::size_t>(taps);
      const std::ptrdiff_t* shift_bytes = tap_shift_bytes + part.shift_table;
      if (shifted) {
        const long* src_bytes = row_src_bytes + part.row_table;
        const long src_image_bytes = plan.src_image_pixels * pixel_size;
        for_image_segments(plan, i0, mb, [&](std::size_t r, std::size_t rows, long image, long q) {
          const std::uintptr_t at = src_at + static_cast<std::uintptr_t>(image * src_image_bytes);
          for (std::size_t j = 0; j < rows; ++j) ind[r + j] = at + static_cast<std::uintptr_t>(src_bytes[q + static_cast<long>(j)]);
          if (src2) {
            const std::uintptr_t at2 = src2_at + static_cast<std::uintptr_t>(image * src_image_bytes);
            for (std::size_t j = 0; j < rows; ++j) ind2[r + j] = at2 + static_cast<std::uintptr_t>(src_bytes[q + static_cast<long>(j)]);
          }
        });
        for (std::size_t r = mb; r % MR != 0; ++r) {  // the last tile's missing rows read the last row's
          ind[r] = ind[mb - 1];                      // values (they are never stored)
          if (src2) ind2[r] = ind2[mb - 1];
        }
      } else {
        block_addresses(plan, static_cast<long>(i0), static_cast<long>(mb), src_at, pixel_bytes, zero_at, ind);
        if (src2) block_addresses(plan, static_cast<long>(i0), static_cast<long>(mb), src2_at, pixel_bytes, zero_at, ind2);
        for (std::size_t r = mb; r % MR != 0; ++r) {  // the last tile's missing rows read zeros
          std::fill_n(ind + r * static_cast<std::size_t>(taps), taps, zero_at);
          if (src2) std::fill_n(ind2 + r * static_cast<std::size_t>(taps), taps, zero_at);
        }
      }
      // (computed once per block, here rather than per tile, where the stores into the tile's
      // row arrays made the compiler reload every pointer per row: 5 % of b's forward)
      {
        const long* out_values = row_out_values + part.row_table;
        const long image_values = plan.out_image_pixels * out_channels;
        for_image_segments(plan, i0, mb, [&](std::size_t r, std::size_t rows, long image, long q) {
          const long* at = out_values + q;
          const long base = image * image_values;
          for (std::size_t j = 0; j < rows; ++j) out_rows[r + j] = out + (base + at[j]);
          if (scale_rows)
            for (std::size_t j = 0; j < rows; ++j) scale_rows[r + j] = s_out + (base + at[j]);
          if (scale2_rows)
            for (std::size_t j = 0; j < rows; ++j) scale2_rows[r + j] = s2 + (base + at[j]);
          if (sign2_bits)
            for (std::size_t j = 0; j < rows; ++j) sign2_bits[r + j] = s2_signs.lead + static_cast<std::size_t>(base + at[j]);
        });
      }
      for (std::size_t p = p_begin; p < p_end; ++p) {
        const std::size_t j0 = p * NR, n = std::min(NR, N - j0);
        for (std::size_t ir = 0; ir < mb; ir += MR) {
          const std::size_t m = std::min(MR, mb - ir);
          T* const* c_rows = out_rows + ir;
          // the first product, then the second added to the tile while its lines are in L1
          // (the same operations, in the same order, as two separate products: same bits)
          for (std::size_t term = 0; term < terms; ++term) {
            const std::uintptr_t* tile_rows_at = (term == 0 ? ind : ind2) + ir * row_entries;
            const T* b = bp + term * b_size;
            const T tile_beta = term == 0 ? beta : T(1);
            const T* tile_bias = term == 0 ? bias : nullptr;
            auto tile_on = [&](const auto& tile_rows, const auto& scales) {
#if defined(__AVX512F__)
              if constexpr (std::is_same_v<T, float> && NV == 1)
                if (pairs) {
                  indirect_pair_tile(channels, tile_rows, b, tile_beta, c_rows, scales, m, n, tile_bias,
                                     prefetch_taps, prefetch_out && term == 0, plan.run_first.data(),
                                     plan.run_taps.data(), runs);
                  return;
                }
#endif
              indirect_tile<T, NV>(channels, tile_rows, b + p * part.K * NR, tile_beta, c_rows, scales, j0, m, n,
                                   tile_bias, prefetch_taps, prefetch_out && term == 0, plan.run_first.data(),
                                   plan.run_taps.data(), runs);
            };
            auto tile = [&](const auto& scales) {
              if (shifted)
                tile_on(TapShifts{tile_rows_at, shift_bytes}, scales);
              else
                tile_on(TapTable{tile_rows_at, taps}, scales);
            };
            if (term == 1 && s2_signs)
              tile(SignRows<T>{s2_signs.words, sign2_bits + ir});
            else
              tile(ValueRows<T>{term == 0 ? (s_out ? scale_rows + ir : nullptr) : (s2 ? scale2_rows + ir : nullptr)});
          }
          if (act)  // the tile's values are complete: the activation while they are in L1
            for (std::size_t i = 0; i < m; ++i) activate(act, c_rows[i] + j0, n);
        }
      }
    };
    if (by_images) {
      // this thread's chunks of images, each through every plan (in blocks of at most MC rows)
      const long c_begin = image_chunks * thread / team, c_end = image_chunks * (thread + 1) / team;
      for (long c = c_begin; c < c_end; ++c) {
        const long n0 = c * chunk_images, n1 = std::min(images, n0 + chunk_images);
        for (std::size_t pi = 0; pi < count; ++pi) {
          const std::size_t rpi = static_cast<std::size_t>(plans[pi]->rows_per_image);
          const std::size_t r0 = static_cast<std::size_t>(n0) * rpi, r1 = static_cast<std::size_t>(n1) * rpi;
          if (r0 == r1) continue;
          const std::size_t pieces = (r1 - r0 + S::MC - 1) / S::MC;
          const std::size_t step = ((r1 - r0 + pieces - 1) / pieces + MR - 1) / MR * MR;
          for (std::size_t i0 = r0; i0 < r1; i0 += step) run_block(pi, i0, std::min(step, r1 - i0), 0, n_panels);
        }
      }
    } else {
      // Each thread takes the same share of every plan's blocks (as omp for would split each
      // plan apart): the phases differ in taps, so equal shares balance them, and the thread
      // reads the images of its own share of the rows — those it wrote in the ops before (the
      // element-wise ops split the batch alike). Taking whole phases instead ran the 2-thread
      // forwards 3-5 % slower.
      for (std::size_t pi = 0; pi < count; ++pi) {
        const Part& part = parts[pi];
        const std::size_t units = part.blocks * part.n_splits;
        for (std::size_t unit = units * thread / team; unit < units * (thread + 1) / team; ++unit) {
          const std::size_t i0 = (unit / part.n_splits) * part.MB, split = unit % part.n_splits;
          const std::size_t p_begin = n_panels * split / part.n_splits, p_end = n_panels * (split + 1) / part.n_splits;
          if (p_begin < p_end) run_block(pi, i0, std::min(part.MB, part.M - i0), p_begin, p_end);
        }
      }
    }
  }
}

// The row chunks of a kernel gradient: its rows (the batch's pixels, image by image) are summed
// in G runs of consecutive rows whose partial products are then added in run order. G depends
// on the row count alone, never on the threads, so the bits are the same at any thread count;
// with the runs split between the threads, each thread reads the images that it wrote (the
// element-wise ops and the forward products split the batch the same way) instead of pulling
// the other core's lines, which made the 2-thread gradient 1.5x slower than the same product
// on data that no core had just written.
constexpr long kMaxRowChunks = 8;
inline std::size_t row_chunks(std::size_t K, std::size_t KC) {
  constexpr std::size_t kMaxChunks = kMaxRowChunks;
  std::size_t g = 1;
  while (g < kMaxChunks && K / (2 * g) >= 2 * KC) g *= 2;  // every run at least 2 K blocks
  return g;
}

// The kernel gradient when the small side has at most kThinChannels channels (a convolution
// down to one channel, a conv-transpose up from two): a GEMM would have one or two useful
// columns, so instead acc[t, s, :] sums small[r, s] * big[source of (r, t), :] over the rows r —
// the big side's channels on the SIMD lanes. One pass over the rows serves a group of up to
// kThinTapGroup taps for one vector of channels (the taps' source pixels are neighbours, so the big
// side is read from memory about once, not once per tap); groups run in parallel, and each
// element sums its rows in order within each run of images (row_chunks), the runs added in order,
// whatever the grouping or the thread count.
//
// With `second`, the same pass also sums Flipout's second kernel gradient, of second.small
// against signs ⊙ big (the signs read as bits where each big vector is loaded), into
// second.acc: the big side — the one big operand, 3.2 MB for the autoencoder's 32 -> 1 head —
// is read once for both, and signs ⊙ big is never written. Each sum is the one a separate call
// on a signs ⊙ big tensor makes (a sign flip is exact): the same bits.
constexpr long kThinTapGroup = 24;  // taps a pass over the rows serves (one product)

template <class T>
struct SignedSecond {
  const T* small = nullptr;  // the second gradient's small side
  SignRun big_signs;          // signs of the big side's values (its layout), as bits
  T* acc = nullptr;
};

template <class T>
void thin_small_kernel_grad(const GatherPlan& plan, const T* big, long c_big, const T* small, long c_small, T* acc,
                            const SignedSecond<T>* second = nullptr) {
  using B = xsimd::batch<T>;
  constexpr long W = static_cast<long>(B::size);
  const long taps = plan.taps(), Q = plan.rows_per_image;
  const long products = second ? 2 : 1;
  // (a pair keeps two sums per tap: half the taps a group, the accumulators' count unchanged)
  const long group = kThinTapGroup / products;
  const long vectors = c_big / W, tap_groups = (taps + group - 1) / group;
  const long units = c_small * vectors * tap_groups;
  // the images in runs: run 0 sums into acc, run g > 0 into partial, added after (at least one
  // run: an empty batch still writes its zero sums). Runs of images even when the rows are few
  // (a 1 x 1 input): the units go to the threads run by run, so each thread reads the images of
  // the gradient it wrote (the element-wise op before splits the batch the same way); with one
  // run both threads read every image, half of them from the other core's cache, and the
  // 2-thread gradient took as long as the 1-thread one.
  const long chunks = std::max(1L, std::min(plan.images, kMaxRowChunks));
  const long acc_size = taps * c_small * c_big;
  static thread_local Scratch<T> partial_scratch;
  T* partial = chunks > 1 ? partial_scratch.get(static_cast<std::size_t>(products * (chunks - 1) * acc_size)) : nullptr;
  T* partial2 = chunks > 1 && second ? partial + (chunks - 1) * acc_size : nullptr;
  const bool parallel = static_cast<double>(plan.rows()) * taps * c_big * c_small * products >= 1 << 16;
  // every vector's signs start on a whole word (no run offset, whole vectors of channels): read
  // them as one word
  const bool aligned_signs = second && second->big_signs.lead % W == 0 && c_big % W == 0;
  // fixed: the taps a unit sums when they are few and known here (1-4, one group), so that the
  // loops over them unroll and the sums stay in registers (with a run-time count they lived on
  // the stack: a store and a load around every FMA); 0: the count of the unit's group
  auto sums = [&](long chunk_unit, auto paired, auto fixed) {
    constexpr bool Pair = decltype(paired)::value;
    constexpr long NT = decltype(fixed)::value;
    const long g = chunk_unit / units, unit = chunk_unit % units;
    const long j = unit / (vectors * tap_groups), v = unit / tap_groups % vectors, tg = unit % tap_groups;
    // groups of equal size (25 taps: 13 and 12, not 24 and 1), so that units weigh the same
    // when the threads split them (each tap's sum is its own: the grouping changes no value)
    const long t0 = tg * taps / tap_groups, c0 = v * W;
    const long nt = NT > 0 ? NT : (tg + 1) * taps / tap_groups - t0;
    T* dst = g == 0 ? acc : partial + (g - 1) * acc_size;
    B sum[NT > 0 ? NT : kThinTapGroup];
    B sum2[!Pair ? 1 : NT > 0 ? NT : kThinTapGroup / 2];
    for (long t = 0; t < nt; ++t) sum[t] = B(T(0));
    if constexpr (Pair)
      for (long t = 0; t < nt; ++t) sum2[t] = B(T(0));
    for (long n = plan.images * g / chunks; n < plan.images * (g + 1) / chunks; ++n) {
      const std::size_t image_at = static_cast<std::size_t>(n * plan.src_image_pixels * c_big + c0);
      const T* big_image = big + image_at;
      for (long q = 0; q < Q; ++q) {
        const long small_at = (n * plan.out_image_pixels + plan.out_pixel[q]) * c_small + j;
        const B sj(small[small_at]);
        const long* rel = plan.src_pixel.data() + q * taps + t0;
        if constexpr (Pair) {
          const B sj2(second->small[small_at]);
          const std::size_t lead = second->big_signs.lead + image_at;
          const std::uint16_t* words = second->big_signs.words;
          for (long t = 0; t < nt; ++t)
            if (rel[t] >= 0) {
              const B x = B::load_unaligned(big_image + rel[t] * c_big);
              sum[t] = xsimd::fma(sj, x, sum[t]);
              const std::size_t b = lead + static_cast<std::size_t>(rel[t] * c_big);
              const B signs = aligned_signs ? sign_batch_aligned<T>(words, b) : sign_batch<T>(words, b);
              sum2[t] = xsimd::fma(sj2, x * signs, sum2[t]);
            }
        } else {
          for (long t = 0; t < nt; ++t)
            if (rel[t] >= 0) sum[t] = xsimd::fma(sj, B::load_unaligned(big_image + rel[t] * c_big), sum[t]);
        }
      }
    }
    for (long t = 0; t < nt; ++t) sum[t].store_unaligned(dst + ((t0 + t) * c_small + j) * c_big + c0);
    if constexpr (Pair) {
      T* dst2 = g == 0 ? second->acc : partial2 + (g - 1) * acc_size;
      for (long t = 0; t < nt; ++t) sum2[t].store_unaligned(dst2 + ((t0 + t) * c_small + j) * c_big + c0);
    }
  };
  auto run = [&](auto paired) {
    using std::integral_constant;
    auto all = [&](auto fixed) { simd::parallel_for(parallel, chunks * units, [&](long cu) { sums(cu, paired, fixed); }); };
    switch (tap_groups == 1 ? taps : 0) {
      case 1: all(integral_constant<long, 1>{}); break;
      case 2: all(integral_constant<long, 2>{}); break;
      case 3: all(integral_constant<long, 3>{}); break;
      case 4: all(integral_constant<long, 4>{}); break;
      default: all(integral_constant<long, 0>{});
    }
  };
  if (second)
    run(std::true_type{});
  else
    run(std::false_type{});
  const long tail0 = vectors * W;
  if (chunks > 1)  // acc += each later run's sums, in run order (the whole vectors' channels)
    simd::parallel_for(parallel, taps * c_small, [&](long row) {
      const std::size_t row0 = static_cast<std::size_t>(row * c_big);
      add_runs_in_order(acc, partial, static_cast<std::size_t>(chunks), static_cast<std::size_t>(acc_size), row0,
                        row0 + static_cast<std::size_t>(tail0));
      if (second)
        add_runs_in_order(second->acc, partial2, static_cast<std::size_t>(chunks), static_cast<std::size_t>(acc_size),
                          row0, row0 + static_cast<std::size_t>(tail0));
    });
  // the channels after the last whole vector, one at a time (rows in order)
  if (tail0 == c_big) return;
#pragma omp parallel for schedule(static) if (static_cast<double>(plan.rows()) * taps * c_small >= 1 << 16)
  for (long t = 0; t < taps; ++t)
    for (long j = 0; j < c_small; ++j)
      for (long c = tail0; c < c_big; ++c) {
        T sum = T(0), sum2 = T(0);
        for (long n = 0; n < plan.images; ++n)
          for (long q = 0; q < Q; ++q) {
            const long rel = plan.src_pixel[q * taps + t];
            if (rel < 0) continue;
            const long small_at = (n * plan.out_image_pixels + plan.out_pixel[q]) * c_small + j;
            const std::size_t big_at = static_cast<std::size_t>((n * plan.src_image_pixels + rel) * c_big + c);
            sum += small[small_at] * big[big_at];
            if (second) {
              const T s = sign_positive(second->big_signs.words, second->big_signs.lead + big_at) ? T(1) : T(-1);
              sum2 += second->small[small_at] * (big[big_at] * s);
            }
          }
        acc[(t * c_small + j) * c_big + c] = sum;
        if (second) second->acc[(t * c_small + j) * c_big + c] = sum2;
      }
}

// Lane r of the result = the sum of acc[r]'s lanes, for B::size accumulators, added as a
// balanced tree over adjacent lanes ((l0 + l1) + (l2 + l3)) + ...: each level adds the even and
// the odd lanes of two vectors, so that log2(size) levels turn the rows' vectors into one vector
// of their sums. The portable path adds the same pairs in the same order: the same bits.
template <class B>
B lane_sums(B* acc) {
  using T = typename B::value_type;
  constexpr std::size_t W = B::size;
#if defined(__AVX512F__)
  // each level: v[i] = even lanes + odd lanes of the pair (v[2i], v[2i+1])
  auto tree = [](auto* v, auto even, auto odd, auto permute, auto add) {
    for (std::size_t n = W; n > 1; n /= 2)
      for (std::size_t i = 0; i < n / 2; ++i)
        v[i] = add(permute(v[2 * i], even, v[2 * i + 1]), permute(v[2 * i], odd, v[2 * i + 1]));
    return B(v[0]);
  };
  if constexpr (std::is_same_v<T, float> && W == 16) {
    __m512 v[W];
    for (std::size_t i = 0; i < W; ++i) v[i] = acc[i];
    return tree(v, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
                _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
                [](__m512 a, __m512i i, __m512 b) { return _mm512_permutex2var_ps(a, i, b); },
                [](__m512 a, __m512 b) { return _mm512_add_ps(a, b); });
  } else if constexpr (std::is_same_v<T, double> && W == 8) {
    __m512d v[W];
    for (std::size_t i = 0; i < W; ++i) v[i] = acc[i];
    return tree(v, _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15),
                [](__m512d a, __m512i i, __m512d b) { return _mm512_permutex2var_pd(a, i, b); },
                [](__m512d a, __m512d b) { return _mm512_add_pd(a, b); });
  } else
#endif
  {
    alignas(64) T lanes[W][W];
    alignas(64) T sums[W];
    for (std::size_t r = 0; r < W; ++r) {
      acc[r].store_aligned(lanes[r]);
      for (std::size_t n = W; n > 1; n /= 2)
        for (std::size_t i = 0; i < n / 2; ++i) lanes[r][i] = lanes[r][2 * i] + lanes[r][2 * i + 1];
      sums[r] = lanes[r][0];
    }
    return B::load_aligned(sums);
  }
}

// Where the taps of a plan's rows read, when every row reads the same taps (a border class)
// at the same offsets from its first live tap's source pixel: then a row needs one address, not
// one per tap. `taps` lists the live taps, `offset` their source pixels minus the first's.
struct TapOffsets {
  bool uniform = false;
  long first = 0;
  std::vector<long> taps, offset;
};

TapOffsets tap_offsets(const GatherPlan& p) {
  TapOffsets t;
  const long taps = p.taps();
  const long* rel = p.src_pixel.data();
  while (t.first < taps && rel[t.first] < 0) ++t.first;
  if (t.first == taps) return t;  // no row 0 tap inside the image: the general path decides
  for (long u = 0; u < taps; ++u)
    if (rel[u] >= 0) {
      t.taps.push_back(u);
      t.offset.push_back(rel[u] - rel[t.first]);
    }
  for (long q = 1; q < p.rows_per_image; ++q) {
    const long* row = rel + q * taps;
    if (row[t.first] < 0) return t;
    std::size_t k = 0;
    for (long u = 0; u < taps; ++u) {
      const bool live = k < t.taps.size() && t.taps[k] == u;
      if ((row[u] >= 0) != live || (live && row[u] - row[t.first] != t.offset[k])) return t;
      k += live;
    }
  }
  t.uniform = true;
  return t;
}

// The patch product when the output has at most kThinChannels channels (a convolution down to
// one channel, the input gradient of a conv-transpose up from two): a register tile over output
// channels would use one lane in sixteen, so each output value is instead a dot product over its
// taps' channel runs, the channels on the SIMD lanes. The rows go in blocks of one vector's
// width: the block's dot products are independent chains of FMAs (one row's chain alone waits
// on the FMA latency at every step), and lane_sums turns their accumulators into one vector of
// sums. In a border class (the product plans) a row's taps are fixed offsets from one address;
// otherwise each row and tap has its address in a table, with a row of zeros for taps outside
// the image (as in the register tiles). Every plan's blocks, with both products (Flipout's second
// added to each block's values after the first, as a second call would), run in one parallel
// region.
template <class T>
struct ThinOutput {
  const T* src;
  long channels, out_channels;
  bool accumulate;
  const T* s_out;  // values, or with null `signs` below none
  SignRun signs;
  const T* bias;
};

template <class T>
struct ThinPlan {
  const GatherPlan* plan;
  TapOffsets layout;
  std::vector<T> wt[2];  // per product: wt[u, j, c] = W for output channel j, source channel c
};

template <class T>
std::vector<T> thin_weights(const GatherPlan& plan, const T* w, WeightRead read, long channels, long out_channels) {
  const long taps = plan.taps();
  std::vector<T> wt(static_cast<std::size_t>(taps * out_channels * channels));
  for (long u = 0; u < taps; ++u)
    for (long j = 0; j < out_channels; ++j)
      for (long c = 0; c < channels; ++c) {
        const T* tap = w + plan.tap_index[u] * channels * out_channels;
        wt[(u * out_channels + j) * channels + c] =
            read == WeightRead::as_is ? tap[c * out_channels + j] : tap[j * channels + c];
      }
  return wt;
}

// rows r0 .. r0 + m (m <= one vector's width) of one plan through one product
template <class T>
void thin_output_block(const ThinPlan<T>& tp, const std::vector<T>& wt, const ThinOutput<T>& p, long r0, long m,
                       const T* zeros, std::uintptr_t* ind, T* out, Activation act) {
  using B = xsimd::batch<T>;
  constexpr long W = static_cast<long>(B::size);
  const GatherPlan& plan = *tp.plan;
  const TapOffsets& layout = tp.layout;
  const long taps = plan.taps(), channels = p.channels, out_channels = p.out_channels;
  const long whole = channels / W * W;  // the channels on whole vectors; the rest one by one
  const long live = static_cast<long>(layout.taps.size());
  long o[W];
  const T* row_at[W];  // uniform: each row's first live tap's source channels
  RowCursor row(plan, r0);
  for (long r = 0; r < m; ++r, row.next()) {
    o[r] = row.out_pixel() * out_channels;
    if (layout.uniform) row_at[r] = p.src + row.source(layout.first) * channels;
  }
  if (layout.uniform) {
    std::fill(row_at + m, row_at + W, row_at[0]);  // a last block's missing rows: computed, not written
  } else {
    const std::uintptr_t zero_at = reinterpret_cast<std::uintptr_t>(zeros);
    block_addresses(plan, r0, m, reinterpret_cast<std::uintptr_t>(p.src), static_cast<std::uintptr_t>(channels) * sizeof(T),
                    zero_at, ind);
    std::fill(ind + m * taps, ind + W * taps, zero_at);
  }
  // acc[r] += the dot products of tap u's weights with the channels at row r's address at(r)
  auto add_tap = [&](B* acc, T* tail, const T* b, auto at) {
    for (long c = 0; c < whole; c += W) {
      const B wb = B::load_unaligned(b + c);
      for (long r = 0; r < W; ++r) acc[r] = xsimd::fma(B::load_unaligned(at(r) + c), wb, acc[r]);
    }
    for (long c = whole; c < channels; ++c)
      for (long r = 0; r < W; ++r) tail[r] += at(r)[c] * b[c];
  };
  for (long j = 0; j < out_channels; ++j) {
    B acc[W];
    for (long r = 0; r < W; ++r) acc[r] = B(T(0));
    T tail[W] = {};
    if (layout.uniform) {
      for (long k = 0; k < live; ++k) {
        const long off = layout.offset[k] * channels;
        add_tap(acc, tail, wt.data() + (layout.taps[k] * out_channels + j) * channels,
                [&](long r) { return row_at[r] + off; });
      }
    } else {
      for (long u = 0; u < taps; ++u) {
        const std::uintptr_t* at = ind + u;
        add_tap(acc, tail, wt.data() + (u * out_channels + j) * channels,
                [&](long r) { return reinterpret_cast<const T*>(at[r * taps]); });
      }
    }
    alignas(64) T sums[W];
    lane_sums(acc).store_aligned(sums);
    for (long r = 0; r < m; ++r) {
      const long at = o[r] + j;
      const T s = p.s_out ? p.s_out[at]
                  : p.signs ? (sign_positive(p.signs.words, p.signs.lead + static_cast<std::size_t>(at)) ? T(1) : T(-1))
                            : T(1);
      const T scaled = s * (sums[r] + tail[r]) + (p.bias ? p.bias[j] : T(0));
      out[at] = p.accumulate ? out[at] + scaled : scaled;
      if (act) activate(act, out + at, 1);
    }
  }
}

template <class T>
void thin_output_products(const std::vector<const GatherPlan*>& plans, const ThinOutput<T>* products, const T* const* w,
                          std::size_t terms, WeightRead read, T* out, Activation act) {
  constexpr long W = static_cast<long>(xsimd::batch<T>::size);
  const long channels = products[0].channels, out_channels = products[0].out_channels;
  std::vector<ThinPlan<T>> tps(plans.size());
  double work = 0;
  long max_taps = 1;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    tps[i].plan = plans[i];
    tps[i].layout = tap_offsets(*plans[i]);
    for (std::size_t t = 0; t < terms; ++t) tps[i].wt[t] = thin_weights(*plans[i], w[t], read, channels, out_channels);
    work += static_cast<double>(plans[i]->rows()) * plans[i]->taps() * channels * out_channels * static_cast<double>(terms);
    max_taps = std::max(max_taps, plans[i]->taps());
  }
  const std::vector<T> zeros(static_cast<std::size_t>(std::max<long>(channels, 1)), T(0));
  const bool parallel = work >= 1 << 16;
  int team = 1;
#ifdef _OPENMP
  if (parallel) team = omp_get_max_threads();
#endif
  // the threads' address tables, allocated before the region (an exception cannot leave it)
  std::vector<std::uintptr_t> tables(static_cast<std::size_t>(team) * static_cast<std::size_t>(W * max_taps));
#pragma omp parallel if (parallel)
  {
    int thread = 0;
#ifdef _OPENMP
    thread = omp_get_thread_num();
#endif
    std::uintptr_t* ind = tables.data() + static_cast<std::size_t>(thread) * static_cast<std::size_t>(W * max_taps);
    for (const ThinPlan<T>& tp : tps) {
      const long blocks = (tp.plan->rows() + W - 1) / W;
#pragma omp for schedule(static) nowait
      for (long blk = 0; blk < blocks; ++blk) {
        const long r0 = blk * W, m = std::min(W, tp.plan->rows() - r0);
        for (std::size_t t = 0; t < terms; ++t)  // the activation once the last product is added
          thin_output_block(tp, tp.wt[t], products[t], r0, m, zeros.data(), ind, out,
                            t + 1 == terms ? act : Activation{});
      }
    }
  }
}

}  // namespace

namespace {
// The small-row plan's axes (not yet finished).
GatherPlan small_row_axes(const Geo3& g, long images) {
  GatherPlan p;
  p.images = images;
  for (int j = 0; j < 3; ++j) {
    p.axis[j] = small_row_axis(g, j);
    p.out_extent[j] = g.small[j];
    p.src_extent[j] = g.big[j];
    p.filter[j] = g.filter[j];
  }
  return p;
}
}  // namespace

GatherPlan small_row_plan(const Geo3& g, long images, const char* who) {
  GatherPlan p = small_row_axes(g, images);
  finish(p, who);
  return p;
}

std::vector<GatherPlan> small_row_product_plans(const Geo3& g, long images, const char* who) {
  return split_by_border(small_row_axes(g, images), who);
}

std::vector<GatherPlan> big_row_plans(const Geo3& g, long images, const char* who) {
  std::vector<GatherPlan> plans;
  for (long f0 = 0; f0 < g.stride[0]; ++f0)
    for (long f1 = 0; f1 < g.stride[1]; ++f1)
      for (long f2 = 0; f2 < g.stride[2]; ++f2) {
        GatherPlan p;
        p.images = images;
        const long phase[3] = {f0, f1, f2};
        bool empty = false;
        for (int j = 0; j < 3; ++j) {
          p.axis[j] = big_row_axis(g, j, phase[j]);
          p.out_extent[j] = g.big[j];
          p.src_extent[j] = g.small[j];
          p.filter[j] = g.filter[j];
          empty = empty || p.axis[j].rows() == 0;
        }
        if (empty) continue;  // stride larger than the output: the phase has no pixel
        for (GatherPlan& c : split_by_border(p, who)) plans.push_back(std::move(c));
      }
  return plans;
}

template <class T>
void patch_gemm(const GatherPlan* plans, std::size_t count, const T* src, long src_channels, const T* w,
                WeightRead read, long out_channels, T* out, bool accumulate, const T* s_out, const T* bias,
                const T* src2, const T* w2, const T* s2, SignRun s2_signs, Activation act) {
  if (out_channels == 0) return;
  // the plans with a product: a stride phase that no tap reaches is 0 (+ bias) here
  std::vector<const GatherPlan*> products;
  for (std::size_t i = 0; i < count; ++i) {
    const GatherPlan& plan = plans[i];
    const long M = plan.rows();
    if (M == 0) continue;
    if (plan.taps() * src_channels > 0) {
      products.push_back(&plan);
      continue;
    }
    RowCursor row(plan, 0);
    for (long r = 0; r < M; ++r, row.next()) {
      T* o = out + row.out_pixel() * out_channels;
      for (long j = 0; j < out_channels; ++j) {
        o[j] = (accumulate ? o[j] : T(0)) + (bias ? bias[j] : T(0));
        if (src2) o[j] = o[j] + T(0);  // the second product's zero, added as a separate product would
      }
      activate(act, o, static_cast<std::size_t>(out_channels));
    }
  }
  if (products.empty()) return;
  constexpr long W = static_cast<long>(GemmShape<T>::W);
  if (out_channels <= kThinChannels) {
    const ThinOutput<T> terms[2] = {{src, src_channels, out_channels, accumulate, s_out, {}, bias},
                                    {src2, src_channels, out_channels, true, s2, s2_signs, nullptr}};
    const T* weights[2] = {w, w2};
    thin_output_products(products, terms, weights, src2 ? 2 : 1, read, out, act);
    return;
  }
  auto run = [&](auto nv) {
    indirect_patch_gemm<T, decltype(nv)::value>(products, src, src_channels, w, read, out_channels, out, accumulate,
                                                s_out, bias, src2, w2, s2, s2_signs, act);
  };
  if (out_channels <= W)
    run(std::integral_constant<std::size_t, 1>{});
  else if ((out_channels + 4 * W - 1) / (4 * W) * 2 <= (out_channels + 2 * W - 1) / (2 * W))  // no more padding
    run(std::integral_constant<std::size_t, 4>{});
  else
    run(std::integral_constant<std::size_t, 2>{});
}

namespace {

// out[c_dense, (t, c_patch)] = sum over rows r of dense[r, c_dense] * patch[source of (r, t), c_patch]:
// the dense operand's rows are the plan's rows in order (A^T, packed k-major), the patch matrix
// is packed row by row across its panels (each gathered row read once).
template <class T>
void dense_transpose_patch_gemm(const GatherPlan& plan, const T* dense, long c_dense, const T* patch, long c_patch,
                                T* out) {
  constexpr std::size_t MR = GemmShape<T>::MR;
  const std::size_t M = static_cast<std::size_t>(c_dense), N = static_cast<std::size_t>(plan.taps() * c_patch);
  const std::size_t K = static_cast<std::size_t>(plan.rows());
  gemm_driver<T, APanel::k_major, BPack::rows>(
      M, N, K, T(1), T(0),
      [&](T* dst, std::size_t i0, std::size_t m, std::size_t k0, std::size_t kc) {
        RowCursor rows(plan, static_cast<long>(k0));
        for (std::size_t k = 0; k < kc; ++k, rows.next())
          copy_panel_row<MR>(dst + k * MR, dense + rows.out_pixel() * c_dense + static_cast<long>(i0), m);
      },
      [&](T* dst, std::size_t jc, std::size_t nc, std::size_t k0, std::size_t kc, std::size_t r0, std::size_t r1) {
        pack_patch_column_rows(dst, plan, patch, c_patch, jc, nc, k0, kc, r0, r1);
      },
      [&](std::size_t i) { return out + i * N; });
}

// True when row r of the plan writes output pixel r (the small-row plans: a kernel gradient's
// dense side is then read in order, at a constant stride).
inline bool rows_in_order(const GatherPlan& plan) {
  if (plan.out_image_pixels != plan.rows_per_image) return false;
  for (long q = 0; q < plan.rows_per_image; ++q)
    if (plan.out_pixel[q] != q) return false;
  return true;
}

// The bytes of the patch image that rows r0..r1 of an in-order plan read (their taps' source
// pixels, whole): the first row's lowest source to the last row's highest. Empty when r0 == r1
// or the span is implausibly wide (more than 4 x the rows' taps' pixels: a plan whose rows
// read far apart, where a linear fetch would mostly bring lines nobody reads).
struct SourceSpan {
  std::uintptr_t begin = 0, end = 0;
  std::size_t lines() const { return (end - begin + 63) / 64; }
};
inline SourceSpan next_block_span(const GatherPlan& plan, std::size_t r0, std::size_t r1, std::uintptr_t src_at,
                                  std::uintptr_t pixel_bytes) {
  if (r0 >= r1) return {};
  long lo = -1, hi = -1;
  const RowCursor first(plan, static_cast<long>(r0)), last(plan, static_cast<long>(r1 - 1));
  for (long u = 0; u < plan.taps(); ++u) {
    const long a = first.source(u), b = last.source(u);
    if (a >= 0 && (lo < 0 || a < lo)) lo = a;
    if (b >= 0 && b > hi) hi = b;
  }
  if (lo < 0 || hi < lo) return {};
  const std::size_t pixels = static_cast<std::size_t>(hi - lo + 1);
  if (pixels > 4 * (r1 - r0) * static_cast<std::size_t>(plan.taps())) return {};
  SourceSpan s;
  s.begin = (src_at + static_cast<std::uintptr_t>(lo) * pixel_bytes) & ~std::uintptr_t(63);
  s.end = src_at + static_cast<std::uintptr_t>(hi + 1) * pixel_bytes;
  return s;
}

// The share of a plan's (row, tap) entries that read outside the image.
inline double outside_fraction(const GatherPlan& plan) {
  if (plan.src_pixel.empty()) return 0;
  const auto outside = std::count_if(plan.src_pixel.begin(), plan.src_pixel.end(), [](long r) { return r < 0; });
  return static_cast<double>(outside) / static_cast<double>(plan.src_pixel.size());
}

// MR x NV-vector register tile of the direct kernel gradient: kc rank-1 updates, A's row i at
// a[k * MR + i], column vector v at the address col[v][k * col_stride] + off[v] bytes (a source
// pixel, or zeros); then C rows (+)= the tile. Each value sums its rows in order and is added to C once per
// block, as the GEMM driver's micro-kernel does (c + acc, or acc where beta is 0): same bits.
// OneTap: all NV vectors lie in one tap's channels (c_patch a multiple of the tile's width), so
// one table load per row gives every address. Skip: rows whose every column reads outside the
// image are skipped (a compare and branch per row); without, they add zeros, and the rows go two
// per iteration. Kept out of line: inlined into the OpenMP region
// of direct_kernel_grad, the loop ran out of general registers and reloaded its offsets and
// bounds from the stack every row (a's 8 x 2 tile: 4 reloads per 16 FMAs, 6 % of its fwd+bwd).
template <class T, std::size_t MR, std::size_t NV, bool OneTap = false, bool Skip = true>
__attribute__((noinline)) void gathered_column_tile(std::size_t kc, const T* __restrict a,
                                                    const std::uintptr_t* const* col, std::size_t col_stride,
                                                    const std::uintptr_t* off, std::uintptr_t zero_at, T beta,
                                                    T* const* c_rows, std::size_t j0, std::size_t m, std::size_t n) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = GemmShape<T>::W;
  B acc[NV][MR];
#pragma GCC unroll 3
  for (std::size_t v = 0; v < NV; ++v)
#pragma GCC unroll 12
    for (std::size_t i = 0; i < MR; ++i) acc[v][i] = B(T(0));
  auto at = [](std::uintptr_t address) { return reinterpret_cast<const T*>(address); };
  auto rank1_update = [&](const T* a_row, const B* b) {
#pragma GCC unroll 12
    for (std::size_t i = 0; i < MR; ++i) {
      const B ai(a_row[i]);
#pragma GCC unroll 3
      for (std::size_t v = 0; v < NV; ++v) acc[v][i] = xsimd::fma(ai, b[v], acc[v][i]);
    }
  };
  if constexpr (OneTap) {
    std::uintptr_t offs[NV];  // (locals: the loop keeps them in registers)
    for (std::size_t v = 0; v < NV; ++v) offs[v] = off[v];
    const std::uintptr_t* row = col[0];
    auto update_from = [&](std::uintptr_t pixel) __attribute__((always_inline)) {
      B b[NV];
#pragma GCC unroll 3
      for (std::size_t v = 0; v < NV; ++v) b[v] = B::load_unaligned(at(pixel + offs[v]));
      rank1_update(a, b);
    };
    if constexpr (Skip) {
      for (const std::uintptr_t* const end = row + kc * col_stride; row != end; a += MR, row += col_stride)
        if (*row != zero_at) update_from(*row);  // (zero_at: the tap reads outside the image for this row)
    } else {
#pragma GCC unroll 2
      for (const std::uintptr_t* const end = row + kc * col_stride; row != end; a += MR, row += col_stride)
        update_from(*row);
    }
  } else {
    const std::uintptr_t* col0 = col[0];
    const std::uintptr_t* col1 = col[NV > 1 ? 1 : 0];
    const std::uintptr_t* col2 = col[NV > 2 ? 2 : 0];
    const std::uintptr_t o0 = off[0], o1 = off[NV > 1 ? 1 : 0], o2 = off[NV > 2 ? 2 : 0];
    auto update = [&]() __attribute__((always_inline)) {
      B b[NV];
      b[0] = B::load_unaligned(at(*col0 + o0));
      if constexpr (NV > 1) b[1] = B::load_unaligned(at(*col1 + o1));
      if constexpr (NV > 2) b[2] = B::load_unaligned(at(*col2 + o2));
      rank1_update(a, b);
    };
    if constexpr (Skip) {
      for (std::size_t k = 0; k < kc; ++k, a += MR, col0 += col_stride, col1 += col_stride, col2 += col_stride)
        // a row whose every column reads outside the image (a border row of the taps this tile
        // covers: 9 % of the FMAs of a 7 x 7 image at a 5 x 5 filter) adds only zero products
        if (*col0 != zero_at || (NV > 1 && *col1 != zero_at) || (NV > 2 && *col2 != zero_at)) update();
    } else {
#pragma GCC unroll 2
      for (std::size_t k = 0; k < kc; ++k, a += MR, col0 += col_stride, col1 += col_stride, col2 += col_stride)
        update();
    }
  }
  for (std::size_t i = 0; i < m; ++i) {
    T* c = c_rows[i] + j0;
    for (std::size_t v = 0; v < NV && v * W < n; ++v) {
      const std::size_t w = std::min(W, n - v * W);
      if (w == W) {
        (beta != T(0) ? B::load_unaligned(c + v * W) + acc[v][i] : acc[v][i]).store_unaligned(c + v * W);
      } else {
        alignas(64) T lanes[W];
        acc[v][i].store_aligned(lanes);
        for (std::size_t j = 0; j < w; ++j) c[v * W + j] = beta != T(0) ? c[v * W + j] + lanes[j] : lanes[j];
      }
    }
  }
}

// The product of dense_transpose_patch_gemm without packing the patch matrix, when the plan's
// rows are in order and the patch side's channels are whole vectors (each column vector of a
// tile then lies within one tap's channel run): A is the dense image (row k at dense + k *
// c_dense, packed in small k-major row panels), and each column vector is read from its source
// pixel through a per-block address table. Packing the patch matrix costs as much as the FMAs
// when c_dense is small (it is read by c_dense / MR tiles only). Each run of rows (row_chunks)
// goes through its K blocks, each block's tile added to the run's product as the packed driver
// does; the runs' products are then added in order.
template <class T, std::size_t MR, std::size_t NV>
void direct_kernel_grad(const GatherPlan& plan, const T* dense, long c_dense, const T* patch, long c_patch,
                        T* out) {
  using S = GemmShape<T>;
  constexpr std::size_t W = S::W, NR = NV * W, KC = S::KC;
  const long taps = plan.taps();
  const std::size_t M = static_cast<std::size_t>(c_dense), N = static_cast<std::size_t>(taps * c_patch);
  const std::size_t K = static_cast<std::size_t>(plan.rows()), MN = M * N;
  if (K == 0) {  // no rows (an empty batch): the product is 0, as the packed driver writes it
    std::fill_n(out, MN, T(0));
    return;
  }
  const std::size_t row_tiles = (M + MR - 1) / MR, panels = (N + NR - 1) / NR, tiles = row_tiles * panels;
  const std::size_t chunks = row_chunks(K, KC), units = chunks * tiles;
  // run 0 sums into out, run g > 0 into partial[(g - 1) * MN ...]
  static thread_local Scratch<T> partial_scratch;
  T* partial = chunks > 1 ? partial_scratch.get((chunks - 1) * MN) : nullptr;
  const std::vector<T> zeros(static_cast<std::size_t>(c_patch), T(0));
  const int threads = gemm_threads(M, N, K);
  // Rows whose every column reads outside the image add zeros: tiles skip them where they are
  // many (a 7 x 7 image at a 5 x 5 filter: 16 % of the table's entries; without the check a's
  // one-tap 8 x 2 tile was 15 % slower). Where they are few, the check costs more than the FMAs
  // it saves (b's 14 x 14 image, 8 %: the 8 x 3 tile without it, two rows per iteration, is 6 %
  // faster; d's 16 x 16 at 3 x 3, 4 %: 7 %; the autoencoder's k4 s4 decoder, 0 %: 8 x 2, ~2 %).
  const bool skip_outside = outside_fraction(plan) > 0.12;
  // Each thread takes a contiguous run of (row run, tile) units, run-major, with its own
  // address table: no barrier per block, and no table line written by the other core.
#pragma omp parallel num_threads(threads)
  {
    int thread = 0, team = 1;
#ifdef _OPENMP
    thread = omp_get_thread_num();
    team = omp_get_num_threads();
#endif
    const std::size_t u_begin = units * thread / team, u_end = units * (thread + 1) / team;
    // the block's column addresses: row k, tap t at table[k * taps + t] (block_addresses, as the
    // indirect GEMM builds its rows)
    static thread_local Scratch<std::uintptr_t> table_scratch;
    std::uintptr_t* table = table_scratch.get(static_cast<std::size_t>(taps) * KC);
    static thread_local Scratch<T> a_scratch;
    T* ap = a_scratch.get(KC * MR);
    T* c_rows[MR];
    const std::uintptr_t zero_at = reinterpret_cast<std::uintptr_t>(zeros.data());
    const std::uintptr_t patch_at = reinterpret_cast<std::uintptr_t>(patch);
    const std::uintptr_t pixel_bytes = static_cast<std::uintptr_t>(c_patch) * sizeof(T);
    for (std::size_t u = u_begin; u < u_end;) {
      const std::size_t g = u / tiles, q_begin = u % tiles, q_end = std::min(tiles, q_begin + (u_end - u));
      u += q_end - q_begin;
      const std::size_t r_begin = K * g / chunks, r_end = K * (g + 1) / chunks;
      T* c = g == 0 ? out : partial + (g - 1) * MN;
      for (std::size_t k0 = r_begin; k0 < r_end; k0 += KC) {
        const std::size_t kc = std::min(KC, r_end - k0);
        block_addresses(plan, static_cast<long>(k0), static_cast<long>(kc), patch_at, pixel_bytes, zero_at, table);
        // The next block's rows come from memory (a batch is bigger than L2): fetch them into L2
        // while this block's tiles run, spread over the tiles — its dense rows (contiguous) and
        // the span of the patch image its taps read. At the block's start they would stall the
        // first row tile's loads (about a tenth of the product's time at 64 images).
        const std::size_t next_end = std::min(K, k0 + kc + KC);
        const SourceSpan patch_ahead = next_block_span(plan, k0 + kc, next_end, patch_at, pixel_bytes);
        SourceSpan dense_ahead;
        if (k0 + kc < next_end) {
          dense_ahead.begin = reinterpret_cast<std::uintptr_t>(dense + (k0 + kc) * M) & ~std::uintptr_t(63);
          dense_ahead.end = reinterpret_cast<std::uintptr_t>(dense + next_end * M);
        }
        const std::size_t my_tiles = q_end - q_begin;
        const std::size_t patch_lines = (patch_ahead.lines() + my_tiles - 1) / my_tiles;
        const std::size_t dense_lines = (dense_ahead.lines() + my_tiles - 1) / my_tiles;
        std::uintptr_t patch_fetch = patch_ahead.begin, dense_fetch = dense_ahead.begin;
        std::size_t packed = M;  // the row tile whose A panel this thread holds for this block
        for (std::size_t q = q_begin; q < q_end; ++q) {
          for (std::size_t l = 0; l < patch_lines && patch_fetch < patch_ahead.end; ++l, patch_fetch += 64)
            __builtin_prefetch(reinterpret_cast<const void*>(patch_fetch), 0, 2);
          for (std::size_t l = 0; l < dense_lines && dense_fetch < dense_ahead.end; ++l, dense_fetch += 64)
            __builtin_prefetch(reinterpret_cast<const void*>(dense_fetch), 0, 2);
          const std::size_t i0 = (q / panels) * MR, j0 = (q % panels) * NR;
          const std::size_t m = std::min(MR, M - i0), n = std::min(NR, N - j0);
          if (packed != i0) {  // A's MR x kc panel, k-major: read by every panel of this row tile
            const T* a = dense + k0 * M + i0;
            for (std::size_t k = 0; k < kc; ++k) copy_panel_row<MR>(ap + k * MR, a + k * M, m);
            packed = i0;
          }
          // each column vector's tap (its column of the table) and byte offset in the tap's
          // channels; missing vectors repeat the first
          const std::uintptr_t* col[NV];
          std::uintptr_t off[NV];
          for (std::size_t v = 0; v < NV; ++v) {
            const long j = static_cast<long>(v * W < n ? j0 + v * W : j0);
            col[v] = table + j / c_patch;
            off[v] = static_cast<std::uintptr_t>(j % c_patch) * sizeof(T);
          }
          for (std::size_t i = 0; i < m; ++i) c_rows[i] = c + (i0 + i) * N;
          // a last panel of fewer vectors runs a narrower tile (the same sums, fewer wasted
          // FMAs: b's 25 taps x 16 channels are 8 panels of 3 vectors and one of 1)
          const T beta = k0 == r_begin ? T(0) : T(1);
          const std::size_t taps_stride = static_cast<std::size_t>(taps);
          auto tile = [&](auto skip) {
            constexpr bool Skip = decltype(skip)::value;
            if (c_patch % static_cast<long>(NR) == 0 && n == NR)
              gathered_column_tile<T, MR, NV, true, Skip>(kc, ap, col, taps_stride, off, zero_at, beta, c_rows, j0, m, n);
            else if (NV > 1 && n <= W)
              gathered_column_tile<T, MR, 1, false, Skip>(kc, ap, col, taps_stride, off, zero_at, beta, c_rows, j0, m, n);
            else if (NV > 2 && n <= 2 * W)
              gathered_column_tile<T, MR, 2, false, Skip>(kc, ap, col, taps_stride, off, zero_at, beta, c_rows, j0, m, n);
            else
              gathered_column_tile<T, MR, NV, false, Skip>(kc, ap, col, taps_stride, off, zero_at, beta, c_rows, j0, m, n);
          };
          if (skip_outside)
            tile(std::true_type{});
          else
            tile(std::false_type{});
        }
      }
    }
    if (chunks > 1) {  // out += each later run's product, in run order (per value: any thread count)
#pragma omp barrier
      add_runs_in_order(out, partial, chunks, MN, MN * thread / team, MN * (thread + 1) / team);
    }
  }
}

// out[c_dense, (t, c_patch)] = dense^T @ patches: direct where it applies, packed otherwise.
template <class T>
void kernel_grad_product(const GatherPlan& plan, const T* dense, long c_dense, const T* patch, long c_patch, T* out) {
  constexpr std::size_t W = GemmShape<T>::W;
  if (c_patch % static_cast<long>(W) == 0 && rows_in_order(plan)) {
    // Tiles of 12 or 8 rows x 2 or 3 vectors (same bits whichever). With c_patch 2 vectors, a
    // 2-vector tile is one tap's, so it skips every row outside the image for that tap (16 % of
    // the FMAs of a 7 x 7 image at a 5 x 5 filter; a tile spanning two taps skips only the rows
    // outside for both): 12 or 8 rows, whichever pads fewer. Otherwise 12 x 2 or 8 x 3,
    // whichever computes fewer padding values (for wider c_patch, 8 x 3's fewer loads per FMA
    // won over aligned 8 x 2 tiles: d's 64 channels, 1-2.5 % in an A/B).
    const std::size_t M = static_cast<std::size_t>(c_dense), N = static_cast<std::size_t>(plan.taps() * c_patch);
    auto padded = [&](std::size_t mr, std::size_t nr) { return (M + mr - 1) / mr * mr * ((N + nr - 1) / nr * nr); };
    if (c_patch == static_cast<long>(2 * W)) {
      if (padded(8, 2 * W) < padded(12, 2 * W))
        direct_kernel_grad<T, 8, 2>(plan, dense, c_dense, patch, c_patch, out);
      else
        direct_kernel_grad<T, 12, 2>(plan, dense, c_dense, patch, c_patch, out);
    } else if (padded(8, 3 * W) < padded(12, 2 * W)) {
      direct_kernel_grad<T, 8, 3>(plan, dense, c_dense, patch, c_patch, out);
    } else {
      direct_kernel_grad<T, 12, 2>(plan, dense, c_dense, patch, c_patch, out);
    }
  } else
    dense_transpose_patch_gemm(plan, dense, c_dense, patch, c_patch, out);
}

}  // namespace

// dw[t, c_in, c_out] from the thin small-side kernel gradient's acc[t, c_out, c_in]
template <class T>
void thin_acc_to_kernel(const T* acc, long taps, long c_in, long c_out, T* dw) {
  for (long t = 0; t < taps; ++t)
    for (long ci = 0; ci < c_in; ++ci)
      for (long co = 0; co < c_out; ++co) dw[(t * c_in + ci) * c_out + co] = acc[(t * c_out + co) * c_in + ci];
}

template <class T>
void conv_kernel_grad(const GatherPlan& plan, const T* x, long c_in, const T* dy, long c_out, T* dw) {
  const long taps = plan.taps();
  static thread_local Scratch<T> acc_scratch;  // weight-sized: no allocation (and page faults) per call
  T* acc = acc_scratch.get(static_cast<std::size_t>(taps * c_out * c_in));
  if (c_out <= kThinChannels)  // acc[t, c_out, c_in]
    thin_small_kernel_grad(plan, x, c_in, dy, c_out, acc);
  else  // acc[c_out, (t, c_in)] = dy^T @ patches(x)
    kernel_grad_product(plan, dy, c_out, x, c_in, acc);
  if (c_out <= kThinChannels) {
    thin_acc_to_kernel(acc, taps, c_in, c_out, dw);
    return;
  }
  for (long t = 0; t < taps; ++t)
    for (long ci = 0; ci < c_in; ++ci)
      for (long co = 0; co < c_out; ++co) dw[(t * c_in + ci) * c_out + co] = acc[(co * taps + t) * c_in + ci];
}

template <class T>
void conv_kernel_grads_signed(const GatherPlan& plan, const T* x, SignRun x_signs, long c_in, const T* dy,
                              const T* dy2, long c_out, T* dw, T* dw2) {
  const long taps = plan.taps(), size = taps * c_out * c_in;
  static thread_local Scratch<T> acc_scratch;  // both products' acc[t, c_out, c_in]
  T* acc = acc_scratch.get(static_cast<std::size_t>(2 * size));
  const SignedSecond<T> second{dy2, x_signs, acc + size};
  thin_small_kernel_grad(plan, x, c_in, dy, c_out, acc, &second);
  thin_acc_to_kernel(acc, taps, c_in, c_out, dw);
  thin_acc_to_kernel(acc + size, taps, c_in, c_out, dw2);
}

template <class T>
void conv_transpose_kernel_grad(const GatherPlan& plan, const T* x, long c_in, const T* dy, long c_out, T* dw) {
  if (c_in <= kThinChannels) {  // acc[t, c_in, c_out] is dw's layout
    thin_small_kernel_grad(plan, dy, c_out, x, c_in, dw);
    return;
  }
  // dwr[c_in, (t, c_out)] = x^T @ patches(dy), then dw[t, c_in, c_out] = dwr[c_in, t, c_out]
  const long taps = plan.taps();
  static thread_local Scratch<T> dwr_scratch;
  T* dwr = dwr_scratch.get(static_cast<std::size_t>(c_in * taps * c_out));
  kernel_grad_product(plan, x, c_in, dy, c_out, dwr);
  // (a weight-sized permutation: over the threads when it is big, else it runs alone on the
  // calling thread while the other waits)
  simd::parallel_for(static_cast<std::size_t>(c_in * taps * c_out) >= simd::kParallelGrain, taps, [&](std::ptrdiff_t t) {
    for (long ci = 0; ci < c_in; ++ci) std::copy_n(dwr + (ci * taps + t) * c_out, c_out, dw + (t * c_in + ci) * c_out);
  });
}

long GatherPlan::longest_run() const {
  long n = 1;
  for (long t : run_taps) n = std::max(n, t);
  return n;
}

#define TAPIR_CONV_GEMM(T)                                                                                  \
  template void patch_gemm<T>(const GatherPlan*, std::size_t, const T*, long, const T*, WeightRead, long, T*, bool, \
                              const T*, const T*, const T*, const T*, const T*, SignRun, Activation);                      \
  template void conv_kernel_grad<T>(const GatherPlan&, const T*, long, const T*, long, T*);                      \
  template void conv_kernel_grads_signed<T>(const GatherPlan&, const T*, SignRun, long, const T*, const T*, long, T*, T*); \
  template void conv_transpose_kernel_grad<T>(const GatherPlan&, const T*, long, const T*, long, T*);
TAPIR_CONV_GEMM(float)
TAPIR_CONV_GEMM(double)
#undef TAPIR_CONV_GEMM

}  // namespace tapir::kernels
