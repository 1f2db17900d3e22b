// Helpers shared by the distribution implementations (not installed, not public API): parameter
// validation with messages that show the offending values, masks, one-hot encodings.
#pragma once
#include <functional>
#include <string>

#include <tapir/core/ops.hpp>
#include <tapir/distributions/distribution.hpp>

namespace tapir::distributions::internal {

/// A constant scalar of the given dtype.
Var scalar(double value, DType dtype);

/// TypeError unless a and b have the same dtype: "Normal 'n': loc is float32 [3] but scale is float64 []".
void check_same_dtype(const std::string& who, const char* a_name, const Var& a, const char* b_name,
                      const Var& b);
/// Broadcast shape of two parameters, or a ShapeError naming both.
Shape broadcast_parameters(const std::string& who, const char* a_name, const Shape& a,
                           const char* b_name, const Shape& b);

/// ValueError listing (up to 5) elements of `t` for which `ok` fails:
///   "Normal 'n': scale must be > 0; got scale[1] = -0.5, scale[3] = 0 (scale has shape [4])".
void check_elements(const std::string& who, const char* arg, const Tensor& t,
                    const std::function<bool(double)>& ok, const char* requirement);

/// True where each parameter has x's dtype and either x's shape or one element of no more dims
/// (so that it broadcasts without changing x's shape), and x is not empty: the shapes the fused
/// log-densities take.
bool elementwise_parameters(const Var& x, const Var& a, const Var& b);

/// log N(x; μ, σ), broadcasting; one op (elementwise_density.hpp) where elementwise_parameters
/// holds — Normal's log_prob, and LogitNormal's at the logits on its broadcasting path.
Var normal_log_density(const Var& x, const Var& mu, const Var& sigma);

/// 1 where pred(x) holds, else 0, in x's dtype (conditions for `where`).
Tensor mask(const Tensor& x, const std::function<bool(double)>& pred);

/// One-hot encoding of integer-valued `indices` (stored as floats) into `depth` classes: shape
/// indices.shape() + [depth]. ValueError naming the values that are not integers in [0, depth).
Tensor one_hot(const std::string& who, const Tensor& indices, std::size_t depth);

/// x reshaped with `count` axes of size 1 inserted before axis `position`.
Var insert_unit_axes(const Var& x, std::size_t position, std::size_t count);
/// The axes [-n, -1] (for reductions over the rightmost n dims).
std::vector<int> rightmost_axes(std::size_t n);

}  // namespace tapir::distributions::internal
