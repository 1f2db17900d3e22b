// The two ways to give a discrete distribution its probabilities, as TFP's keyword arguments
// `logits=` and `probs=` read in C++: tfd::Categorical(tfd::Probs{p}), tfd::Bernoulli(tfd::Logits{l}).
#pragma once
#include <tapir/distributions/distribution.hpp>

namespace tapir::distributions {

/// Unnormalised log-probabilities (Categorical) or log-odds (Bernoulli).
struct Logits {
  DeferredVar value;
};

/// Probabilities: in [0, 1], summing to 1 over the last axis for a Categorical.
struct Probs {
  DeferredVar value;
};

}  // namespace tapir::distributions
