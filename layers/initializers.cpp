#include <tapir/layers/initializers.hpp>

#include <cmath>


namespace tapir::nn::initializers {

Fans compute_fans(const Shape& shape_in, std::size_t batch_ndims) {
  Shape shape = shape_in;
  while (shape.size() < 2) shape.push_back(1);
  if (batch_ndims > shape.size() - 2) batch_ndims = shape.size() - 2;
  shape.erase(shape.begin(), shape.begin() + static_cast<long>(batch_ndims));
  double rf = 1;
  for (std::size_t i = 0; i + 2 < shape.size(); ++i) rf *= static_cast<double>(shape[i]);
  return {static_cast<double>(shape[shape.size() - 2]) * rf, static_cast<double>(shape.back()) * rf};
}

namespace {

enum class Mode { fan_in, fan_avg };

double variance(const Shape& shape, std::size_t batch_ndims, double scale, Mode mode) {
  const Fans f = compute_fans(shape, batch_ndims);
  const double fans = mode == Mode::fan_in ? f.fan_in : 0.5 * (f.fan_in + f.fan_out);
  return scale / std::max(1.0, fans);
}

RandomStream pick(const std::optional<std::uint64_t>& seed, const char* salt, const RandomStream& given) {
  return seed ? RandomStream(*seed, salt) : given;
}

Initializer uniform_init(std::optional<std::uint64_t> seed, double scale, Mode mode, const char* salt) {
  return [=](const Shape& shape, DType dtype, std::size_t batch_ndims, const RandomStream& stream) {
    const double limit = std::sqrt(3.0 * variance(shape, batch_ndims, scale, mode));
    return random::uniform(shape, dtype, pick(seed, salt, stream), -limit, limit);
  };
}

Initializer truncated_normal_init(std::optional<std::uint64_t> seed, double scale, Mode mode, const char* salt) {
  return [=](const Shape& shape, DType dtype, std::size_t batch_ndims, const RandomStream& stream) {
    const double stddev = std::sqrt(variance(shape, batch_ndims, scale, mode)) / 0.87962566103423978;
    const RandomStream s = pick(seed, salt, stream);
    // Draw in float64, redraw elements outside ±2: redraw round r of element i uses the stream
    // fold_in(r), element i of it, so the result is a pure function of (stream, i).
    Tensor z = random::normal(shape, DType::float64, s);
    double* p = z.data<double>();
    for (std::uint64_t round = 1; round < 64; ++round) {
      bool any = false;
      for (std::size_t i = 0; i < z.size() && !any; ++i) any = std::fabs(p[i]) > 2.0;
      if (!any) break;
      const Tensor redraw = random::normal(shape, DType::float64, s.fold_in(round));
      const double* q = redraw.data<double>();
      for (std::size_t i = 0; i < z.size(); ++i)
        if (std::fabs(p[i]) > 2.0) p[i] = q[i];
    }
    for (std::size_t i = 0; i < z.size(); ++i) p[i] = std::max(-2.0, std::min(2.0, p[i])) * stddev;
    return z.astype(dtype);
  };
}

}  // namespace

Initializer glorot_uniform(std::optional<std::uint64_t> seed) {
  return uniform_init(seed, 1.0, Mode::fan_avg, "glorot_uniform");
}
Initializer glorot_normal(std::optional<std::uint64_t> seed) {
  return truncated_normal_init(seed, 1.0, Mode::fan_avg, "glorot_normal");
}
Initializer he_uniform(std::optional<std::uint64_t> seed) { return uniform_init(seed, 2.0, Mode::fan_in, "he_uniform"); }
Initializer he_normal(std::optional<std::uint64_t> seed) {
  return truncated_normal_init(seed, 2.0, Mode::fan_in, "he_normal");
}
Initializer zeros() {
  return [](const Shape& shape, DType dtype, std::size_t, const RandomStream&) { return Tensor::zeros(shape, dtype); };
}
Initializer constant(double value) {
  return [value](const Shape& shape, DType dtype, std::size_t, const RandomStream&) {
    return Tensor::full(shape, dtype, value);
  };
}

}  // namespace tapir::nn::initializers
