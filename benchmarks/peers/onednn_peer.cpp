// tapir-peer-onednn: the conv-transpose and convolution cases of tapir-bench, run by oneDNN.
//
// oneDNN is the strongest CPU peer for conv-transpose that we know of: its deconvolution
// primitives run JIT-generated direct kernels (forward, backward-data, backward-weights), so
// it is the number tapir's conv-transpose should be held against. The program does not link
// tapir. It times the cases exactly as tapir-bench does (warm-up, then repeats until both a
// minimum count and a minimum time are reached, median wall time) and prints the same case
// names, so that the two outputs can be joined on "case". gemm/2048 is OpenBLAS's sgemm, when
// the build found OpenBLAS.
//
// Shapes are channels-last (NHWC) with TF 'SAME' padding: a conv-transpose maps N×H×H×c_in to
// N×(H·s)×(H·s)×c_out; convolution/<shape>/fwd is the mirrored plain convolution. Each oneDNN
// case is tried with two memory formats and the faster is reported: "nhwc" (activations in
// NHWC, weights in oneDNN's choice) and "any" (oneDNN chooses every layout; the NHWC inputs are
// reordered into it once, outside the timed loop, as a framework that keeps its activations in
// oneDNN's blocked layout would). DNNL_VERBOSE=1 shows which kernel ran.
//
// Usage: tapir-peer-onednn --list
//        tapir-peer-onednn --case 'conv_transpose/*' [--threads N] [--json]
//                          [--repeats N] [--min-time SECONDS]
#include <fnmatch.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>
#ifdef TAPIR_PEER_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {

using dnnl::memory;
using tag = memory::format_tag;

// ---- options ---------------------------------------------------------------------------------

struct Options {
  bool list = false, json = false;
  std::vector<std::string> patterns;
  int threads = 1, repeats = 10;
  double min_time = 0.5;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "tapir-peer-onednn: %s (see --list; flags: --case NAME --threads N --json "
               "--repeats N --min-time S)\n", message.c_str());
  std::exit(2);
}

/// Counts must be positive integers; --min-time may be 0.
double parse_number(const std::string& flag, const char* text, bool count) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  const bool ok = end != text && *end == '\0' &&
                  (count ? value >= 1 && value == static_cast<int>(value) : value >= 0);
  if (!ok) usage_error("bad value '" + std::string(text) + "' for " + flag);
  return value;
}

Options parse_options(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--list") opt.list = true;
    else if (flag == "--json") opt.json = true;
    else if (flag == "--case") opt.patterns.emplace_back(value());
    else if (flag == "--threads") opt.threads = static_cast<int>(parse_number(flag, value(), true));
    else if (flag == "--repeats") opt.repeats = static_cast<int>(parse_number(flag, value(), true));
    else if (flag == "--min-time") opt.min_time = parse_number(flag, value(), false);
    else usage_error("unknown flag '" + flag + "'");
  }
  return opt;
}

// ---- timing (tapir-bench's method) -----------------------------------------------------------

struct Timing {
  double median_ms = 0, min_ms = 0;
  std::size_t runs = 0;
};

Timing time_runs(const std::function<void()>& run, const Options& opt) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < 3; ++i) run();  // warm caches, the thread pool, JIT code and scratchpads
  std::vector<double> ms;
  const auto start = clock::now();
  while (static_cast<int>(ms.size()) < opt.repeats ||
         std::chrono::duration<double>(clock::now() - start).count() < opt.min_time) {
    const auto t0 = clock::now();
    run();
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    if (ms.size() >= 1000) break;  // as tapir-bench: enough for a median
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front(), ms.size()};
}

// ---- the shapes ------------------------------------------------------------------------------

/// A conv-transpose N×h×h×c_in -> N×(h·stride)×(h·stride)×c_out, k×k kernel, TF 'SAME' padding.
struct Shape {
  const char* name;
  int n, h, c_in, c_out, k, stride, pad_l, pad_r;
  int out() const { return h * stride; }
};

constexpr Shape kShapes[] = {
    {"a", 32, 7, 64, 32, 5, 2, 1, 2},
    {"b", 32, 14, 32, 16, 5, 2, 1, 2},
    {"c", 32, 28, 16, 1, 5, 1, 2, 2},
    {"d", 64, 16, 128, 64, 3, 2, 0, 1},
};

double conv_flops(const Shape& s) {
  return 2.0 * s.n * s.h * s.h * s.c_in * s.c_out * s.k * s.k;
}

// ---- oneDNN plumbing -------------------------------------------------------------------------

/// One primitive with its arguments; a case runs a list of them.
struct Step {
  dnnl::primitive op;
  std::unordered_map<int, memory> args;
};

class OneDnn {
 public:
  OneDnn() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

  const dnnl::engine& engine() const { return engine_; }

  /// Deterministic input data in layout `want`: filled in the user's plain layout `user`
  /// (nhwc for activations, hwio for weights), then reordered once if oneDNN chose another.
  memory input(const memory::desc& want, tag user, std::uint32_t seed) {
    memory plain({want.dims(), memory::data_type::f32, user}, engine_);
    float* p = static_cast<float*>(plain.get_data_handle());
    const std::size_t count = plain.get_desc().get_size() / sizeof(float);
    for (std::size_t i = 0; i < count; ++i) {
      seed = seed * 1664525u + 1013904223u;  // LCG; values in [-0.5, 0.5)
      p[i] = static_cast<float>(seed >> 8) / 16777216.0f - 0.5f;
    }
    return in_layout(plain, want);
  }

  /// `have` itself if it already is in layout `want`, else a reordered copy.
  memory in_layout(memory have, const memory::desc& want) {
    if (have.get_desc() == want) return have;
    memory converted(want, engine_);
    dnnl::reorder(have, converted).execute(stream_, have, converted);
    stream_.wait();
    return converted;
  }

  memory output(const memory::desc& md) { return memory(md, engine_); }

  std::function<void()> runner(std::vector<Step> steps) {
    return [stream = stream_, steps = std::move(steps)]() mutable {
      for (const Step& s : steps) s.op.execute(stream, s.args);
      stream.wait();
    };
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
};

enum class Format { nhwc, any };

const char* format_name(Format f) { return f == Format::nhwc ? "nhwc" : "any"; }

memory::desc activation_md(int n, int c, int hw, Format f) {
  return {{n, c, hw, hw}, memory::data_type::f32, f == Format::nhwc ? tag::nhwc : tag::any};
}

memory::desc weights_md(int oc, int ic, int k) {
  return {{oc, ic, k, k}, memory::data_type::f32, tag::any};
}

memory::dims strides(const Shape& s) { return {s.stride, s.stride}; }
memory::dims pad_l(const Shape& s) { return {s.pad_l, s.pad_l}; }
memory::dims pad_r(const Shape& s) { return {s.pad_r, s.pad_r}; }

// ---- the cases -------------------------------------------------------------------------------

/// y = conv_transpose(x, W).
std::vector<Step> conv_transpose_fwd(OneDnn& dnn, const Shape& s, Format f) {
  using deconv = dnnl::deconvolution_forward;
  const deconv::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                       activation_md(s.n, s.c_in, s.h, f), weights_md(s.c_out, s.c_in, s.k),
                       activation_md(s.n, s.c_out, s.out(), f), strides(s), pad_l(s), pad_r(s));
  const deconv::primitive_desc pd(d, dnn.engine());
  return {{deconv(pd),
           {{DNNL_ARG_SRC, dnn.input(pd.src_desc(), tag::nhwc, 1)},
            {DNNL_ARG_WEIGHTS, dnn.input(pd.weights_desc(), tag::hwio, 2)},
            {DNNL_ARG_DST, dnn.output(pd.dst_desc())}}}};
}

/// y, dx and dW: what tapir's fwdbwd case computes (no bias).
std::vector<Step> conv_transpose_fwdbwd(OneDnn& dnn, const Shape& s, Format f) {
  using fwd = dnnl::deconvolution_forward;
  using bwd_data = dnnl::deconvolution_backward_data;
  using bwd_weights = dnnl::deconvolution_backward_weights;
  const auto algo = dnnl::algorithm::deconvolution_direct;
  const memory::desc x_md = activation_md(s.n, s.c_in, s.h, f);
  const memory::desc y_md = activation_md(s.n, s.c_out, s.out(), f);
  const memory::desc w_md = weights_md(s.c_out, s.c_in, s.k);

  const fwd::primitive_desc fwd_pd(
      fwd::desc(dnnl::prop_kind::forward_training, algo, x_md, w_md, y_md, strides(s), pad_l(s), pad_r(s)),
      dnn.engine());
  const bwd_data::primitive_desc data_pd(
      bwd_data::desc(algo, x_md, w_md, y_md, strides(s), pad_l(s), pad_r(s)), dnn.engine(), fwd_pd);
  const bwd_weights::primitive_desc weights_pd(
      bwd_weights::desc(algo, x_md, w_md, y_md, strides(s), pad_l(s), pad_r(s)), dnn.engine(), fwd_pd);

  // Each primitive may pick its own layouts; x, W and dy are converted for it once, up front.
  const memory x = dnn.input(fwd_pd.src_desc(), tag::nhwc, 1);
  const memory w = dnn.input(fwd_pd.weights_desc(), tag::hwio, 2);
  const memory dy = dnn.input(data_pd.diff_dst_desc(), tag::nhwc, 3);
  return {
      {fwd(fwd_pd),
       {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dnn.output(fwd_pd.dst_desc())}}},
      {bwd_data(data_pd),
       {{DNNL_ARG_DIFF_DST, dy},
        {DNNL_ARG_WEIGHTS, dnn.in_layout(w, data_pd.weights_desc())},
        {DNNL_ARG_DIFF_SRC, dnn.output(data_pd.diff_src_desc())}}},
      {bwd_weights(weights_pd),
       {{DNNL_ARG_SRC, dnn.in_layout(x, weights_pd.src_desc())},
        {DNNL_ARG_DIFF_DST, dnn.in_layout(dy, weights_pd.diff_dst_desc())},
        {DNNL_ARG_DIFF_WEIGHTS, dnn.output(weights_pd.diff_weights_desc())}}},
  };
}

/// The mirrored convolution: N×(h·s)×(h·s)×c_out -> N×h×h×c_in, same kernel, stride, padding.
std::vector<Step> convolution_fwd(OneDnn& dnn, const Shape& s, Format f, dnnl::algorithm algo) {
  using conv = dnnl::convolution_forward;
  const conv::desc d(dnnl::prop_kind::forward_inference, algo, activation_md(s.n, s.c_out, s.out(), f),
                     weights_md(s.c_in, s.c_out, s.k), activation_md(s.n, s.c_in, s.h, f), strides(s),
                     pad_l(s), pad_r(s));
  const conv::primitive_desc pd(d, dnn.engine());
  return {{conv(pd),
           {{DNNL_ARG_SRC, dnn.input(pd.src_desc(), tag::nhwc, 1)},
            {DNNL_ARG_WEIGHTS, dnn.input(pd.weights_desc(), tag::hwio, 2)},
            {DNNL_ARG_DST, dnn.output(pd.dst_desc())}}}};
}

/// What a case reports besides its name.
struct Result {
  std::string peer, version, format, algorithm;
  Timing timing;
};

struct Case {
  std::string name;
  double flops;
  std::function<std::optional<Result>(const Options&)> measure;
};

std::string onednn_version(bool with_patch) {
  const dnnl_version_t* v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor);
  return with_patch ? s + "." + std::to_string(v->patch) : s;
}

/// A way to build a case's primitives, tried in turn; the fastest is reported.
struct Variant {
  Format format;
  const char* algorithm;  // reported for convolution only
  std::function<std::vector<Step>(OneDnn&)> build;
};

std::optional<Result> fastest(const std::vector<Variant>& variants, const Options& opt) {
  std::optional<Result> best;
  for (const Variant& v : variants) {
    OneDnn dnn;  // a fresh engine and buffers per variant
    std::function<void()> run;
    try {
      run = dnn.runner(v.build(dnn));
    } catch (const dnnl::error& e) {  // oneDNN has no kernel for this combination: skip it
      std::fprintf(stderr, "tapir-peer-onednn: skipping format %s %s (%s)\n", format_name(v.format),
                   v.algorithm, e.what());
      continue;
    }
    const Timing t = time_runs(run, opt);
    if (!best || t.median_ms < best->timing.median_ms)
      best = Result{"onednn-" + onednn_version(false), onednn_version(true), format_name(v.format),
                    v.algorithm, t};
  }
  return best;
}

Case onednn_case(std::string name, double flops, std::vector<Variant> variants) {
  return {std::move(name), flops,
          [variants = std::move(variants)](const Options& opt) { return fastest(variants, opt); }};
}

#ifdef TAPIR_PEER_HAVE_OPENBLAS
Case gemm_case(int n) {
  const double flops = 2.0 * n * n * n;
  return {"gemm/" + std::to_string(n), flops, [n](const Options& opt) {
            std::vector<float> a(std::size_t(n) * n, 0.5f), b(std::size_t(n) * n, 0.01f), c(std::size_t(n) * n);
            auto run = [&] {
              cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n,
                          0.0f, c.data(), n);
            };
            // openblas_get_config() reads "OpenBLAS 0.3.21 DYNAMIC_ARCH ...": keep the version word.
            std::string config = openblas_get_config(), version;
            if (config.rfind("OpenBLAS ", 0) == 0) version = config.substr(9, config.find(' ', 9) - 9);
            return std::optional<Result>(Result{"openblas", version, "", "", time_runs(run, opt)});
          }};
}
#endif

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const Shape& s : kShapes) {
    const std::string base = std::string("conv_transpose/") + s.name;
    std::vector<Variant> fwd, fwdbwd;
    for (Format f : {Format::nhwc, Format::any}) {
      fwd.push_back({f, "", [s, f](OneDnn& dnn) { return conv_transpose_fwd(dnn, s, f); }});
      fwdbwd.push_back({f, "", [s, f](OneDnn& dnn) { return conv_transpose_fwdbwd(dnn, s, f); }});
    }
    cases.push_back(onednn_case(base + "/fwd", conv_flops(s), fwd));
    cases.push_back(onednn_case(base + "/fwdbwd", 3 * conv_flops(s), fwdbwd));
  }
  for (const Shape& s : kShapes) {
    std::vector<Variant> variants;
    for (Format f : {Format::nhwc, Format::any}) {
      variants.push_back({f, "direct", [s, f](OneDnn& dnn) {
                            return convolution_fwd(dnn, s, f, dnnl::algorithm::convolution_direct);
                          }});
      variants.push_back({f, "auto", [s, f](OneDnn& dnn) {
                            return convolution_fwd(dnn, s, f, dnnl::algorithm::convolution_auto);
                          }});
    }
    cases.push_back(onednn_case(std::string("convolution/") + s.name + "/fwd", conv_flops(s), variants));
  }
#ifdef TAPIR_PEER_HAVE_OPENBLAS
  cases.push_back(gemm_case(2048));
#endif
  return cases;
}

// ---- output ----------------------------------------------------------------------------------

void print(const Case& c, const Result& r, const Options& opt) {
  const double gflops = c.flops / (r.timing.median_ms * 1e6);
  if (opt.json) {
    std::printf("{\"case\": \"%s\", \"peer\": \"%s\", \"version\": \"%s\", \"threads\": %d, "
                "\"median_ms\": %.4f, \"min_ms\": %.4f, \"gflops\": %.2f",
                c.name.c_str(), r.peer.c_str(), r.version.c_str(), opt.threads, r.timing.median_ms,
                r.timing.min_ms, gflops);
    if (!r.format.empty()) std::printf(", \"format\": \"%s\"", r.format.c_str());
    if (!r.algorithm.empty()) std::printf(", \"algorithm\": \"%s\"", r.algorithm.c_str());
    std::printf(", \"runs\": %zu}\n", r.timing.runs);
  } else {
    const std::string how = r.format + (r.algorithm.empty() ? "" : "/" + r.algorithm);
    std::printf("%-28s %-12s threads=%d median %9.3f ms  %8.2f GFLOP/s  %-11s runs=%zu\n", c.name.c_str(),
                r.peer.c_str(), opt.threads, r.timing.median_ms, gflops, how.c_str(), r.timing.runs);
  }
  std::fflush(stdout);
}

bool matches(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_options(argc, argv);
  const std::vector<Case> cases = all_cases();
  if (opt.list) {
    for (const Case& c : cases) std::printf("%s\n", c.name.c_str());
    return 0;
  }
  if (opt.patterns.empty()) usage_error("give --case NAME");
  for (const std::string& p : opt.patterns)
    if (std::none_of(cases.begin(), cases.end(), [&](const Case& c) { return matches(p, c.name); }))
      usage_error("no case matches '" + p + "'");

  omp_set_num_threads(opt.threads);  // Debian's oneDNN runs on the OpenMP runtime
#ifdef TAPIR_PEER_HAVE_OPENBLAS
  openblas_set_num_threads(opt.threads);
#endif
  int status = 0;
  for (const Case& c : cases) {
    if (std::none_of(opt.patterns.begin(), opt.patterns.end(), [&](const std::string& p) { return matches(p, c.name); }))
      continue;
    if (const std::optional<Result> r = c.measure(opt)) {
      print(c, *r, opt);
    } else {
      std::fprintf(stderr, "tapir-peer-onednn: %s: no variant could be built\n", c.name.c_str());
      status = 1;
    }
  }
  return status;
}
