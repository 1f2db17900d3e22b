// The seed page's Bayesian autoencoder (see docs/semantics/variational_layers.md, "Reference
// model"), shared by the example program and tapir-bench's training-step case, so the benchmark
// times exactly the model the example trains:
//
//   Conv-Flipout(1→32, k5, s2, SAME) → flatten → Affine-Reparam(6272→2)   [2-D bottleneck]
//   → reshape [1,1,2] → ConvT-Flipout(2→64, k7, VALID) → ConvT-Flipout(64→32, k4, s4, SAME)
//   → Conv-Flipout(32→1, k2, SAME) = loc;   p(x | w) = Independent(LogitNormal(loc, σ), 3)
#pragma once
#include <cmath>
#include <memory>

#include <tapir/tapir.hpp>

namespace examples {

using tapir::Var;

struct Model {
  std::shared_ptr<tfn::Sequential> encoder, decoder;
  std::shared_ptr<tfn::Sequential> all;
  Var rho_scale;  // the likelihood's scale: softplus(rho) + 1e-5, initialised to 1
};

// leaky_relu with the default slope 0.2, as an activation the Flipout convolutions apply inside
// their fused op (a lambda calling tapir::leaky_relu gives the same numbers as a separate op)
inline const tfn::LeakyRelu leaky{};

inline Model build_model(std::uint64_t seed, tfn::SignMode sign_mode) {
  auto init = tfn::initializers::he_uniform();  // relu family, as the seed page says
  auto conv = [&](std::size_t in, std::size_t out, int k, int stride, const char* name, bool act) {
    auto o = tfn::ConvolutionOptions().rank(2).padding("SAME").strides(stride).kernel_initializer(init)
                 .seed(seed).name(name).sign_mode(sign_mode);
    if (act) o.activation_fn(leaky);
    return std::make_shared<tfn::ConvolutionVariationalFlipout>(in, out, k, o);
  };
  auto deconv = [&](std::size_t in, std::size_t out, int k, int stride, const char* padding, const char* name) {
    return std::make_shared<tfn::ConvolutionTransposeVariationalFlipout>(
        in, out, k,
        tfn::ConvolutionTransposeOptions().rank(2).padding(padding).strides(stride).kernel_initializer(init)
            .activation_fn(leaky).seed(seed).name(name).sign_mode(sign_mode));
  };
  Model m;
  auto bottleneck = std::make_shared<tfn::AffineVariationalReparameterization>(
      6272, 2, tfn::AffineOptions().kernel_initializer(init).seed(seed).name("bottleneck"));
  m.encoder = std::make_shared<tfn::Sequential>(
      std::vector<tfn::Sequential::Element>{conv(1, 32, 5, 2, "encoder_conv", true), tfn::util::flatten_rightmost_fn(3), bottleneck},
      "encoder");
  m.decoder = std::make_shared<tfn::Sequential>(
      std::vector<tfn::Sequential::Element>{
          [](const Var& z) { return tapir::reshape(z, {z.shape()[0], 1, 1, 2}); },
          deconv(2, 64, 7, 1, "VALID", "decoder_deconv1"), deconv(64, 32, 4, 4, "SAME", "decoder_deconv2"),
          conv(32, 1, 2, 1, "decoder_conv", false)},
      "decoder");
  m.all = std::make_shared<tfn::Sequential>(std::vector<tfn::Sequential::Element>{m.encoder, m.decoder}, "autoencoder");
  // softplus(rho) + 1e-5 = 1 at the start
  m.rho_scale = tapir::parameter(tapir::Tensor::scalar(std::log(std::expm1(1.0 - 1e-5)), tapir::DType::float32), "likelihood_rho");
  return m;
}

// Pixels in [0,1] → [0.001, 0.999], where the logit-normal density is finite.
inline tapir::Tensor squash(const tapir::Tensor& images) {
  return tapir::tensor_ops::add(tapir::tensor_ops::scale(images, 0.998), tapir::Tensor::scalar(0.001, images.dtype()));
}

// −log p(x | loc) per example, summed over the 28×28×1 event.
inline Var negative_log_likelihood(const Var& loc, const Var& rho, const Var& x) {
  Var scale = tapir::softplus(rho) + 1e-5;
  tapir::distributions::Independent lik(std::make_shared<tapir::distributions::LogitNormal>(loc, scale), 3);
  return -lik.log_prob(x);
}

}  // namespace examples
