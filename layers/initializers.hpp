// tfn::initializers: TFP's glorot_uniform, glorot_normal, he_uniform and he_normal.
//
// An Initializer maps (shape, dtype, batch_ndims, stream) to a tensor. Fans follow TFP: the shape
// is padded to 2 dims with trailing 1s, the first `batch_ndims` dims are dropped, the last two
// give (fan_in, fan_out) and every dim between them multiplies both (receptive field). So the
// flat conv-transpose kernel [prod(filter)*c_in, c_out] has fan_in = prod(filter)*c_in and
// fan_out = c_out, and a bias [c] has fan_in = c, fan_out = 1.
//
// Randomness: a factory called with a seed draws from RandomStream(seed, "<initializer>") and
// ignores the stream it is handed (so it gives the same tensor wherever it is used, like TF's
// seeded initializers); without a seed it draws from the stream the layer hands it, which
// comes from the layer's SeedStream(seed, name), so the layer's seed fixes its initial values.
//
// The *_normal ones are truncated normals, as in TF/TFP: stddev sqrt(var)/0.87962566103423978
// (the stddev of a unit normal truncated to [-2, 2]), values outside ±2 stddev redrawn (up to 63 rounds;
// any still outside are clamped to ±2 stddev). The
// redraws use per-element sub-streams, so results do not depend on thread count.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>

#include <tapir/core/random.hpp>
#include <tapir/core/tensor.hpp>

namespace tapir::nn {

using Initializer =
    std::function<Tensor(const Shape& shape, DType dtype, std::size_t batch_ndims, const RandomStream& stream)>;

namespace initializers {

struct Fans {
  double fan_in = 1, fan_out = 1;
};
/// TFP's fan computation (see the top of this file).
Fans compute_fans(const Shape& shape, std::size_t batch_ndims = 0);

/// U(±sqrt(6/(fan_in+fan_out))) — tfn's default kernel initializer.
Initializer glorot_uniform(std::optional<std::uint64_t> seed = std::nullopt);
/// Truncated normal, stddev sqrt(2/(fan_in+fan_out))/0.8796..., cut at ±2 stddev.
Initializer glorot_normal(std::optional<std::uint64_t> seed = std::nullopt);
/// U(±sqrt(6/fan_in)).
Initializer he_uniform(std::optional<std::uint64_t> seed = std::nullopt);
/// Truncated normal, stddev sqrt(2/fan_in)/0.8796..., cut at ±2 stddev.
Initializer he_normal(std::optional<std::uint64_t> seed = std::nullopt);
/// All zeros (tf.initializers.zeros; the default bias initializer).
Initializer zeros();
/// All `value`.
Initializer constant(double value);

}  // namespace initializers
}  // namespace tapir::nn
