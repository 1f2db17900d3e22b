// Plain loop-nest references for convolution and conv-transpose, written from the definitions
// in docs/semantics/convolution.md ("Sizes and padding") and independent of tapir's geometry code.
#pragma once
#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace reference {

struct Spec {
  int rank = 2;
  std::vector<int> in, filter, stride, dilation;
  std::vector<int> output_padding;  // empty = unset (conv-transpose only)
  bool same = false;
  int c_in = 1, c_out = 1;
  std::vector<int> batch;
};

inline int k_eff(const Spec& s, int i) { return s.dilation[i] * (s.filter[i] - 1) + 1; }

// TF convolution output size and leading pad per dim.
inline void conv_out(const Spec& s, std::vector<int>& out, std::vector<int>& pad) {
  for (int i = 0; i < s.rank; ++i) {
    const int n = s.in[i], st = s.stride[i], k = k_eff(s, i);
    if (s.same) {
      const int o = (n + st - 1) / st;
      out.push_back(o);
      pad.push_back(std::max((o - 1) * st + k - n, 0) / 2);
    } else {
      out.push_back((n - k + 1 + st - 1) / st);
      pad.push_back(0);
    }
  }
}

// Keras conv-transpose output size and the placement rule's leading pad per dim.
inline void conv_transpose_out(const Spec& s, std::vector<int>& out, std::vector<int>& pad) {
  for (int i = 0; i < s.rank; ++i) {
    const int n = s.in[i], st = s.stride[i], k = k_eff(s, i);
    int N;
    if (s.output_padding.empty()) N = s.same ? n * st : n * st + std::max(k - st, 0);
    else N = (n - 1) * st + k - 2 * (s.same ? k / 2 : 0) + s.output_padding[i];
    out.push_back(N);
    const int full = (n - 1) * st + k;
    pad.push_back(std::max(full - N, 0) / 2);
  }
}

inline int prod(const std::vector<int>& v) {
  int p = 1;
  for (int x : v) p *= x;
  return p;
}

// Unflattens `flat` into a multi-index over `dims`.
inline std::vector<int> unflatten(int flat, const std::vector<int>& dims) {
  std::vector<int> idx(dims.size());
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) { idx[i] = flat % dims[i]; flat /= dims[i]; }
  return idx;
}
inline int flatten(const std::vector<int>& idx, const std::vector<int>& dims) {
  int f = 0;
  for (std::size_t i = 0; i < dims.size(); ++i) f = f * dims[i] + idx[i];
  return f;
}

// y[n, o, co] = sum_{a, ci} x[n, o*s + a*d - P, ci] W[a, ci, co]
inline std::vector<double> convolution(const Spec& s, const std::vector<double>& x,
                                       const std::vector<double>& w, std::vector<int>& out) {
  std::vector<int> pad;
  conv_out(s, out, pad);
  const int images = prod(s.batch), outp = prod(out), taps = prod(s.filter), inp = prod(s.in);
  std::vector<double> y(static_cast<std::size_t>(images) * outp * s.c_out, 0.0);
  for (int n = 0; n < images; ++n)
    for (int o = 0; o < outp; ++o) {
      const auto oi = unflatten(o, out);
      for (int a = 0; a < taps; ++a) {
        const auto ai = unflatten(a, s.filter);
        std::vector<int> p(s.rank);
        bool inside = true;
        for (int i = 0; i < s.rank; ++i) {
          p[i] = oi[i] * s.stride[i] + ai[i] * s.dilation[i] - pad[i];
          inside = inside && p[i] >= 0 && p[i] < s.in[i];
        }
        if (!inside) continue;
        const int pf = flatten(p, s.in);
        for (int ci = 0; ci < s.c_in; ++ci)
          for (int co = 0; co < s.c_out; ++co)
            y[(static_cast<std::size_t>(n) * outp + o) * s.c_out + co] +=
                x[(static_cast<std::size_t>(n) * inp + pf) * s.c_in + ci] * w[(static_cast<std::size_t>(a) * s.c_in + ci) * s.c_out + co];
      }
    }
  return y;
}

// y[n, i*s + a*d - P, co] += x[n, i, ci] W[a, ci, co]   (scatter form, no kernel flip)
inline std::vector<double> conv_transpose(const Spec& s, const std::vector<double>& x,
                                          const std::vector<double>& w, std::vector<int>& out) {
  std::vector<int> pad;
  conv_transpose_out(s, out, pad);
  const int images = prod(s.batch), outp = prod(out), taps = prod(s.filter), inp = prod(s.in);
  std::vector<double> y(static_cast<std::size_t>(images) * outp * s.c_out, 0.0);
  for (int n = 0; n < images; ++n)
    for (int i = 0; i < inp; ++i) {
      const auto ii = unflatten(i, s.in);
      for (int a = 0; a < taps; ++a) {
        const auto ai = unflatten(a, s.filter);
        std::vector<int> p(s.rank);
        bool inside = true;
        for (int d = 0; d < s.rank; ++d) {
          p[d] = ii[d] * s.stride[d] + ai[d] * s.dilation[d] - pad[d];
          inside = inside && p[d] >= 0 && p[d] < out[d];
        }
        if (!inside) continue;
        const int pf = flatten(p, out);
        for (int ci = 0; ci < s.c_in; ++ci)
          for (int co = 0; co < s.c_out; ++co)
            y[(static_cast<std::size_t>(n) * outp + pf) * s.c_out + co] +=
                x[(static_cast<std::size_t>(n) * inp + i) * s.c_in + ci] * w[(static_cast<std::size_t>(a) * s.c_in + ci) * s.c_out + co];
      }
    }
  return y;
}

}  // namespace reference
