#include <tapir/layers/util.hpp>

#include <cmath>
#include <type_traits>

#include <tapir/core/tensor_ops.hpp>

#include <tapir/core/ops.hpp>
#include <tapir/distributions/categorical.hpp>
#include <tapir/distributions/independent.hpp>
#include <tapir/distributions/mixture_same_family.hpp>
#include <tapir/distributions/normal.hpp>
#include <tapir/distributions/scale_mixture.hpp>
#include <tapir/distributions/sample.hpp>

namespace tapir::nn::util {

namespace tfd = tapir::distributions;

namespace {
const Initializer& or_default(const Initializer& given, const Initializer& fallback) {
  return given ? given : fallback;
}
}  // namespace

TrackedDistribution make_kernel_bias_posterior_mvn_diag(
    const Shape& kernel_shape, const Shape& bias_shape, const Initializer& kernel_initializer,
    const Initializer& bias_initializer, std::size_t kernel_batch_ndims, std::size_t bias_batch_ndims, DType dtype,
    const std::string& kernel_name, const std::string& bias_name, const RandomStream& init_stream) {
  static const Initializer default_kernel = initializers::glorot_uniform();
  static const Initializer default_bias = initializers::zeros();
  const double rho0 = std::log(std::expm1(kInitialScale - kScaleShift));
  // TFP builds the bias loc with kernel_batch_ndims (a quirk that only matters for batched
  // kernels); tapir uses bias_batch_ndims, which is what the argument says.
  Var kloc = parameter(or_default(kernel_initializer, default_kernel)(kernel_shape, dtype, kernel_batch_ndims,
                                                                        init_stream.fold_in("kernel")),
                       kernel_name + "_loc");
  Var krho = parameter(Tensor::full(kernel_shape, dtype, rho0), kernel_name + "_rho");
  Var bloc = parameter(or_default(bias_initializer, default_bias)(bias_shape, dtype, bias_batch_ndims,
                                                                    init_stream.fold_in("bias")),
                       bias_name + "_loc");
  Var brho = parameter(Tensor::full(bias_shape, dtype, rho0), bias_name + "_rho");
  for (const auto& [v, shape, what] : {std::tuple<const Var&, const Shape&, const char*>{kloc, kernel_shape, "kernel"},
                                       {bloc, bias_shape, "bias"}})
    if (v.shape() != shape || v.dtype() != dtype)
      throw ShapeError(std::string("make_kernel_bias_posterior_mvn_diag: the ") + what + " initializer returned " +
                       shape_str(v.shape()) + " " + dtype_name(v.dtype()) + ", expected " + shape_str(shape) + " " +
                       dtype_name(dtype));
  auto normal = [](const Var& loc, const Var& rho, const std::string& name) -> tfd::DistributionPtr {
    auto n = std::make_shared<tfd::Normal>(tfd::DeferredVar(loc),
                                           tfd::DeferredVar([rho] { return softplus(rho) + kScaleShift; }), false, name);
    return std::make_shared<tfd::Independent>(n, loc.ndim(), false, name);
  };
  auto q = std::make_shared<JointDistribution>(
      std::vector<tfd::DistributionPtr>{normal(kloc, krho, kernel_name), normal(bloc, brho, bias_name)},
      "posterior");
  return TrackedDistribution(q, {kloc, krho, bloc, brho});
}

TrackedDistribution make_kernel_bias_prior_spike_and_slab(
    const Shape& kernel_shape, const Shape& bias_shape, const Initializer&, const Initializer&, std::size_t,
    std::size_t, DType dtype, const std::string& kernel_name, const std::string& bias_name, const RandomStream&) {
  auto w = std::make_shared<tfd::ScaleMixtureOfTwoNormals>(dtype, 0.5, 1.0, 2000.0, "spike_and_slab");
  return TrackedDistribution(std::make_shared<JointDistribution>(
      std::vector<tfd::DistributionPtr>{std::make_shared<tfd::Sample>(w, kernel_shape, false, kernel_name),
                                        std::make_shared<tfd::Sample>(w, bias_shape, false, bias_name)},
      "prior"));
}

TrackedDistribution make_kernel_bias_prior_normal(
    const Shape& kernel_shape, const Shape& bias_shape, const Initializer&, const Initializer&, std::size_t,
    std::size_t, DType dtype, const std::string& kernel_name, const std::string& bias_name, const RandomStream&) {
  auto normal = [dtype](const Shape& s, const std::string& name) -> tfd::DistributionPtr {
    auto n = std::make_shared<tfd::Normal>(tfd::DeferredVar(constant(Tensor::zeros(s, dtype))),
                                           tfd::DeferredVar(constant(Tensor::ones(s, dtype))), false, name);
    return std::make_shared<tfd::Independent>(n, s.size(), false, name);
  };
  return TrackedDistribution(std::make_shared<JointDistribution>(
      std::vector<tfd::DistributionPtr>{normal(kernel_shape, kernel_name), normal(bias_shape, bias_name)}, "prior"));
}

std::pair<Var, Var> make_kernel_bias(const Shape& kernel_shape, const Shape& bias_shape,
                                     const Initializer& kernel_initializer, const Initializer& bias_initializer,
                                     std::size_t kernel_batch_ndims, std::size_t bias_batch_ndims, DType dtype,
                                     const std::string& kernel_name, const std::string& bias_name,
                                     const RandomStream& init_stream) {
  static const Initializer default_kernel = initializers::glorot_uniform();
  static const Initializer default_bias = initializers::zeros();
  Var k = parameter(or_default(kernel_initializer, default_kernel)(kernel_shape, dtype, kernel_batch_ndims,
                                                                     init_stream.fold_in("kernel")),
                    kernel_name);
  Var b = parameter(or_default(bias_initializer, default_bias)(bias_shape, dtype, bias_batch_ndims,
                                                                 init_stream.fold_in("bias")),
                    bias_name);
  if (k.shape() != kernel_shape || b.shape() != bias_shape)
    throw ShapeError("make_kernel_bias: initializers returned " + shape_str(k.shape()) + " and " + shape_str(b.shape()) +
                     ", expected " + shape_str(kernel_shape) + " and " + shape_str(bias_shape));
  return {k, b};
}

std::pair<Var, Var> unpack_kernel_and_bias(const std::vector<Var>& weights) {
  if (weights.size() == 2) return {weights[0], weights[1]};
  if (weights.size() == 1) return {weights[0], Var()};
  throw ValueError("unpack_kernel_and_bias: expected [kernel, bias] or [kernel], got " + std::to_string(weights.size()) +
                   " tensors");
}

std::vector<Var> sample_posterior(const JointDistribution& posterior, const RandomStream& stream) {
  return posterior.sample({}, stream);
}

Var flatten_rightmost(const Var& x, std::size_t ndims) {
  if (ndims == 0 || ndims > x.ndim())
    throw ShapeError("flatten_rightmost: ndims=" + std::to_string(ndims) + " but the input " + shape_str(x.shape()) +
                     " has " + std::to_string(x.ndim()) + " dims");
  Shape s(x.shape().begin(), x.shape().end() - static_cast<long>(ndims));
  std::size_t n = 1;
  for (std::size_t i = x.ndim() - ndims; i < x.ndim(); ++i) n *= x.shape()[i];
  s.push_back(n);
  return reshape(x, s);
}

std::function<Var(const Var&)> flatten_rightmost_fn(std::size_t ndims) {
  return [ndims](const Var& x) { return flatten_rightmost(x, ndims); };
}

namespace {

// ρ with softplus(ρ) + kScaleShift = σ, elementwise.
Tensor rho_for_scale(const Tensor& sigma, const char* who) {
  Tensor rho = Tensor::empty(sigma.shape(), sigma.dtype());
  for (std::size_t i = 0; i < sigma.size(); ++i) {
    const double s = sigma.at(i) - kScaleShift;
    if (!(s > 0) || !std::isfinite(s))
      throw ValueError(std::string(who) + ": a starting scale must be finite and > " + std::to_string(kScaleShift) +
                       ", got " + std::to_string(sigma.at(i)) + " at element " + std::to_string(i));
    // softplus⁻¹(s) = log(expm1(s)), written as s + log(-expm1(-s)) for large s
    const double r = s > 20 ? s + std::log(-std::expm1(-s)) : std::log(std::expm1(s));
    if (sigma.dtype() == DType::float32) rho.data<float>()[i] = static_cast<float>(r);
    else rho.data<double>()[i] = r;
  }
  return rho;
}

Tensor given_or(const std::optional<Tensor>& given, const Shape& shape, DType dtype, const char* what, const char* who) {
  if (!given) return Tensor();
  if (given->shape() != shape)
    throw ShapeError(std::string(who) + ": " + what + " has shape " + shape_str(given->shape()) + ", the layer needs " +
                     shape_str(shape));
  return given->astype(dtype);
}

tfd::DistributionPtr independent_normal(const Var& loc, std::function<Var()> scale, std::size_t ndims,
                                        const std::string& name) {
  auto n = std::make_shared<tfd::Normal>(tfd::DeferredVar(loc), tfd::DeferredVar(std::move(scale)), false, name);
  return std::make_shared<tfd::Independent>(n, ndims, false, name);
}

}  // namespace

MakeDistributionFn posterior_mvn_diag_fn(const PosteriorOptions& options) {
  rho_for_scale(Tensor::scalar(options.initial_scale(), DType::float64), "posterior_mvn_diag_fn");  // fail now
  return [options](const Shape& kernel_shape, const Shape& bias_shape, const Initializer& kernel_initializer,
                   const Initializer& bias_initializer, std::size_t kernel_batch_ndims, std::size_t bias_batch_ndims,
                   DType dtype, const std::string& kernel_name, const std::string& bias_name,
                   const RandomStream& init_stream) {
    const char* who = "posterior_mvn_diag_fn";
    TrackedDistribution base = make_kernel_bias_posterior_mvn_diag(
        kernel_shape, bias_shape, kernel_initializer, bias_initializer, kernel_batch_ndims, bias_batch_ndims, dtype,
        kernel_name, bias_name, init_stream);
    // variables: kernel_loc, kernel_rho, bias_loc, bias_rho — set their starting values
    const Tensor locs[2] = {given_or(options.kernel_loc(), kernel_shape, dtype, "kernel_loc", who),
                            given_or(options.bias_loc(), bias_shape, dtype, "bias_loc", who)};
    const Tensor scales[2] = {given_or(options.kernel_scale(), kernel_shape, dtype, "kernel_scale", who),
                              given_or(options.bias_scale(), bias_shape, dtype, "bias_scale", who)};
    for (std::size_t part = 0; part < 2; ++part) {
      Var loc = base.variables[2 * part], rho = base.variables[2 * part + 1];
      if (locs[part].defined()) loc.set_value(locs[part]);
      rho.set_value(rho_for_scale(scales[part].defined() ? scales[part]
                                                         : Tensor::full(rho.shape(), dtype, options.initial_scale()),
                                  who));
    }
    return base;
  };
}

MakeDistributionFn prior_normal_fn(const NormalPriorOptions& options) {
  if (!(options.scale() > kScaleShift) || !std::isfinite(options.scale()))
    throw ValueError("prior_normal_fn: scale must be finite and > " + std::to_string(kScaleShift) + ", got " +
                     std::to_string(options.scale()));
  return [options](const Shape& kernel_shape, const Shape& bias_shape, const Initializer&, const Initializer&,
                   std::size_t, std::size_t, DType dtype, const std::string& kernel_name,
                   const std::string& bias_name, const RandomStream&) {
    const char* who = "prior_normal_fn";
    std::vector<Var> variables;
    auto part = [&](const Shape& shape, const std::optional<Tensor>& given_loc, const char* what,
                    const std::string& name) {
      const Tensor l = given_or(given_loc, shape, dtype, what, who);
      const Var loc = constant(l.defined() ? l : Tensor::zeros(shape, dtype), name + "_loc");
      std::function<Var()> scale;
      if (options.trainable()) {
        Var rho = parameter(rho_for_scale(Tensor::scalar(options.scale(), dtype), who), name + "_rho");
        variables.push_back(rho);
        scale = [rho] { return softplus(rho) + kScaleShift; };
      } else {
        const Var s = constant(Tensor::full(shape, dtype, options.scale()));
        scale = [s] { return s; };
      }
      return independent_normal(loc, scale, shape.size(), name);
    };
    auto kernel = part(kernel_shape, options.kernel_loc(), "kernel_loc", kernel_name);
    auto bias = part(bias_shape, options.bias_loc(), "bias_loc", bias_name);
    return TrackedDistribution(std::make_shared<JointDistribution>(std::vector<tfd::DistributionPtr>{kernel, bias}, "prior"),
                               variables);
  };
}

}  // namespace tapir::nn::util
