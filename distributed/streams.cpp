#include <tapir/distributed/streams.hpp>

#include <string>

#include <tapir/distributed/context.hpp>

namespace tapir::distributed {

std::size_t fold_layer_streams(nn::Layer& model, std::size_t rank) {
  if (rank == 0) return 0;
  std::vector<nn::Layer*> layers{&model};
  for (const auto& sub : model.submodules()) layers.push_back(sub.get());
  std::size_t folded = 0;
  for (nn::Layer* layer : layers) {
    auto* variational = dynamic_cast<nn::VariationalLayer*>(layer);
    if (!variational) continue;
    SeedStream& seeds = variational->seed_stream();
    SeedStream forked = seeds.fork("rank" + std::to_string(rank));
    forked.set_counter(seeds.counter());
    seeds = forked;
    ++folded;
  }
  return folded;
}

std::size_t fold_layer_streams(nn::Layer& model) {
  return fold_layer_streams(model, static_cast<std::size_t>(rank()));
}

SingleProcessNoise::SingleProcessNoise(std::size_t per_rank_batch)
    : guard_(static_cast<std::size_t>(rank()) * per_rank_batch) {}

}  // namespace tapir::distributed
