// Everyday layer ops composed from the differentiable primitives, so their gradients are the
// primitives' (checked by gradcheck like every op); only dropout's mask is drawn here.
#include <tapir/core/nn.hpp>

#include <string>

#include <tapir/core/ops.hpp>
#include <tapir/core/simd.hpp>

namespace tapir {

namespace {
void check_axis(const Var& x, int axis, const char* who) {
  if (!x.defined()) throw ValueError(std::string(who) + ": input is undefined");
  const int r = static_cast<int>(x.ndim());
  if (r == 0 || axis < -r || axis >= r)
    throw ValueError(std::string(who) + ": axis " + std::to_string(axis) + " is out of range for shape " +
                     shape_str(x.shape()));
}
}  // namespace

Var softmax(const Var& x, int axis) {
  check_axis(x, axis, "softmax");
  return exp(x - logsumexp(x, {axis}, /*keepdims=*/true));
}

Var log_softmax(const Var& x, int axis) {
  check_axis(x, axis, "log_softmax");
  return x - logsumexp(x, {axis}, /*keepdims=*/true);
}

Var dropout(const Var& x, double rate, const RandomStream& stream) {
  if (!(rate >= 0.0 && rate < 1.0))
    throw ValueError("dropout: rate must be in [0, 1), got " + std::to_string(rate));
  if (!x.defined()) throw ValueError("dropout: input is undefined");
  if (rate == 0.0) return x;
  // mask = [u >= rate] / (1 - rate), u ~ U[0, 1) from the stream: element i depends on i only
  Tensor mask = random::uniform(x.shape(), x.dtype(), stream);
  TAPIR_DISPATCH(mask.dtype(), T, {
    const T r = static_cast<T>(rate), keep = static_cast<T>(1.0 / (1.0 - rate));
    simd::map(mask.size(), mask.data<T>(), [=](auto u) {
      using B = decltype(u);
      return xsimd::select(u >= B(r), B(keep), B(T(0)));
    }, mask.data<T>());
  });
  return x * constant(mask);
}

Moments moments(const Var& x, const std::vector<int>& axes) {
  Var m = mean(x, axes, /*keepdims=*/true);
  return {m, mean(square(x - m), axes, /*keepdims=*/true)};
}

Var batch_normalization(const Var& x, const Var& mean, const Var& variance, const Var& offset, const Var& scale,
                        double epsilon) {
  if (!(epsilon > 0.0)) throw ValueError("batch_normalization: epsilon must be > 0, got " + std::to_string(epsilon));
  Var y = (x - mean) / sqrt(variance + epsilon);
  if (scale.defined()) y = y * scale;
  if (offset.defined()) y = y + offset;
  return y;
}

Var layer_norm(const Var& x, const std::vector<int>& axes, const Var& gamma, const Var& beta, double epsilon) {
  if (!x.defined()) throw ValueError("layer_norm: input is undefined");
  for (int a : axes) check_axis(x, a, "layer_norm");
  const Moments m = moments(x, axes);
  return batch_normalization(x, m.mean, m.variance, beta, gamma, epsilon);
}

}  // namespace tapir
