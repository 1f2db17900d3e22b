// Implicit-GEMM convolution (internal header): every product of convolution and conv-transpose
// is a GEMM whose patch operand is packed straight from the image into the GEMM's panels, so no
// column matrix is ever written or read back.
//
// A patch GEMM is described by a GatherPlan: its rows are output pixels (n, q0, q1, q2), each
// reached by the same list of taps u; row q reads source coordinate src[q][u] through tap u
// along each dim (or nothing: -1, outside the image). With p = o*s + t*d - P:
//   small-row plan  rows o (small side), all taps, source p on the big side;
//   big-row plans   one per phase of (p + P) mod s: rows p of that phase (big side), the taps t
//                   with t*d = p + P (mod s), source o = (p + P - t*d) / s on the small side —
//                   the output-centric form of the scatter that conv-transpose and the input
//                   gradient of convolution are (a gather, each output written once).
// Then, for W[t, c_in, c_out]:
//   convolution      y  = patches(small-row, x)  @ W          dW = patches(x)^T @ dy
//                    dx = patches(big-row,  dy) @ W^T
//   conv_transpose   y  = patches(big-row,  x)  @ W          dW = x^T @ patches(dy)
//                    dx = patches(small-row, dy) @ W^T
// An optional scale (Flipout's sign tensor, shaped like the output) multiplies the product while
// it is written: out (+)= s_out ⊙ (patches(src) @ W).
// Each output element is summed in a fixed order whatever the thread count (bit-identical results).
#pragma once
#include <array>
#include <cstddef>
#include <memory>
#include <vector>

#include "activation.hpp"
#include "conv_geo3.hpp"
#include "sign_bits.hpp"

namespace tapir::kernels {

/// One spatial dim of a patch GEMM: rows() row coordinates, each reached by the same taps().
struct GatherAxis {
  std::vector<long> out{0};  // out[q]: coordinate of row q on the output side
  std::vector<long> tap{0};  // tap[u]: filter index of tap u
  std::vector<long> src{0};  // src[q * taps() + u]: source coordinate, or -1 outside the image
  long rows() const { return static_cast<long>(out.size()); }
  long taps() const { return static_cast<long>(tap.size()); }
};

struct GatherPlan {
  std::array<GatherAxis, 3> axis;
  std::array<long, 3> out_extent{1, 1, 1}, src_extent{1, 1, 1}, filter{1, 1, 1};
  long images = 1;
  std::vector<long> tap_index;  // flat filter index of flat tap u = (u0, u1, u2)
  // The same per image, flattened: row r = (n, q) with q < rows_per_image writes output pixel
  // n * out_image_pixels + out_pixel[q] and reads, through tap u, source pixel
  // n * src_image_pixels + src_pixel[q * taps() + u] (nothing where that is -1).
  long rows_per_image = 1, src_image_pixels = 1, out_image_pixels = 1;
  std::vector<long> out_pixel, src_pixel;
  // The live taps (those some row reads inside the image through) as maximal runs whose source pixels follow one another for every row (taps
  // along the filter's last axis at dilation 1): run r is taps run_first[r] .. run_first[r] +
  // run_taps[r] - 1, whose channel runs lie end to end in the source, so a register tile reads
  // them as one run of run_taps[r] x channels values (one address per row, not one per tap).
  std::vector<long> run_first, run_taps;
  // Shifted taps: when every row reads each live tap at the same pixel distance from where it
  // reads the first live tap (a border class, or a plan without borders: the source pixel is
  // linear in the row's and the tap's coordinates), row q's tap u reads source pixel
  // row_source[q] + tap_shift[u]. A register tile then needs one address per row, not one per
  // row and tap. Empty when the rows do not share the distances (a plan left whole above the
  // border-class limit) or no tap is live.
  std::vector<long> row_source, tap_shift;
  bool shifted_taps() const { return !row_source.empty(); }
  long longest_run() const;
  long rows() const { return images * rows_per_image; }
  long taps() const { return static_cast<long>(tap_index.size()); }
};

/// Rows: the small side's pixels; source: the big side; every tap. The per-image table
/// (pixels x taps entries) is held to the tensor limit: ShapeError naming `who` beyond it.
GatherPlan small_row_plan(const Geo3& g, long images, const char* who);
/// The small-row plan as one plan per border class (rows that miss the same taps), for the
/// products whose output is the small side (patch_gemm); the kernel gradients take the whole plan.
std::vector<GatherPlan> small_row_product_plans(const Geo3& g, long images, const char* who);
/// Rows: the big side's pixels, one plan per stride phase and border class (they partition the
/// pixels); source: the small side. A phase no tap reaches has taps() == 0 (its rows are written
/// as zeros).
std::vector<GatherPlan> big_row_plans(const Geo3& g, long images, const char* who);

/// Which of the three plan lists above.
enum class PlanKind { small_rows, small_products, big_rows };
/// The plans of `kind` for a geometry and batch, built once and then shared: a training loop
/// calls the same convolutions every step, and building a call's tables costs 5-65 us on the
/// calling thread (serial at any thread count). A process-wide cache holds the most recently
/// used lists (at most kPlanCacheEntries, and kPlanCacheBytes of tables; a bigger list is
/// built and not kept). The plans are immutable: callers on any thread share them. For
/// small_rows the list has one plan.
constexpr std::size_t kPlanCacheEntries = 64, kPlanCacheBytes = std::size_t(64) << 20;
std::shared_ptr<const std::vector<GatherPlan>> shared_plans(PlanKind kind, const Geo3& g, long images, const char* who);
/// What the cache holds now (for tests): lists and bytes of tables.
struct PlanCacheUse {
  std::size_t entries, bytes;
};
PlanCacheUse plan_cache_use();

/// How W[t, c_in, c_out] is read as the GEMM's B[(u, k), j]: k the source channel, j the output
/// channel. as_is: k = c_in, j = c_out (forward ops); transposed: k = c_out, j = c_in (input gradients).
enum class WeightRead { as_is, transposed };

/// out[row pixel, j] = (accumulate ? out : 0) + s_out ⊙ sum_{u, k} src[source pixel, k] W(u, k, j) + bias[j]
/// for the rows of `count` plans whose rows write disjoint pixels (one product's stride phases,
/// run in one parallel region); `s_out` (like out) and `bias` (out_channels values) may be null.
/// With `src2`, each output tile then adds s2 ⊙ (the same product of src2 through w2) while it
/// is in cache (Flipout's perturbation; `s2` may be null, or given as sign bits `s2_signs` of
/// out's layout instead): the bits of two separate calls, the second accumulating. With `act`,
/// each output value, once complete, is replaced by act(value) while its tile is in cache.
template <class T>
void patch_gemm(const GatherPlan* plans, std::size_t count, const T* src, long src_channels, const T* w,
                WeightRead read, long out_channels, T* out, bool accumulate = false, const T* s_out = nullptr,
                const T* bias = nullptr, const T* src2 = nullptr, const T* w2 = nullptr, const T* s2 = nullptr,
                SignRun s2_signs = {}, Activation act = {});

/// Convolution's kernel gradient on the small-row plan (x on the big side, dy on the small side):
/// dw[t, c_in, c_out] = sum_{n, o} x[n, p(o, t), c_in] dy[n, o, c_out].
template <class T>
void conv_kernel_grad(const GatherPlan& plan, const T* x, long c_in, const T* dy, long c_out, T* dw);

/// Flipout's two kernel gradients of a convolution in one pass over x, where the kernels read x
/// once for both: dw as conv_kernel_grad(x, dy) and dw2 as conv_kernel_grad(x_signs ⊙ x, dy2),
/// with the bits of those two calls. Needs c_out <= kThinChannels and sign bits (the caller
/// checks: GemmConv::pairs_kernel_grads).
template <class T>
void conv_kernel_grads_signed(const GatherPlan& plan, const T* x, SignRun x_signs, long c_in, const T* dy,
                              const T* dy2, long c_out, T* dw, T* dw2);

/// Conv-transpose's kernel gradient on the small-row plan (x on the small side, dy on the big side):
/// dw[t, c_in, c_out] = sum_{n, o} x[n, o, c_in] dy[n, p(o, t), c_out].
template <class T>
void conv_transpose_kernel_grad(const GatherPlan& plan, const T* x, long c_in, const T* dy, long c_out, T* dw);

}  // namespace tapir::kernels
