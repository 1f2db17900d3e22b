#include <tapir/layers/dnn_to_bnn.hpp>

#include <algorithm>
#include <cmath>

#include <tapir/core/tensor_ops.hpp>
#include <tapir/layers/deterministic.hpp>
#include <tapir/layers/flipout.hpp>
#include <tapir/layers/reparameterization.hpp>

namespace tapir::nn {

namespace {

std::vector<int> ints(const std::vector<std::size_t>& v) { return std::vector<int>(v.begin(), v.end()); }

// The posterior and prior factories of one converted layer.
template <class O>
O& with_distributions(O& o, const KernelBiasLayer& det, const DnnToBnnOptions& opt) {
  if (opt.moped_enable()) {
    // MOPED: posterior N(w, δ|w|) (σ floored), prior N(w, prior_sigma)
    auto scale_of = [&](const Tensor& w) {
      Tensor s = Tensor::empty(w.shape(), w.dtype());
      for (std::size_t i = 0; i < s.size(); ++i) {
        const double v = std::max(opt.min_scale(), opt.moped_delta() * std::fabs(w.at(i)));
        if (s.dtype() == DType::float32) s.data<float>()[i] = static_cast<float>(v);
        else s.data<double>()[i] = v;
      }
      return s;
    };
    util::PosteriorOptions q = util::PosteriorOptions().kernel_loc(det.kernel().value()).kernel_scale(scale_of(det.kernel().value()));
    util::NormalPriorOptions p = util::NormalPriorOptions().scale(opt.prior_sigma()).kernel_loc(det.kernel().value());
    if (det.bias().defined()) {
      q.bias_loc(det.bias().value()).bias_scale(scale_of(det.bias().value()));
      p.bias_loc(det.bias().value());
    }
    o.make_posterior_fn(util::posterior_mvn_diag_fn(q));
    if (!opt.default_prior()) o.make_prior_fn(util::prior_normal_fn(p));
    return o;
  }
  const double s0 = std::log1p(std::exp(opt.posterior_rho_init())) + util::kScaleShift;
  o.make_posterior_fn(util::posterior_mvn_diag_fn(util::PosteriorOptions().initial_scale(s0)));
  if (!opt.default_prior()) {
    util::NormalPriorOptions p = util::NormalPriorOptions().scale(opt.prior_sigma());
    if (opt.prior_mu() != 0.0) {
      p.kernel_loc(Tensor::full(det.kernel().shape(), det.dtype(), opt.prior_mu()));
      if (det.bias().defined()) p.bias_loc(Tensor::full(det.bias().shape(), det.dtype(), opt.prior_mu()));
    }
    o.make_prior_fn(util::prior_normal_fn(p));
  }
  return o;
}

// What every converted layer keeps from its deterministic original.
template <class O>
O common(const KernelBiasLayer& det, const DnnToBnnOptions& opt) {
  O o;
  o.name(det.name()).dtype(det.dtype()).activation_fn(det.activation_fn()).use_bias(det.bias().defined())
      .validate_args(det.validate_args());
  if (opt.seed()) o.seed(*opt.seed());
  return with_distributions(o, det, opt);
}

template <class O>
O& conv_geometry(O& o, const KernelApplier& a) {
  const ConvSpec& spec = a.conv_spec();
  o.rank(static_cast<int>(spec.rank())).strides(ints(spec.stride)).dilations(ints(spec.dilation))
      .padding(spec.same ? "SAME" : "VALID");
  return o;
}

template <class E>
std::shared_ptr<Layer> convert(const KernelBiasLayer& det, const DnnToBnnOptions& opt) {
  const KernelApplier& a = det.applier();
  switch (a.op()) {
    case KernelOp::affine:
      if (a.kernel_batch_ndims() > 0)
        throw ValueError("dnn_to_bnn: " + det.class_name() + " '" + det.name() +
                         "' has a kernel batch_shape, which the variational layers do not support");
      return std::make_shared<AffineLayer<E>>(a.input_size(), a.output_size(), common<AffineOptions>(det, opt));
    case KernelOp::convolution: {
      ConvolutionOptions o = common<ConvolutionOptions>(det, opt);
      conv_geometry(o, a);
      const IntOrList filter(ints(a.filter_shape()));
      if (dynamic_cast<const ConvolutionV2*>(&det))
        return std::make_shared<ConvolutionV2Layer<E>>(a.input_size(), a.output_size(), filter, o);
      return std::make_shared<ConvolutionLayer<E>>(a.input_size(), a.output_size(), filter, o);
    }
    case KernelOp::conv_transpose: {
      ConvolutionTransposeOptions o = common<ConvolutionTransposeOptions>(det, opt);
      conv_geometry(o, a);
      if (a.conv_spec().output_padding) o.output_padding(ints(*a.conv_spec().output_padding));
      return std::make_shared<ConvolutionTransposeLayer<E>>(a.input_size(), a.output_size(),
                                                            IntOrList(ints(a.filter_shape())), o);
    }
  }
  return nullptr;
}

std::shared_ptr<Layer> convert_any(const std::shared_ptr<Layer>& layer, const DnnToBnnOptions& opt) {
  if (const auto* det = dynamic_cast<const KernelBiasLayer*>(layer.get())) {
    if (!det->kernel().defined())
      throw ValueError("dnn_to_bnn: " + det->class_name() + " '" + det->name() + "' has no kernel to convert");
    return opt.estimator() == Estimator::flipout ? convert<Flipout>(*det, opt) : convert<Reparameterization>(*det, opt);
  }
  if (const auto* seq = dynamic_cast<const Sequential*>(layer.get())) {
    std::vector<Sequential::Element> elements;
    for (const auto& e : seq->elements()) {
      if (e.layer) elements.emplace_back(convert_any(e.layer, opt));
      else elements.emplace_back(e.fn);
    }
    return std::make_shared<Sequential>(std::move(elements), seq->name() + "_bnn", seq->validate_args());
  }
  return layer;  // any other layer (pooling, normalisation, dropout, a user's layer) is kept
}

}  // namespace

std::shared_ptr<Layer> dnn_to_bnn(const std::shared_ptr<Layer>& model, const DnnToBnnOptions& options) {
  if (!model) throw ValueError("dnn_to_bnn: model is a null pointer");
  if (!(options.moped_delta() > 0)) throw ValueError("dnn_to_bnn: moped_delta must be > 0, got " + std::to_string(options.moped_delta()));
  if (!(options.min_scale() > util::kScaleShift))
    throw ValueError("dnn_to_bnn: min_scale must be > " + std::to_string(util::kScaleShift) + ", got " +
                     std::to_string(options.min_scale()));
  if (!(options.prior_sigma() > 0)) throw ValueError("dnn_to_bnn: prior_sigma must be > 0, got " + std::to_string(options.prior_sigma()));
  std::shared_ptr<Layer> twin = convert_any(model, options);
  twin->train(model->training());
  return twin;
}

}  // namespace tapir::nn
