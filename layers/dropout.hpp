// Dropout (Keras): in training mode each element is kept with probability 1 - rate and scaled
// by 1 / (1 - rate) (inverted dropout, so inference needs no rescaling); in inference mode
// (Layer::eval()) it is the identity. The masks come from the layer's SeedStream(seed, name),
// one draw per training call, so a seeded model drops the same elements at any thread count,
// and checkpoints resume the sequence (random_stream()).
//
// Flatten (Keras): [N, d1, d2, ...] -> [N, d1 * d2 * ...].
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <tapir/core/options.hpp>
#include <tapir/layers/layer.hpp>

namespace tapir::nn {

struct DropoutOptions {
  TAPIR_OPTIONAL_ARG(std::uint64_t, seed);  ///< unset: fresh entropy
  TAPIR_ARG(std::string, name);

 public:
};

class Dropout : public Layer {
 public:
  /// ValueError unless 0 <= rate < 1.
  explicit Dropout(double rate, const DropoutOptions& options = {});
  Var operator()(const Var& x) override;
  double rate() const { return rate_; }
  SeedStream* random_stream() override { return &seeds_; }

 private:
  double rate_;
  SeedStream seeds_;
};

class Flatten : public Layer {
 public:
  explicit Flatten(const std::string& name = "");
  Var operator()(const Var& x) override;
};

}  // namespace tapir::nn
