// Convolution and conv-transpose on the shared GEMM (the PyTorch/Caffe column method, with the
// batch folded into the GEMM's M so that every product is one large GEMM):
//
//   columns view: cols[o, (tap, c)] = big[o*s + tap*d - P, c]   (im2col; zero outside)
//   its adjoint:  big[p, c] = sum over (o, tap) meeting p of cols[o, (tap, c)]   (col2im)
//
//   convolution       y    = im2col(x) @ W              dW = im2col(x)^T @ dy
//                     dx   = col2im(dy @ W^T)
//   conv_transpose    y    = col2im(x @ Wr)             dWr = x^T @ im2col(dy)
//                     dx   = im2col(dy) @ Wr^T          (Wr[c_in, (tap, c_out)] = W[tap, c_in, c_out])
//
// so the backward of one op is the forward machinery of the other. col2im is written as a
// gather (each output pixel sums its own contributions in tap order), which makes it parallel
// without atomics and the results bit-identical at any thread count.
#include "conv.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "dispatch.hpp"
#include "kernels/gemm.hpp"
#include "tensor_ops.hpp"

namespace tapir {

std::vector<int> IntOrList::expand(std::size_t rank, const char* what) const {
  if (values_.size() == 1) return std::vector<int>(rank, values_[0]);
  if (values_.size() != rank) {
    std::vector<std::size_t> v(values_.begin(), values_.end());
    throw ValueError(std::string(what) + ": expected 1 or " + std::to_string(rank) +
                     " values (one per spatial dimension), got " + std::to_string(values_.size()));
  }
  return values_;
}

std::size_t ConvGeometry::taps() const {
  std::size_t t = 1;
  for (auto f : filter) t *= f;
  return t;
}

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string list_str(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

bool parse_same(const std::string& padding, const char* who) {
  const std::string p = upper(padding);
  if (p == "SAME") return true;
  if (p == "VALID") return false;
  throw ValueError(std::string(who) + ": padding must be \"SAME\" or \"VALID\" (case-insensitive), got \"" +
                   padding + "\"" + (p == "CAUSAL" || p == "FULL" ? " (not supported)" : ""));
}

// Strides and dilations: positive, and not both > 1 (as TF requires).
void check_strides_dilations(const std::vector<int>& s, const std::vector<int>& d, const char* who) {
  for (int v : s)
    if (v < 1) throw ValueError(std::string(who) + ": strides must be >= 1, got " + list_str(s));
  for (int v : d)
    if (v < 1) throw ValueError(std::string(who) + ": dilations must be >= 1, got " + list_str(d));
  const bool strided = std::any_of(s.begin(), s.end(), [](int v) { return v > 1; });
  const bool dilated = std::any_of(d.begin(), d.end(), [](int v) { return v > 1; });
  if (strided && dilated)
    throw ValueError(std::string(who) + ": strides " + list_str(s) + " > 1 cannot be combined with dilations " +
                     list_str(d) + " > 1");
}

void check_sizes(const std::vector<std::size_t>& in, const std::vector<std::size_t>& filter, const char* who) {
  for (auto v : in)
    if (v == 0) throw ValueError(std::string(who) + ": spatial input sizes must be positive, got " + shape_str(in));
  for (auto v : filter)
    if (v == 0) throw ValueError(std::string(who) + ": filter sizes must be positive, got " + shape_str(filter));
}

}  // namespace

ConvGeometry conv_geometry(const std::vector<std::size_t>& in, const std::vector<std::size_t>& filter,
                           const ConvOptions& options, const char* who) {
  const std::size_t rank = in.size();
  check_sizes(in, filter, who);
  const auto s = options.strides_.expand(rank, (std::string(who) + " strides").c_str());
  const auto d = options.dilations_.expand(rank, (std::string(who) + " dilations").c_str());
  check_strides_dilations(s, d, who);
  const bool same = parse_same(options.padding_, who);
  ConvGeometry g;
  g.rank = rank;
  g.big = in;
  g.filter = filter;
  for (std::size_t i = 0; i < rank; ++i) {
    const std::size_t k_eff = static_cast<std::size_t>(d[i]) * (filter[i] - 1) + 1;
    const std::size_t st = static_cast<std::size_t>(s[i]);
    std::size_t out, pad = 0;
    if (same) {
      out = (in[i] + st - 1) / st;
      const std::size_t needed = (out - 1) * st + k_eff;
      pad = needed > in[i] ? (needed - in[i]) / 2 : 0;
    } else {
      if (in[i] < k_eff)
        throw ValueError(std::string(who) + ": VALID convolution of spatial size " + shape_str(in) +
                         " with dilated filter size " + std::to_string(k_eff) + " along dim " +
                         std::to_string(i) + " has no output");
      out = (in[i] - k_eff) / st + 1;
    }
    g.small.push_back(out);
    g.stride.push_back(st);
    g.dilation.push_back(static_cast<std::size_t>(d[i]));
    g.pad_lead.push_back(pad);
  }
  return g;
}

ConvGeometry conv_transpose_geometry(const std::vector<std::size_t>& in,
                                     const std::vector<std::size_t>& filter,
                                     const ConvTransposeOptions& options, const char* who) {
  const std::size_t rank = in.size();
  check_sizes(in, filter, who);
  const auto s = options.strides_.expand(rank, (std::string(who) + " strides").c_str());
  const auto d = options.dilations_.expand(rank, (std::string(who) + " dilations").c_str());
  check_strides_dilations(s, d, who);
  const bool same = parse_same(options.padding_, who);
  std::vector<int> op;
  if (options.output_padding_) {
    op = options.output_padding_->expand(rank, (std::string(who) + " output_padding").c_str());
    for (std::size_t i = 0; i < rank; ++i)
      if (op[i] < 0 || op[i] >= s[i])
        throw ValueError(std::string(who) + ": output_padding " + list_str(op) +
                         " must be >= 0 and smaller than strides " + list_str(s) + " in every dimension");
  }
  ConvGeometry g;
  g.rank = rank;
  g.small = in;
  g.filter = filter;
  for (std::size_t i = 0; i < rank; ++i) {
    const long k_eff = static_cast<long>(d[i]) * (static_cast<long>(filter[i]) - 1) + 1;
    const long n = static_cast<long>(in[i]), st = s[i];
    long out;
    if (!options.output_padding_) {  // Keras deconv_output_length, output_padding=None
      out = same ? n * st : n * st + std::max(k_eff - st, 0L);
    } else {
      const long pad = same ? k_eff / 2 : 0;
      out = (n - 1) * st + k_eff - 2 * pad + op[i];
    }
    if (out < 1)
      throw ValueError(std::string(who) + ": output size along dim " + std::to_string(i) + " would be " +
                       std::to_string(out) + " (input " + shape_str(in) + ", filter " + shape_str(filter) + ")");
    const long full = (n - 1) * st + k_eff;
    g.big.push_back(static_cast<std::size_t>(out));
    g.stride.push_back(static_cast<std::size_t>(st));
    g.dilation.push_back(static_cast<std::size_t>(d[i]));
    g.pad_lead.push_back(static_cast<std::size_t>(std::max(full - out, 0L) / 2));
  }
  return g;
}

namespace {

// Geometry padded to 3 spatial dims (extra dims of size 1), as plain arrays for the loops.
struct Geo3 {
  std::array<long, 3> small{1, 1, 1}, big{1, 1, 1}, filter{1, 1, 1}, stride{1, 1, 1}, dil{1, 1, 1}, pad{0, 0, 0};
  long small_pixels() const { return small[0] * small[1] * small[2]; }
  long big_pixels() const { return big[0] * big[1] * big[2]; }
  long taps() const { return filter[0] * filter[1] * filter[2]; }
};

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

// The adjoint of im2col as a gather: big[n, p, c] = sum over taps with p = o*s + tap*d - P.
template <class T>
void col2im(const T* cols, const Geo3& g, long images, long channels, T* big) {
  const long pixels = images * g.big_pixels();
  const long row_len = g.taps() * channels;
#pragma omp parallel for schedule(static) if (pixels * channels >= (1 << 14))
  for (long q = 0; q < pixels; ++q) {
    long p2 = q % g.big[2], rest = q / g.big[2];
    const long p1 = rest % g.big[1];
    rest /= g.big[1];
    const long p0 = rest % g.big[0], n = rest / g.big[0];
    T* dst = big + q * channels;
    std::fill(dst, dst + channels, T(0));
    for (long t0 = 0; t0 < g.filter[0]; ++t0) {
      const long a0 = p0 + g.pad[0] - t0 * g.dil[0];
      if (a0 < 0 || a0 % g.stride[0]) continue;
      const long o0 = a0 / g.stride[0];
      if (o0 >= g.small[0]) continue;
      for (long t1 = 0; t1 < g.filter[1]; ++t1) {
        const long a1 = p1 + g.pad[1] - t1 * g.dil[1];
        if (a1 < 0 || a1 % g.stride[1]) continue;
        const long o1 = a1 / g.stride[1];
        if (o1 >= g.small[1]) continue;
        for (long t2 = 0; t2 < g.filter[2]; ++t2) {
          const long a2 = p2 + g.pad[2] - t2 * g.dil[2];
          if (a2 < 0 || a2 % g.stride[2]) continue;
          const long o2 = a2 / g.stride[2];
          if (o2 >= g.small[2]) continue;
          const long row = ((n * g.small[0] + o0) * g.small[1] + o1) * g.small[2] + o2;
          const long tap = (t0 * g.filter[1] + t1) * g.filter[2] + t2;
          const T* src = cols + row * row_len + tap * channels;
#pragma omp simd
          for (long c = 0; c < channels; ++c) dst[c] += src[c];
        }
      }
    }
  }
}

struct ConvCall {
  std::size_t rank, images, c_in, c_out;
  Shape batch;  // leading batch dims of x
  ConvGeometry geometry;
};

// Validates x/kernel shapes (shared by both ops) and splits x's shape.
ConvCall inspect(const Var& x, const Var& kernel, const char* who) {
  const Shape& xs = x.shape();
  const Shape& ks = kernel.shape();
  if (x.dtype() != kernel.dtype())
    throw TypeError(std::string(who) + ": input is " + dtype_name(x.dtype()) + " but kernel is " +
                    dtype_name(kernel.dtype()));
  if (ks.size() < 3 || ks.size() > 5)
    throw ShapeError(std::string(who) + ": kernel must be [filter..., c_in, c_out] with 1 to 3 filter dims, got " +
                     shape_str(ks));
  ConvCall c;
  c.rank = ks.size() - 2;
  if (xs.size() < c.rank + 1)
    throw ShapeError(std::string(who) + ": input " + shape_str(xs) + " has rank " + std::to_string(xs.size()) +
                     "; a rank-" + std::to_string(c.rank) + " op with kernel " + shape_str(ks) +
                     " needs at least " + std::to_string(c.rank + 1) + " dims (spatial... , channels)");
  c.c_in = ks[c.rank];
  c.c_out = ks[c.rank + 1];
  if (xs.back() != c.c_in)
    throw ShapeError(std::string(who) + ": input has " + std::to_string(xs.back()) + " channels but kernel " +
                     shape_str(ks) + " expects c_in=" + std::to_string(c.c_in) + " (input shape " + shape_str(xs) + ")");
  if (c.c_out == 0) throw ValueError(std::string(who) + ": kernel " + shape_str(ks) + " has c_out = 0");
  c.batch.assign(xs.begin(), xs.end() - static_cast<long>(c.rank) - 1);
  c.images = numel(c.batch);
  return c;
}

Shape with_spatial(const Shape& batch, const std::vector<std::size_t>& spatial, std::size_t channels) {
  Shape s = batch;
  s.insert(s.end(), spatial.begin(), spatial.end());
  s.push_back(channels);
  return s;
}

// Wr[c_in, (tap, c_out)] = W[tap, c_in, c_out], and back.
Tensor kernel_to_rows(const Tensor& w, std::size_t taps, std::size_t c_in, std::size_t c_out) {
  return tensor_ops::permute(w.reshape({taps, c_in, c_out}), {1, 0, 2}).reshape({c_in, taps * c_out});
}

}  // namespace

Var convolution(const Var& x, const Var& kernel, const ConvOptions& options) {
  const ConvCall c = inspect(x, kernel, "convolution");
  const Shape& xs = x.shape();
  const std::vector<std::size_t> in(xs.end() - static_cast<long>(c.rank) - 1, xs.end() - 1);
  const std::vector<std::size_t> filter(kernel.shape().begin(), kernel.shape().begin() + static_cast<long>(c.rank));
  const ConvGeometry geom = conv_geometry(in, filter, options);
  const Geo3 g = to_geo3(geom);
  const std::size_t M = c.images * static_cast<std::size_t>(g.small_pixels());
  const std::size_t K = static_cast<std::size_t>(g.taps()) * c.c_in;
  const Tensor xv = x.value(), wv = kernel.value();
  Tensor cols = Tensor::empty({M, K}, xv.dtype());
  Tensor y = Tensor::empty(with_spatial(c.batch, geom.small, c.c_out), xv.dtype());
  TAPIR_DISPATCH(xv.dtype(), T, {
    im2col<T>(xv.data<T>(), g, static_cast<long>(c.images), static_cast<long>(c.c_in), cols.data<T>());
    kernels::gemm<T>(false, false, M, c.c_out, K, T(1), cols.data<T>(), K, wv.data<T>(), c.c_out, T(0),
                     y.data<T>(), c.c_out);
  });
  const bool need_x = x.requires_grad(), need_w = kernel.requires_grad();
  if (!need_w) cols = Tensor();  // only the kernel gradient reads the columns
  const Shape x_shape = xs, w_shape = kernel.shape();
  return custom_op("convolution", y, {x, kernel}, [=](const Tensor& gy) {
    Tensor dx, dw;
    TAPIR_DISPATCH(gy.dtype(), T, {
      if (need_x) {
        Tensor dcols = Tensor::empty({M, K}, gy.dtype());
        kernels::gemm<T>(false, true, M, K, c.c_out, T(1), gy.data<T>(), c.c_out, wv.data<T>(), c.c_out, T(0),
                         dcols.data<T>(), K);
        dx = Tensor::empty(x_shape, gy.dtype());
        col2im<T>(dcols.data<T>(), g, static_cast<long>(c.images), static_cast<long>(c.c_in), dx.data<T>());
      }
      if (need_w) {
        dw = Tensor::empty(w_shape, gy.dtype());
        kernels::gemm<T>(true, false, K, c.c_out, M, T(1), cols.data<T>(), K, gy.data<T>(), c.c_out, T(0),
                         dw.data<T>(), c.c_out);
      }
    });
    return std::vector<Tensor>{dx, dw};
  });
}

Var conv_transpose(const Var& x, const Var& kernel, const ConvTransposeOptions& options) {
  const ConvCall c = inspect(x, kernel, "conv_transpose");
  const Shape& xs = x.shape();
  const std::vector<std::size_t> in(xs.end() - static_cast<long>(c.rank) - 1, xs.end() - 1);
  const std::vector<std::size_t> filter(kernel.shape().begin(), kernel.shape().begin() + static_cast<long>(c.rank));
  const ConvGeometry geom = conv_transpose_geometry(in, filter, options);
  const Geo3 g = to_geo3(geom);
  const std::size_t taps = static_cast<std::size_t>(g.taps());
  const std::size_t M = c.images * static_cast<std::size_t>(g.small_pixels());
  const std::size_t N = taps * c.c_out;
  const Tensor xv = x.value();
  const Tensor wr = kernel_to_rows(kernel.value(), taps, c.c_in, c.c_out);
  Tensor y = Tensor::empty(with_spatial(c.batch, geom.big, c.c_out), xv.dtype());
  {
    Tensor cols = Tensor::empty({M, N}, xv.dtype());
    TAPIR_DISPATCH(xv.dtype(), T, {
      kernels::gemm<T>(false, false, M, N, c.c_in, T(1), xv.data<T>(), c.c_in, wr.data<T>(), N, T(0),
                       cols.data<T>(), N);
      col2im<T>(cols.data<T>(), g, static_cast<long>(c.images), static_cast<long>(c.c_out), y.data<T>());
    });
  }
  const bool need_x = x.requires_grad(), need_w = kernel.requires_grad();
  const Shape x_shape = xs, w_shape = kernel.shape();
  return custom_op("conv_transpose", y, {x, kernel}, [=](const Tensor& gy) {
    Tensor dx, dw;
    TAPIR_DISPATCH(gy.dtype(), T, {
      Tensor dcols = Tensor::empty({M, N}, gy.dtype());
      im2col<T>(gy.data<T>(), g, static_cast<long>(c.images), static_cast<long>(c.c_out), dcols.data<T>());
      if (need_x) {
        dx = Tensor::empty(x_shape, gy.dtype());
        kernels::gemm<T>(false, true, M, c.c_in, N, T(1), dcols.data<T>(), N, wr.data<T>(), N, T(0),
                         dx.data<T>(), c.c_in);
      }
      if (need_w) {
        Tensor dwr = Tensor::empty({c.c_in, N}, gy.dtype());
        kernels::gemm<T>(true, false, c.c_in, N, M, T(1), xv.data<T>(), c.c_in, dcols.data<T>(), N, T(0),
                         dwr.data<T>(), N);
        dw = tensor_ops::permute(dwr.reshape({c.c_in, taps, c.c_out}), {1, 0, 2}).reshape(w_shape);
      }
    });
    return std::vector<Tensor>{dx, dw};
  });
}

}  // namespace tapir
