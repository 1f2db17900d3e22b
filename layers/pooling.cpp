#include <tapir/layers/pooling.hpp>

namespace tapir::nn {

namespace {
// Validates the arguments now (construction fails, not the first call) and converts them.
PoolOptions core_options(const IntOrList& pool_size, const PoolingOptions& o, const std::string& who) {
  PoolOptions p = PoolOptions().rank(o.rank()).padding(o.padding());
  if (o.strides()) p.strides(*o.strides());
  pool_spec(pool_size, p, who.c_str());
  return p;
}
}  // namespace

MaxPooling::MaxPooling(IntOrList pool_size, const PoolingOptions& options)
    : Layer("MaxPooling", options.name()), pool_size_(std::move(pool_size)),
      options_(core_options(pool_size_, options, who())) {}

Var MaxPooling::operator()(const Var& x) { return max_pool(x, pool_size_, options_); }

AveragePooling::AveragePooling(IntOrList pool_size, const PoolingOptions& options)
    : Layer("AveragePooling", options.name()), pool_size_(std::move(pool_size)),
      options_(core_options(pool_size_, options, who())) {}

Var AveragePooling::operator()(const Var& x) { return avg_pool(x, pool_size_, options_); }

GlobalAveragePooling::GlobalAveragePooling(int rank, const std::string& name)
    : Layer("GlobalAveragePooling", name), rank_(rank) {
  if (rank < 1 || rank > 3) throw ValueError(who() + ": rank must be 1, 2 or 3, got " + std::to_string(rank));
}

Var GlobalAveragePooling::operator()(const Var& x) { return global_avg_pool(x, rank_); }

}  // namespace tapir::nn
