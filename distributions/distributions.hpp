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

#include "bernoulli.hpp"
#include "categorical.hpp"
#include "distribution.hpp"
#include "independent.hpp"
#include "joint.hpp"
#include "kl.hpp"
#include "logit_normal.hpp"
#include "logits_probs.hpp"
#include "mixture_same_family.hpp"
#include "normal.hpp"
#include "rademacher.hpp"
#include "sample.hpp"
#include "special.hpp"

namespace tfd = tapir::distributions;
