// Special functions the distributions need, as differentiable ops.
#pragma once
#include <tapir/core/var.hpp>

namespace tapir::distributions::special {

/// The standard normal cdf Φ(z) = erfc(-z/√2)/2 (accurate in the lower tail, unlike 1 + erf).
/// d/dz = φ(z).
Var ndtr(const Var& z);

/// log Φ(z), finite and accurate for every finite z: log1p(-Φ(-z)) in the upper half, log Φ
/// through erfc down to z = -20, and the asymptotic series below that (Φ underflows at about
/// z = -38 in float64). d/dz = exp(log φ(z) - log Φ(z)).
Var log_ndtr(const Var& z);

}  // namespace tapir::distributions::special
