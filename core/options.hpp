// How every options type in tapir is declared (docs/conventions.md): chained setters named after
// the option, a getter of the same name, private storage `name_` whose default follows the macro.
//
//   struct ConvOptions {
//     TAPIR_ARG(IntOrList, strides) = 1;        // ConvOptions().strides(2) ... options.strides()
//    public:
//   };
//
// TAPIR_ARG and TAPIR_OPTIONAL_ARG leave the class in `private:`; write `public:` again after
// them. TAPIR_OPTIONAL_ARG(T, name) stores a std::optional<T> (unset = the documented default
// behaviour); its setter takes a T, its getter returns the optional.
//
// Option groups shared by several options types (the layers' kernel/bias arguments) are split in
// two: a plain base declares getter + storage with TAPIR_GETTER / TAPIR_OPTIONAL_GETTER, and a
// CRTP template `template <class D> struct ...Setters : Base { using Self = D; ... }` declares
// the setters with TAPIR_SETTER(Base, T, name), so that every setter returns the most-derived
// options type and calls chain across groups.
#pragma once
#include <optional>

#define TAPIR_ARG(T, name)                                    \
 public:                                                      \
  auto name(const T& new_##name)->decltype(*this) {           \
    this->name##_ = new_##name;                               \
    return *this;                                             \
  }                                                           \
  const T& name() const noexcept { return this->name##_; }    \
                                                              \
 private:                                                     \
  T name##_

#define TAPIR_OPTIONAL_ARG(T, name)                                          \
 public:                                                                     \
  auto name(const T& new_##name)->decltype(*this) {                          \
    this->name##_ = new_##name;                                              \
    return *this;                                                            \
  }                                                                          \
  const std::optional<T>& name() const noexcept { return this->name##_; }    \
                                                                             \
 private:                                                                    \
  std::optional<T> name##_

#define TAPIR_GETTER(T, name)                               \
 public:                                                    \
  const T& name() const noexcept { return this->name##_; }  \
                                                            \
 protected:                                                 \
  T name##_

#define TAPIR_OPTIONAL_GETTER(T, name)                                       \
 public:                                                                     \
  const std::optional<T>& name() const noexcept { return this->name##_; }    \
                                                                             \
 protected:                                                                  \
  std::optional<T> name##_

#define TAPIR_SETTER(Base, T, name)              \
  using Base::name;                              \
  Self& name(const T& new_##name) {              \
    this->name##_ = new_##name;                  \
    return static_cast<Self&>(*this);            \
  }
