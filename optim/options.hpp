// How optimizer options are declared: libtorch's pattern of chained setters with documented
// defaults, e.g. `opt::AdamOptions().learning_rate(1e-3).betas(0.9, 0.999)`.
#pragma once

/// Declares an option `name` of type `T`: a setter `name(value)` returning the options struct
/// (so calls chain), a getter `name()`, and the member `name_`, whose default follows the macro:
///   TAPIR_OPTIM_ARG(double, learning_rate) = 1e-3;
/// It leaves the class in `private:`; write `public:` again after it.
#define TAPIR_OPTIM_ARG(T, name)                                  \
 public:                                                          \
  auto name(const T& new_##name)->decltype(*this) {               \
    this->name##_ = new_##name;                                   \
    return *this;                                                 \
  }                                                               \
  const T& name() const noexcept { return this->name##_; }        \
                                                                  \
 private:                                                         \
  T name##_

namespace tapir::optim {

/// What step() does when a loss or gradient holds NaN or ±inf.
enum class NonFinite {
  raise,  ///< throw tapir::ValueError naming the parameter (the default)
  skip,   ///< apply nothing this step and count it in Optimizer::skipped_steps()
};

}  // namespace tapir::optim
