// tapir-bench-distributed: the bucketed, overlapped gradient reduction against reducing
// everything after backward, on a Flipout MLP whose gradients are large enough (width² × 2
// posterior parameters per layer) for the reduction to cost something. Run under mpirun:
//
//   OMP_NUM_THREADS=1 mpirun -np 2 build/benchmarks/tapir-bench-distributed
//
// Per configuration: the median over the timed steps of the whole step (forward, backward,
// finish, optimizer) and of finish() alone (the wait that overlap shortens), rank 0 prints.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <tapir/tapir.hpp>
#include <tapir/distributed/distributed.hpp>

namespace dist = tapir::distributed;
namespace tfn = tapir::nn;
using tapir::Var;

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  dist::Context mpi(&argc, &argv);
  CLI::App app{"Overlapped bucketed gradient reduction vs one reduction after backward (run under mpirun)"};
  std::size_t width = 1024, layers = 4, batch = 32, steps = 6, rounds = 3;
  app.add_option("--width", width, "Units per hidden layer")->capture_default_str();
  app.add_option("--layers", layers, "Flipout layers")->capture_default_str();
  app.add_option("--batch", batch, "Examples per rank and step")->capture_default_str();
  app.add_option("--steps", steps, "Timed steps per configuration and round (after 2 warm-up steps)")->capture_default_str();
  app.add_option("--rounds", rounds, "Rounds over the configurations (interleaved, so drifting load hits all alike)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return dist::guarded_main([&] {
    std::vector<tfn::Sequential::Element> elements;
    for (std::size_t i = 0; i < layers; ++i)
      elements.push_back(std::make_shared<tfn::AffineVariationalFlipout>(
          width, width, tfn::AffineOptions().seed(1).activation_fn([](const Var& x) { return tapir::tanh(x); })));
    tfn::Sequential model(elements, "mlp");
    dist::broadcast(model.variables());
    dist::fold_layer_streams(model);
    const Var x = tapir::constant(tapir::random::normal({batch, width}, tapir::DType::float32,
                                                        tapir::RandomStream(7 + dist::rank(), "x")));
    std::size_t params = 0;
    for (const Var& v : model.trainable_variables()) params += v.size();
    if (dist::is_root())
      std::printf("%d ranks, %zu Flipout layers %zux%zu, batch %zu per rank: %.1f MB of float32 gradients per step\n",
                  dist::world_size(), layers, width, width, batch, 4.0 * params / 1e6);
    struct Config { const char* name; bool overlap; std::size_t bucket_bytes; };
    const std::vector<Config> configs{{"after backward, one pass", false, std::size_t(25) << 20},
                                      {"overlapped, 25 MiB buckets", true, std::size_t(25) << 20},
                                      {"overlapped, 4 MiB buckets", true, std::size_t(4) << 20},
                                      {"overlapped, 8 MiB buckets", true, std::size_t(8) << 20}};
    struct Times { std::vector<double> step, backward, finish; std::size_t buckets = 0, early = 0; };
    std::vector<Times> times(configs.size());
    for (std::size_t round = 0; round < rounds; ++round) {
      for (std::size_t c = 0; c < configs.size(); ++c) {
        tapir::optim::SGD sgd(model.trainable_variables(), tapir::optim::SGDOptions().learning_rate(1e-6));
        dist::GradientReducer reducer(model.trainable_variables(), dist::ReducerOptions()
                                                                       .overlap(configs[c].overlap)
                                                                       .bucket_bytes(configs[c].bucket_bytes));
        for (std::size_t s = 0; s < steps + 2; ++s) {
          dist::barrier();
          const auto t0 = std::chrono::steady_clock::now();
          Var fit = tapir::mean(tapir::square(model(x)));
          Var loss = fit + tfn::losses::compute_extra_loss(model) * 1e-5;  // after the forward pass
          sgd.zero_grad();
          tapir::backward(loss);
          const auto t1 = std::chrono::steady_clock::now();
          reducer.finish();
          const auto t2 = std::chrono::steady_clock::now();
          sgd.step();
          const auto t3 = std::chrono::steady_clock::now();
          if (s < 2) continue;
          times[c].backward.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          times[c].finish.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
          times[c].step.push_back(std::chrono::duration<double, std::milli>(t3 - t0).count());
          times[c].early = reducer.buckets_started_early();
          times[c].buckets = reducer.num_buckets();
        }
      }
    }
    for (std::size_t c = 0; c < configs.size(); ++c) {
      // The slowest rank sets the pace: report the maximum over ranks of each median.
      std::vector<double> m = {median(times[c].step), median(times[c].backward), median(times[c].finish)};
      MPI_Allreduce(MPI_IN_PLACE, m.data(), 3, MPI_DOUBLE, MPI_MAX, mpi.comm());
      if (dist::is_root())
        std::printf("  %-28s step %8.2f ms   forward+backward %8.2f ms   finish %7.2f ms   buckets %zu (%zu started in backward)\n",
                    configs[c].name, m[0], m[1], m[2], times[c].buckets, times[c].early);
    }
    return 0;
  });
}
