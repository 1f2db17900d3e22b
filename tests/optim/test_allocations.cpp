// Steady-state training steps allocate nothing: this binary counts every call of the global
// operator new (Tensor storage, std::vector, std::string, std::function, shared_ptr all use it).
#include "helpers.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include <tapir/core/kernels/elementwise.hpp>  // kParallelGrain (internal header, in-tree)

namespace {
std::atomic<long> g_allocations{0};
}

// (GCC 12 knows `new` and `free` as a mismatched pair and warns at every inlined delete,
// although this operator new is malloc: the pair is matched here by construction.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

using namespace tapir;
using namespace optim_testing;
namespace opt = tapir::optim;

TEST_SUITE("optim/allocations") {

TEST_CASE("after the first step, step() and clipping allocate nothing") {
  const std::vector<Factory> factories{
      [](const std::vector<Var>& v) { return std::make_unique<opt::Adam>(v, opt::AdamOptions().amsgrad(true)); },
      [](const std::vector<Var>& v) { return std::make_unique<opt::AdamW>(v); },
      [](const std::vector<Var>& v) { return std::make_unique<opt::SGD>(v, opt::SGDOptions().momentum(0.9)); },
      [](const std::vector<Var>& v) { return std::make_unique<opt::RMSProp>(v, opt::RMSPropOptions().centered(true).momentum(0.1)); },
      [](const std::vector<Var>& v) { return std::make_unique<opt::Adagrad>(v); },
  };
  for (const Factory& make : factories) {
    // One parameter big enough for the OpenMP path, one small float32 one.
    Var big = parameter(testing::random_tensor({kernels::kParallelGrain + 5}, 1), "big");
    Var small = parameter(testing::random_tensor({7}, 2, -1, 1, DType::float32), "small");
    big.mutable_grad() = testing::random_tensor(big.shape(), 3);
    small.mutable_grad() = testing::random_tensor(small.shape(), 4, -1, 1, DType::float32);
    auto o = make({big, small});
    o->set_schedule(opt::cosine_decay(100, 0.0, 10));
    const Var loss = constant(Tensor::scalar(1.0, DType::float64), "loss");
    const std::vector<Var> params = o->parameters();
    for (int warmup = 0; warmup < 2; ++warmup) {  // state buffers, OpenMP threads, scratch
      o->step(loss);
      opt::clip_grad_norm(params, 1e-3);
      opt::clip_grad_value(params, 1e-4);
    }
    const long before = g_allocations.load();
    for (int t = 0; t < 3; ++t) {
      o->step(loss);
      opt::clip_grad_norm(params, 1e-3);
      opt::clip_grad_value(params, 1e-4);
    }
    const long allocations = g_allocations.load() - before;
    INFO(o->kind());
    CHECK(allocations == 0);
    CHECK(o->step_count() == 5);
  }
  // The counter does count: a Tensor allocates.
  const long before = g_allocations.load();
  Tensor t = Tensor::zeros({3}, DType::float64);
  CHECK(g_allocations.load() > before);
}

}  // TEST_SUITE
