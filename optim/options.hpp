// How optimizer options are declared: libtorch's pattern of chained setters with documented
// defaults, e.g. `opt::AdamOptions().learning_rate(1e-3).betas(0.9, 0.999)`.
#pragma once

#include <tapir/core/options.hpp>  // TAPIR_ARG: how every options type is declared

namespace tapir::optim {

/// What step() does when a loss or gradient holds NaN or ±inf.
enum class NonFinite {
  raise,  ///< throw tapir::ValueError naming the parameter (the default)
  skip,   ///< apply nothing this step and count it in Optimizer::skipped_steps()
};

}  // namespace tapir::optim
