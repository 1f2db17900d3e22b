// Pooling layers (Keras' MaxPooling{1,2,3}D, AveragePooling{1,2,3}D, GlobalAveragePooling{1,2,3}D
// as one class each with a rank): no variables; the ops of core/pooling.hpp.
//
//   auto pool = std::make_shared<tfn::MaxPooling>(2, tfn::PoolingOptions().strides(2).padding("SAME"));
#pragma once
#include <string>

#include <tapir/core/pooling.hpp>
#include <tapir/layers/layer.hpp>

namespace tapir::nn {

/// rank 2, strides = pool_size, padding "VALID" by default (Keras).
struct PoolingOptions {
  TAPIR_ARG(int, rank) = 2;
  TAPIR_OPTIONAL_ARG(IntOrList, strides);
  TAPIR_ARG(std::string, padding) = "VALID";
  TAPIR_ARG(std::string, name);

 public:
};

class MaxPooling : public Layer {
 public:
  explicit MaxPooling(IntOrList pool_size, const PoolingOptions& options = {});
  Var operator()(const Var& x) override;
  const IntOrList& pool_size() const { return pool_size_; }

 private:
  IntOrList pool_size_;
  PoolOptions options_;
};

class AveragePooling : public Layer {
 public:
  explicit AveragePooling(IntOrList pool_size, const PoolingOptions& options = {});
  Var operator()(const Var& x) override;
  const IntOrList& pool_size() const { return pool_size_; }

 private:
  IntOrList pool_size_;
  PoolOptions options_;
};

/// Mean over the `rank` spatial dims: B + spatial + [c] -> B + [c].
class GlobalAveragePooling : public Layer {
 public:
  explicit GlobalAveragePooling(int rank = 2, const std::string& name = "");
  Var operator()(const Var& x) override;

 private:
  int rank_;
};

}  // namespace tapir::nn
