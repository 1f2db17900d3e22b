// Differentiable operations on Vars. Binary ops broadcast like NumPy; their gradients are
// summed back to each input's shape. Both operands must have the same dtype (scalars given as
// double take the Var's dtype).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <tapir/core/var.hpp>

namespace tapir {

// ---- elementwise, binary (broadcasting) ----
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var pow(const Var& a, const Var& b);      ///< a^b for a > 0 (d/db uses log a); b may be any real
Var pow(const Var& a, double exponent);   ///< a^p; any a when p is an integer
Var minimum(const Var& a, const Var& b);  ///< ties split the gradient equally
Var maximum(const Var& a, const Var& b);
/// where(condition != 0, a, b), broadcasting all three; no gradient flows to `condition`.
Var where(const Var& condition, const Var& a, const Var& b);

// ---- elementwise, unary ----
Var neg(const Var& x);
Var exp(const Var& x);
Var log(const Var& x);
Var log1p(const Var& x);
Var expm1(const Var& x);
Var softplus(const Var& x);  ///< log(1 + e^x), exact for large |x|
Var sigmoid(const Var& x);
Var tanh(const Var& x);
Var relu(const Var& x);      ///< gradient 0 at 0
Var leaky_relu(const Var& x, double negative_slope = 0.2);  ///< Keras/TF default slope 0.2
Var elu(const Var& x, double alpha = 1.0);
Var abs(const Var& x);       ///< gradient sign(x), 0 at 0
Var square(const Var& x);
Var sqrt(const Var& x);
Var scale(const Var& x, double factor);  ///< factor * x

// ---- reductions (axes may be negative; empty axes = all) ----
Var sum(const Var& x, std::vector<int> axes = {}, bool keepdims = false);
Var mean(const Var& x, std::vector<int> axes = {}, bool keepdims = false);
Var max(const Var& x, std::vector<int> axes = {}, bool keepdims = false);  ///< ties share
Var logsumexp(const Var& x, std::vector<int> axes = {}, bool keepdims = false);

// ---- shape ----
Var reshape(const Var& x, const Shape& shape);
/// Reorders axes: out.shape[i] = x.shape[perm[i]].
Var permute(const Var& x, const std::vector<std::size_t>& perm);
/// Swaps the last two axes (matrix transpose, batched).
Var transpose(const Var& x);
Var broadcast_to(const Var& x, const Shape& shape);
Var concat(const std::vector<Var>& xs, int axis);
/// The inverse of concat: pieces of `sizes[i]` along `axis` (the sizes must add up to the axis
/// length; tf.split's size_splits). split(x, n, axis) cuts the axis into n equal pieces.
std::vector<Var> split(const Var& x, const std::vector<std::size_t>& sizes, int axis);
std::vector<Var> split(const Var& x, std::size_t num, int axis);
/// Per-axis [begin, end) with step (> 0). Negative begin/end count from the end (as in Python);
/// end = INT64_MAX (the default) means "to the end". Nothing is clamped: a bound outside the
/// axis, end < begin or step <= 0 is a ValueError. Axes beyond spec.size() are taken whole.
struct SliceSpec {
  std::int64_t begin = 0;
  std::int64_t end = INT64_MAX;  ///< INT64_MAX = to the end
  std::int64_t step = 1;
};
Var slice(const Var& x, const std::vector<SliceSpec>& spec);
/// Constant padding: pads[i] = {before, after} for axis i (one pair per axis).
Var pad(const Var& x, const std::vector<std::pair<std::size_t, std::size_t>>& pads,
        double value = 0.0);

// ---- linear algebra ----
/// Batched matrix product: a [..., m, k] @ b [..., k, n] -> [..., m, n]; batch dims broadcast.
Var matmul(const Var& a, const Var& b);

// ---- operators ----
Var operator+(const Var& a, const Var& b);
Var operator-(const Var& a, const Var& b);
Var operator*(const Var& a, const Var& b);
Var operator/(const Var& a, const Var& b);
Var operator-(const Var& a);
Var operator+(const Var& a, double b);
Var operator+(double a, const Var& b);
Var operator-(const Var& a, double b);
Var operator-(double a, const Var& b);
Var operator*(const Var& a, double b);
Var operator*(double a, const Var& b);
Var operator/(const Var& a, double b);
Var operator/(double a, const Var& b);

/// A constant scalar of x's dtype (helper for mixing Vars and numbers).
Var scalar_like(const Var& x, double value);

}  // namespace tapir
