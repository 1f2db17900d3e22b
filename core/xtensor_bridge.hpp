// Conversions between tapir Tensors/Vars and xtensor containers (one memcpy each way).
#pragma once
#include <cstring>
#include <string>

#include <xtensor/xarray.hpp>

#include <tapir/core/var.hpp>

namespace tapir {

/// Copies any xtensor expression of float or double into a new row-major Tensor.
template <class E> Tensor from_xarray(const xt::xexpression<E>& expr) {
  using T = typename E::value_type;
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                "tapir tensors hold float or double");
  const xt::xarray<T, xt::layout_type::row_major> a = expr.derived_cast();
  Shape shape(a.shape().begin(), a.shape().end());
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  if (a.size()) std::memcpy(t.raw_data(), a.data(), a.size() * sizeof(T));
  return t;
}

/// Copies a Tensor into an xt::xarray<T> (T must be the tensor's dtype).
template <class T> xt::xarray<T> to_xarray(const Tensor& t) {
  std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
  xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
  if (t.size()) std::memcpy(a.data(), t.data<T>(), t.size() * sizeof(T));
  return a;
}
template <class T> xt::xarray<T> to_xarray(const Var& v) { return to_xarray<T>(v.value()); }

template <class E> Var constant(const xt::xexpression<E>& expr, std::string name = "") {
  return constant(from_xarray(expr), std::move(name));
}
template <class E> Var parameter(const xt::xexpression<E>& expr, std::string name = "") {
  return parameter(from_xarray(expr), std::move(name));
}

}  // namespace tapir
