// tfn::Sequential: threads an input through layers and plain callables, in order.
//   tfn::Sequential model(encoder, [](const Var& x) { return tapir::relu(x); }, decoder);
//   Var y = model(x);
// Elements are shared_ptr<Layer> (shared, not copied) or any callable Var(const Var&); an
// empty std::function is the identity (TFP's `None`). `slice(a, b)` (Python's seq[a:b], negative
// indices count from the end) returns a new Sequential sharing the same layers and the same name.
// `set_trace(true)` prints every element's output shape and dtype as the input flows through.
#pragma once
#include <climits>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <tapir/layers/layer.hpp>

namespace tapir::nn {

class Sequential : public Layer {
 public:
  /// One element: a layer or a callable.
  struct Element {
    std::shared_ptr<Layer> layer;
    std::function<Var(const Var&)> fn;
    std::string label;  ///< the layer's name, or "function" for a callable

    template <class L, std::enable_if_t<std::is_base_of<Layer, L>::value, int> = 0>
    Element(std::shared_ptr<L> l) : layer(std::move(l)) {  // NOLINT: implicit on purpose
      if (!layer) throw ValueError("Sequential: a layer element is a null pointer");
      label = layer->name();
    }
    template <class F, std::enable_if_t<!std::is_base_of<Layer, std::decay_t<F>>::value &&
                                            std::is_constructible<std::function<Var(const Var&)>, F>::value &&
                                            !std::is_same<std::decay_t<F>, Element>::value,
                                        int> = 0>
    Element(F&& f) : fn(std::forward<F>(f)), label(fn ? "function" : "identity") {}  // NOLINT
    Var operator()(const Var& x) const;
  };

  /// Options beyond the elements: the name (default: element names joined with "_").
  Sequential(std::vector<Element> elements, const std::string& name = "", bool validate_args = false);
  template <class... E, std::enable_if_t<(sizeof...(E) > 0) && (std::is_constructible<Element, E>::value && ...), int> = 0>
  explicit Sequential(E&&... elements) : Sequential(std::vector<Element>{Element(std::forward<E>(elements))...}) {}

  Var operator()(const Var& x) override;

  std::size_t size() const { return elements_.size(); }
  const std::vector<Element>& elements() const { return elements_; }
  /// The layer at `index` (negative counts from the end); null if that element is a callable.
  std::shared_ptr<Layer> layer(long index) const;
  /// seq[begin:end] (Python slice semantics, clamped); the result keeps this Sequential's name.
  std::shared_ptr<Sequential> slice(long begin, long end = LONG_MAX) const;

  /// Prints "<label>: shape dtype" per element to `os` (std::cout if null) on every call.
  void set_trace(bool on, std::ostream* os = nullptr) { trace_ = on; trace_stream_ = os; }
  bool trace() const { return trace_; }

 private:
  static std::string joined_name(const std::vector<Element>& elements);
  std::vector<Element> elements_;
  bool trace_ = false;
  std::ostream* trace_stream_ = nullptr;
};

}  // namespace tapir::nn
