// tapir::distributions (alias tfd), mirroring tfp.distributions: probability distributions whose
// parameters are tapir Vars, so log_prob, moments, KL terms and reparameterized samples are all
// differentiable through the tape.
//
//   namespace tfd = tapir::distributions;
//   auto q = std::make_shared<tfd::Normal>(loc, [rho] { return tapir::softplus(rho) + 1e-5; });
//   auto w = std::make_shared<tfd::MixtureSameFamily>(
//       std::make_shared<tfd::Categorical>(tfd::Probs{probs}), std::make_shared<tfd::Normal>(zero, scales));
//   tapir::SeedStream seeds(42, "example");
//   tapir::Var theta = q->sample({}, seeds.next());
//   tapir::Var kl = tfd::kl_divergence_monte_carlo(*q, *w, theta);
//
// Downcast with std::dynamic_pointer_cast<tfd::Normal>(ptr); peel_independent() unwraps
// Independent layers.
#pragma once

#include <tapir/distributions/bernoulli.hpp>
#include <tapir/distributions/categorical.hpp>
#include <tapir/distributions/distribution.hpp>
#include <tapir/distributions/independent.hpp>
#include <tapir/distributions/joint.hpp>
#include <tapir/distributions/kl.hpp>
#include <tapir/distributions/logit_normal.hpp>
#include <tapir/distributions/logits_probs.hpp>
#include <tapir/distributions/mixture_same_family.hpp>
#include <tapir/distributions/normal.hpp>
#include <tapir/distributions/rademacher.hpp>
#include <tapir/distributions/sample.hpp>
#include <tapir/distributions/scale_mixture.hpp>
#include <tapir/distributions/special.hpp>

namespace tfd = tapir::distributions;
