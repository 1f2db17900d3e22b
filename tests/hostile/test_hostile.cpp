// The catalogue of hostile arguments, one table per public family: every bad call must throw the
// expected tapir exception type (not a crash, std::bad_alloc, std::out_of_range or a silently
// wrapped size) and its message must name the argument (the substring of each case).
#include "../testing.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <typeinfo>

#include <unistd.h>

using namespace tapir;
namespace tfn = tapir::nn;
namespace tfd = tapir::distributions;
namespace opt = tapir::optim;
namespace to = tapir::tensor_ops;

namespace {

enum class Kind { shape, value, type, io, not_implemented, autodiff };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::shape: return "ShapeError";
    case Kind::value: return "ValueError";
    case Kind::type: return "TypeError";
    case Kind::io: return "IOError";
    case Kind::not_implemented: return "NotImplementedError";
    case Kind::autodiff: return "AutodiffError";
  }
  return "?";
}

bool is_kind(const Error& e, Kind k) {
  switch (k) {
    case Kind::shape: return dynamic_cast<const ShapeError*>(&e) != nullptr;
    case Kind::value: return dynamic_cast<const ValueError*>(&e) != nullptr;
    case Kind::type: return dynamic_cast<const TypeError*>(&e) != nullptr;
    case Kind::io: return dynamic_cast<const IOError*>(&e) != nullptr;
    case Kind::not_implemented: return dynamic_cast<const NotImplementedError*>(&e) != nullptr;
    case Kind::autodiff: return dynamic_cast<const AutodiffError*>(&e) != nullptr;
  }
  return false;
}

struct Case {
  const char* label;
  std::function<void()> call;
  Kind kind;
  const char* names;  ///< a substring the message must contain (the argument, a shape, ...)
};

// Runs every case; returns how many ran (each one is a CHECK that could fail).
std::size_t run_cases(const char* family, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const std::string label = std::string(family) + ": " + c.label + " (expects " + kind_name(c.kind) + ")";
    INFO(label);
    std::string outcome;
    try {
      c.call();
      outcome = "no exception";
    } catch (const Error& e) {
      const std::string msg = e.what();
      if (!is_kind(e, c.kind)) outcome = std::string("wrong type ") + typeid(e).name() + ": " + msg;
      else if (msg.find(c.names) == std::string::npos) outcome = "message lacks '" + std::string(c.names) + "': " + msg;
    } catch (const std::exception& e) {
      outcome = std::string("untyped ") + typeid(e).name() + ": " + e.what();
    }
    INFO(outcome);
    CHECK(outcome.empty());
  }
  return cases.size();
}

std::size_t g_total = 0;

Var f32(const Shape& s, double v = 1.0) { return constant(Tensor::full(s, DType::float32, v)); }
Var f64(const Shape& s, double v = 1.0) { return constant(Tensor::full(s, DType::float64, v)); }
Var param32(const Shape& s, const std::string& name = "p") { return parameter(Tensor::full(s, DType::float32, 1.0), name); }

// The files the cases write (and the paths they name) live in one directory of this process,
// removed with everything in it when the test program ends.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/tapir_hostile_XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("test_hostile: mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string temp_path(const std::string& name) {
  static const TempDir dir;
  return dir.path() + "/" + name;
}
std::string write_temp(const std::string& name, const std::string& bytes) {
  const std::string p = temp_path(name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}
std::string npy(const std::string& shape, const std::string& data = "", const std::string& descr = "<f4") {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append((64 - (11 + header.size()) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}
std::string be32(std::uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

constexpr std::size_t kHuge = std::size_t(1) << 62;

}  // namespace

TEST_SUITE("hostile") {

TEST_CASE("tensors") {
  g_total += run_cases("tensors", {
      {"zeros SIZE_MAX", [] { Tensor::zeros({SIZE_MAX}, DType::float32); }, Kind::shape, "[18446744073709551615]"},
      {"full 2^62", [] { Tensor::full({kHuge}, DType::float32, 1.0); }, Kind::shape, "would need"},
      {"zeros 2^32 x 2^32", [] { Tensor::zeros({1ull << 32, 1ull << 32}, DType::float32); }, Kind::shape, "[4294967296,4294967296]"},
      {"ones 2^40 float64 over the limit", [] { Tensor::ones({1ull << 40}, DType::float64); }, Kind::shape, "more than the limit"},
      {"empty 2^31 x 2^31 x 4", [] { Tensor::empty({1ull << 31, 1ull << 31, 4}, DType::float64); }, Kind::shape, "would need"},
      {"empty with a wrapping zero-size shape", [] { Tensor::empty({0, kHuge, 8}, DType::float32); }, Kind::shape, "[0,4611686018427387904,8]"},
      {"constructor 2^63", [] { Tensor(Shape{1ull << 63}, DType::float32); }, Kind::shape, "would need"},
      {"scalar under a 1-byte limit", [] { MaxTensorBytesScope s(1); Tensor::scalar(1.0, DType::float32); }, Kind::shape, "limit of 1 bytes"},
      {"zeros over a scoped limit", [] { MaxTensorBytesScope s(1024); Tensor::zeros({300}, DType::float32); }, Kind::shape, "1200 bytes"},
      {"rank 7", [] { Tensor::empty({1, 1, 1, 1, 1, 1, 1}, DType::float32); }, Kind::shape, "rank 7"},
      {"from_vector count", [] { Tensor::from_vector<float>({2, 3}, {1.f}); }, Kind::shape, "[2,3]"},
      {"from_vector wrapping shape", [] { Tensor::from_vector<float>({1ull << 32, 1ull << 32}, {}); }, Kind::shape, "[4294967296,4294967296]"},
      {"at out of range", [] { Tensor::zeros({3}, DType::float32).at(3); }, Kind::shape, "index 3"},
      {"item of [2]", [] { Tensor::zeros({2}, DType::float32).item(); }, Kind::shape, "[2]"},
      {"data<float> of float64", [] { Tensor::zeros({2}, DType::float64).data<float>(); }, Kind::type, "float64"},
      {"data<double> of float32", [] { Tensor::zeros({2}, DType::float32).data<double>(); }, Kind::type, "float32"},
      {"raw_data of undefined", [] { Tensor().raw_data(); }, Kind::value, "undefined"},
      {"add_ dtype", [] { Tensor::zeros({2}, DType::float32).add_(Tensor::zeros({2}, DType::float64)); }, Kind::type, "float64"},
      {"add_ shape", [] { Tensor::zeros({2}, DType::float32).add_(Tensor::zeros({3}, DType::float32)); }, Kind::shape, "[3]"},
      {"set_max_tensor_bytes 0", [] { set_max_tensor_bytes(0); }, Kind::value, "bytes must be > 0"},
      {"MaxTensorBytesScope 0", [] { MaxTensorBytesScope s(0); }, Kind::value, "got 0"},
      {"checked_mul wrap", [] { checked_mul(SIZE_MAX, 3, "rows * cols"); }, Kind::shape, "rows * cols"},
      {"checked_add wrap", [] { checked_add(SIZE_MAX, 1, "begin + size"); }, Kind::shape, "begin + size"},
      {"checked_numel wrap", [] { checked_numel({1ull << 33, 1ull << 33}, "weights"); }, Kind::shape, "weights"},
      {"numel wrap", [] { numel({SIZE_MAX, 2}); }, Kind::shape, "[18446744073709551615,2]"},
      {"broadcast_shapes", [] { broadcast_shapes({2, 3}, {4}, "my_op"); }, Kind::shape, "my_op"},
  });
}

TEST_CASE("elementwise and broadcasting") {
  std::vector<Case> cases;
  using Binary = Var (*)(const Var&, const Var&);
  const std::pair<const char*, Binary> ops[] = {
      {"add", &tapir::add}, {"sub", &tapir::sub}, {"mul", &tapir::mul}, {"div", &tapir::div},
      {"minimum", &tapir::minimum}, {"maximum", &tapir::maximum},
      {"pow", [](const Var& a, const Var& b) { return tapir::pow(a, b); }}};
  for (const auto& [name, op] : ops) {
    const Binary f = op;
    cases.push_back({name, [f] { f(f32({2, 3}), f32({4})); }, Kind::shape, "[2,3] and [4]"});
    cases.push_back({name, [f] { f(f32({2, 3}), f64({2, 3})); }, Kind::type, "float64"});
  }
  cases.push_back({"where condition shape", [] { tapir::where(f32({5}), f32({2, 3}), f32({2, 3})); }, Kind::shape, "[5]"});
  cases.push_back({"where dtype", [] { tapir::where(f32({2}), f32({2}), f64({2})); }, Kind::type, "float64"});
  cases.push_back({"to::add shapes", [] { to::add(Tensor::zeros({3}, DType::float32), Tensor::zeros({4}, DType::float32)); }, Kind::shape, "[3] and [4]"});
  cases.push_back({"to::mul dtype", [] { to::mul(Tensor::zeros({3}, DType::float32), Tensor::zeros({3}, DType::float64)); }, Kind::type, "dtypes differ"});
  cases.push_back({"broadcast_to", [] { tapir::broadcast_to(f32({2, 3}), {3, 3}); }, Kind::shape, "[3,3]"});
  cases.push_back({"to::sum_to", [] { to::sum_to(Tensor::zeros({2, 3}, DType::float32), {4}); }, Kind::shape, "[4]"});
  cases.push_back({"undefined Var", [] { tapir::exp(Var()); }, Kind::value, "undefined"});
  g_total += run_cases("elementwise", cases);
}

TEST_CASE("reductions") {
  g_total += run_cases("reductions", {
      {"sum axis 2 of rank 2", [] { tapir::sum(f32({2, 3}), {2}); }, Kind::value, "axis"},
      {"sum axis -3 of rank 2", [] { tapir::sum(f32({2, 3}), {-3}); }, Kind::value, "axis"},
      {"mean axis 5", [] { tapir::mean(f32({2, 3}), {5}); }, Kind::value, "axis"},
      {"max axis 9", [] { tapir::max(f32({2, 3}), {9}); }, Kind::value, "axis"},
      {"logsumexp axis -4", [] { tapir::logsumexp(f32({2, 3}), {-4}); }, Kind::value, "axis"},
      {"sum repeated axis", [] { tapir::sum(f32({2, 3}), {1, 1}); }, Kind::value, "axis"},
      {"mean repeated axis", [] { tapir::mean(f32({2, 3}), {0, -2}); }, Kind::value, "axis"},
  });
}

TEST_CASE("reshape and shape ops") {
  g_total += run_cases("reshape", {
      {"reshape count", [] { tapir::reshape(f32({6}), {4}); }, Kind::shape, "[6]"},
      {"reshape wrapping to the count", [] { tapir::reshape(f32({6}), {2, (1ull << 63) + 3}); }, Kind::shape, "[2,9223372036854775811]"},
      {"reshape SIZE_MAX", [] { f32({6}).value().reshape({SIZE_MAX, SIZE_MAX}); }, Kind::shape, "reshape"},
      {"reshape zero into 6", [] { tapir::reshape(f32({6}), {0, 6}); }, Kind::shape, "[0,6]"},
      {"reshape rank 7", [] { tapir::reshape(f32({1}), {1, 1, 1, 1, 1, 1, 1}); }, Kind::shape, "rank"},
      {"permute not a permutation", [] { tapir::permute(f32({2, 3}), {0, 0}); }, Kind::value, "perm"},
      {"permute wrong length", [] { tapir::permute(f32({2, 3}), {0}); }, Kind::value, "perm"},
      {"permute out of range", [] { tapir::permute(f32({2, 3}), {0, 7}); }, Kind::value, "perm"},
      {"transpose 1-D", [] { tapir::transpose(f32({3})); }, Kind::shape, "[3]"},
      {"concat no inputs", [] { tapir::concat({}, 0); }, Kind::value, "no inputs"},
      {"concat axis out of range", [] { tapir::concat({f32({2}), f32({2})}, 1); }, Kind::value, "axis 1"},
      {"concat axis -2", [] { tapir::concat({f32({2}), f32({2})}, -2); }, Kind::value, "axis -2"},
      {"concat dtype", [] { tapir::concat({f32({2}), f64({2})}, 0); }, Kind::type, "float64"},
      {"concat shape", [] { tapir::concat({f32({2, 3}), f32({2, 4})}, 0); }, Kind::shape, "[2,4]"},
      {"concat rank", [] { tapir::concat({f32({2, 3}), f32({2})}, 0); }, Kind::shape, "[2]"},
      {"slice too many specs", [] { tapir::slice(f32({3}), {{}, {}}); }, Kind::shape, "[3]"},
      {"slice begin out of range", [] { tapir::slice(f32({3}), {{5, 6, 1}}); }, Kind::value, "axis 0"},
      {"slice step 0", [] { tapir::slice(f32({3}), {{0, 3, 0}}); }, Kind::value, "axis 0"},
      {"slice negative step", [] { tapir::slice(f32({3}), {{0, 3, -1}}); }, Kind::value, "axis 0"},
      {"slice end before begin", [] { tapir::slice(f32({3}), {{2, 1, 1}}); }, Kind::value, "axis 0"},
      {"slice INT64_MIN begin", [] { tapir::slice(f32({3}), {{INT64_MIN, 3, 1}}); }, Kind::value, "axis 0"},
      {"pad pair count", [] { tapir::pad(f32({2, 2}), {{1, 1}}); }, Kind::shape, "one pair per axis"},
      {"pad by 2^62", [] { tapir::pad(f32({2}), {{kHuge, 0}}); }, Kind::shape, "pad: tensor of shape [4611686018427387906]"},
      {"pad SIZE_MAX + 1", [] { tapir::pad(f32({2}), {{SIZE_MAX, 1}}); }, Kind::shape, "pad: axis 0"},
      {"pad SIZE_MAX after", [] { tapir::pad(f32({2, 2}), {{0, 0}, {0, SIZE_MAX}}); }, Kind::shape, "pad: axis 1"},
      {"pad over the limit", [] { MaxTensorBytesScope s(64); tapir::pad(f32({2}), {{100, 0}}); }, Kind::shape, "pad: tensor of shape [102]"},
  });
}

TEST_CASE("matmul") {
  g_total += run_cases("matmul", {
      {"1-D operand", [] { tapir::matmul(f32({3}), f32({3, 2})); }, Kind::shape, "[3]"},
      {"1-D right operand", [] { tapir::matmul(f32({2, 3}), f32({3})); }, Kind::shape, "[3]"},
      {"inner dims", [] { tapir::matmul(f32({2, 3}), f32({4, 2})); }, Kind::shape, "[2,3]"},
      {"batch dims", [] { tapir::matmul(f32({2, 2, 3}), f32({5, 3, 2})); }, Kind::shape, "batch"},
      {"dtype", [] { tapir::matmul(f32({2, 3}), f64({3, 2})); }, Kind::type, "float64"},
      {"to::matmul trans_a inner", [] { to::matmul(Tensor::zeros({2, 3}, DType::float32), Tensor::zeros({3, 2}, DType::float32), true); }, Kind::shape, "^T"},
      {"to::matmul trans_b inner", [] { to::matmul(Tensor::zeros({2, 3}, DType::float32), Tensor::zeros({3, 2}, DType::float32), false, true); }, Kind::shape, "^T"},
      {"zero-size huge k against a bad batch", [] { tapir::matmul(f32({2, 0, 4}), f32({3, 4, 0})); }, Kind::shape, "batch"},
      {"result over the limit", [] { MaxTensorBytesScope s(1 << 12); tapir::matmul(f32({64, 1}), f32({1, 64})); }, Kind::shape, "matmul: tensor of shape [64,64]"},
  });
}

TEST_CASE("convolution") {
  const Var x = f32({1, 5, 5, 2});
  const Var w = f32({3, 3, 2, 4});
  g_total += run_cases("conv", {
      {"kernel rank 2", [=] { convolution(x, f32({3, 3})); }, Kind::shape, "[3,3]"},
      {"kernel rank 6", [=] { convolution(x, f32({1, 1, 1, 1, 2, 4})); }, Kind::shape, "[1,1,1,1,2,4]"},
      {"input rank too small", [=] { convolution(f32({5, 2}), w); }, Kind::shape, "[5,2]"},
      {"channels", [=] { convolution(f32({1, 5, 5, 3}), w); }, Kind::shape, "c_in=2"},
      {"c_out 0", [=] { convolution(x, f32({3, 3, 2, 0})); }, Kind::value, "c_out = 0"},
      {"dtype", [=] { convolution(x, f64({3, 3, 2, 4})); }, Kind::type, "float64"},
      {"strides 0", [=] { convolution(x, w, ConvOptions().strides(0)); }, Kind::value, "strides"},
      {"strides -2", [=] { convolution(x, w, ConvOptions().strides(-2)); }, Kind::value, "strides"},
      {"strides INT_MIN", [=] { convolution(x, w, ConvOptions().strides(INT32_MIN)); }, Kind::value, "strides"},
      {"dilations 0", [=] { convolution(x, w, ConvOptions().dilations(0)); }, Kind::value, "dilations"},
      {"strides and dilations", [=] { convolution(x, w, ConvOptions().strides(2).dilations(2)); }, Kind::value, "dilations"},
      {"padding CAUSAL", [=] { convolution(x, w, ConvOptions().padding("CAUSAL")); }, Kind::value, "CAUSAL"},
      {"padding empty", [=] { convolution(x, w, ConvOptions().padding("")); }, Kind::value, "padding"},
      {"strides list length", [=] { convolution(x, w, ConvOptions().strides({1, 1, 1})); }, Kind::value, "strides"},
      {"dilations list length", [=] { convolution(x, w, ConvOptions().dilations({1, 2, 1})); }, Kind::value, "dilations"},
      {"VALID has no output", [=] { convolution(f32({1, 2, 2, 2}), w); }, Kind::value, "VALID"},
      {"huge dilation VALID", [=] { convolution(x, w, ConvOptions().dilations(1 << 30)); }, Kind::value, "VALID"},
      {"geometry SIZE_MAX filter dilated", [] { conv_geometry({SIZE_MAX}, {SIZE_MAX}, ConvOptions().dilations(2)); }, Kind::shape, "overflows"},
      {"geometry SAME huge dilation", [] { conv_geometry({SIZE_MAX}, {3}, ConvOptions().padding("SAME").dilations(1 << 30)); }, Kind::shape, "spatial dim 0"},
      {"geometry SAME SIZE_MAX", [] { conv_geometry({SIZE_MAX, SIZE_MAX}, {1, 1}, ConvOptions().padding("SAME")); }, Kind::shape, "64-bit"},
      {"geometry zero input", [] { conv_geometry({0}, {3}, ConvOptions()); }, Kind::value, "spatial input sizes"},
      {"geometry zero filter", [] { conv_geometry({5}, {0}, ConvOptions()); }, Kind::value, "filter sizes"},
      {"geometry strides length", [] { conv_geometry({5, 5}, {3, 3}, ConvOptions().strides({1, 1, 1})); }, Kind::value, "strides"},
      {"output over the limit", [] { MaxTensorBytesScope s(1 << 16); convolution(f32({1, 100, 100, 1}), f32({1, 1, 1, 4})); }, Kind::shape, "convolution: tensor of shape [1,100,100,4]"},
      // no column matrix exists any more; the one per-call table (pixels x taps offsets) is held to the limit
      {"gather table over the limit", [] { MaxTensorBytesScope s(1 << 20); convolution(f32({1, 64, 64, 16}), f32({9, 9, 16, 8}), ConvOptions().padding("SAME")); }, Kind::shape, "gather table of one image"},
  });
}

TEST_CASE("conv-transpose") {
  const Var x = f32({1, 4, 4, 2});
  const Var w = f32({3, 3, 2, 4});
  g_total += run_cases("conv_transpose", {
      {"kernel rank 2", [=] { conv_transpose(x, f32({3, 3})); }, Kind::shape, "[3,3]"},
      {"channels", [=] { conv_transpose(f32({1, 4, 4, 5}), w); }, Kind::shape, "c_in=2"},
      {"c_out 0", [=] { conv_transpose(x, f32({3, 3, 2, 0})); }, Kind::value, "c_out = 0"},
      {"dtype", [=] { conv_transpose(x, f64({3, 3, 2, 4})); }, Kind::type, "float64"},
      {"strides 0", [=] { conv_transpose(x, w, ConvTransposeOptions().strides(0)); }, Kind::value, "strides"},
      {"dilations -1", [=] { conv_transpose(x, w, ConvTransposeOptions().dilations(-1)); }, Kind::value, "dilations"},
      {"strides and dilations", [=] { conv_transpose(x, w, ConvTransposeOptions().strides(2).dilations(3)); }, Kind::value, "dilations"},
      {"padding FULL", [=] { conv_transpose(x, w, ConvTransposeOptions().padding("FULL")); }, Kind::value, "FULL"},
      {"output_padding >= strides", [=] { conv_transpose(x, w, ConvTransposeOptions().strides(2).output_padding(2)); }, Kind::value, "output_padding"},
      {"output_padding negative", [=] { conv_transpose(x, w, ConvTransposeOptions().output_padding(-1)); }, Kind::value, "output_padding"},
      {"output_padding length", [=] { conv_transpose(x, w, ConvTransposeOptions().strides(2).output_padding({1, 1, 1})); }, Kind::value, "output_padding"},
      {"strides 2^30 wrap", [=] { conv_transpose(x, w, ConvTransposeOptions().strides(1 << 30)); }, Kind::shape, "64-bit"},
      {"strides 2^30 SAME", [] { conv_transpose(f32({1, 2, 2, 1}), f32({3, 3, 1, 1}), ConvTransposeOptions().strides(1 << 30).padding("SAME")); }, Kind::shape, "conv_transpose: tensor of shape [1,2147483648,2147483648,1]"},
      {"strides INT_MAX 1-D", [] { conv_transpose(f32({1, 3, 1}), f32({3, 1, 1}), ConvTransposeOptions().strides(INT32_MAX)); }, Kind::shape, "would need"},
      {"geometry SIZE_MAX", [] { conv_transpose_geometry({SIZE_MAX}, {3}, ConvTransposeOptions()); }, Kind::shape, "spatial dim 0 overflows"},
      {"geometry SIZE_MAX SAME stride 2", [] { conv_transpose_geometry({SIZE_MAX}, {3}, ConvTransposeOptions().padding("SAME").strides(2)); }, Kind::shape, "overflows"},
      {"geometry SIZE_MAX output_padding", [] { conv_transpose_geometry({SIZE_MAX}, {3}, ConvTransposeOptions().output_padding(0)); }, Kind::shape, "overflows"},
      {"geometry 2^40 squared", [] { conv_transpose_geometry({1ull << 40, 1ull << 40}, {1, 1}, ConvTransposeOptions()); }, Kind::shape, "64-bit"},
      {"geometry huge filter", [] { conv_transpose_geometry({2}, {SIZE_MAX}, ConvTransposeOptions().dilations(2)); }, Kind::shape, "overflows"},
      {"geometry zero input", [] { conv_transpose_geometry({0}, {3}, ConvTransposeOptions()); }, Kind::value, "spatial input sizes"},
      {"geometry zero filter", [] { conv_transpose_geometry({4}, {0}, ConvTransposeOptions()); }, Kind::value, "filter sizes"},
      {"geometry padding", [] { conv_transpose_geometry({4}, {3}, ConvTransposeOptions().padding("same-ish")); }, Kind::value, "same-ish"},
  });
}

TEST_CASE("tape") {
  g_total += run_cases("tape", {
      {"backward of a constant", [] { backward(f32({1})); }, Kind::autodiff, "does not require a gradient"},
      {"backward non-scalar", [] { backward(tapir::exp(param32({3}))); }, Kind::shape, "[3]"},
      {"backward seed shape", [] { backward(tapir::exp(param32({3})), Tensor::zeros({4}, DType::float32)); }, Kind::shape, "[4]"},
      {"backward seed dtype", [] { backward(tapir::exp(param32({3})), Tensor::zeros({3}, DType::float64)); }, Kind::shape, "float64"},
      {"backward twice", [] { Var l = tapir::sum(tapir::exp(param32({3}))); backward(l); backward(l); }, Kind::autodiff, "already freed"},
      {"set_value shape", [] { param32({3}, "w").set_value(Tensor::zeros({4}, DType::float32)); }, Kind::shape, "'w'"},
      {"set_value dtype", [] { param32({3}, "w").set_value(Tensor::zeros({3}, DType::float64)); }, Kind::shape, "float64"},
      {"set_value non-leaf", [] { tapir::exp(param32({3})).set_value(Tensor::zeros({3}, DType::float32)); }, Kind::autodiff, "not a leaf"},
      {"mutable_value non-leaf", [] { tapir::exp(param32({3})).mutable_value(); }, Kind::autodiff, "not a leaf"},
      {"undefined value", [] { Var().value(); }, Kind::value, "undefined"},
      {"custom_op gradient count", [] {
         Var p = param32({2});
         backward(tapir::sum(custom_op("two_grads", p.value(), {p}, [](const Tensor& g) { return std::vector<Tensor>{g, g}; })));
       }, Kind::autodiff, "'two_grads' returned 2 gradients for 1 inputs"},
      {"custom_op gradient shape", [] {
         Var p = param32({2});
         backward(tapir::sum(custom_op("bad_shape", p.value(), {p}, [](const Tensor&) { return std::vector<Tensor>{Tensor::zeros({5}, DType::float32)}; })));
       }, Kind::autodiff, "'bad_shape'"},
      {"custom_op undefined input", [] { custom_op("x", Tensor::zeros({1}, DType::float32), {Var()}, nullptr); }, Kind::value, "undefined"},
  });
}

TEST_CASE("layers") {
  g_total += run_cases("layers", {
      {"AffineVariationalFlipout 2^62 x 4", [] { tfn::AffineVariationalFlipout(kHuge, 4); }, Kind::shape, "[4611686018427387904,4]"},
      {"AffineVariationalFlipout 4 x 2^62", [] { tfn::AffineVariationalFlipout(4, kHuge); }, Kind::shape, "4611686018427387904"},
      {"AffineVariationalReparameterization 2^40 x 2^30", [] { tfn::AffineVariationalReparameterization(1ull << 40, 1ull << 30); }, Kind::shape, "would need"},
      {"Affine SIZE_MAX", [] { tfn::Affine(SIZE_MAX, 2); }, Kind::shape, "18446744073709551615"},
      {"ConvolutionVariationalFlipout 2^40 channels", [] { tfn::ConvolutionVariationalFlipout(1ull << 40, 1ull << 30, 3); }, Kind::shape, "would need"},
      {"ConvolutionTransposeVariationalFlipout huge filter", [] { tfn::ConvolutionTransposeVariationalFlipout(2, 2, std::vector<int>{1 << 30, 1 << 30}); }, Kind::shape, "would need"},
      {"Affine input size mismatch", [] { tfn::AffineVariationalFlipout l(3, 2); l(f32({4, 5})); }, Kind::shape, "[4,5]"},
      {"Affine dtype mismatch", [] { tfn::AffineVariationalFlipout l(3, 2); l(f64({4, 3})); }, Kind::type, "float64"},
      {"Convolution channels mismatch", [] { tfn::ConvolutionVariationalFlipout l(3, 2, 3); l(f32({1, 5, 5, 4})); }, Kind::shape, "[1,5,5,4]"},
      {"Convolution strides 0", [] { tfn::ConvolutionVariationalFlipout l(3, 2, 3, tfn::ConvolutionOptions().strides(0)); l(f32({1, 5, 5, 3})); }, Kind::value, "strides"},
      {"Convolution padding", [] { tfn::ConvolutionVariationalFlipout l(3, 2, 3, tfn::ConvolutionOptions().padding("CAUSAL")); l(f32({1, 5, 5, 3})); }, Kind::value, "CAUSAL"},
      {"ConvolutionTranspose strides 2^30", [] { tfn::ConvolutionTransposeVariationalFlipout l(1, 1, 3, tfn::ConvolutionTransposeOptions().strides(1 << 30)); l(f32({1, 4, 4, 1})); }, Kind::shape, "64-bit"},
      {"load a missing file", [] { tfn::Affine l(2, 2); l.load(temp_path("missing.npz")); }, Kind::io, "missing.npz"},
      {"Checkpoint keep_last 0", [] { tfn::Checkpoint c(temp_path("ck"), tfn::CheckpointOptions().keep_last(0)); }, Kind::value, "keep_last"},
      {"Checkpoint empty dir", [] { tfn::Checkpoint c(""); }, Kind::value, "dir"},
      {"Checkpoint restore with none", [] { tfn::Checkpoint c(temp_path("none")); c.restore(); }, Kind::io, "none"},
      {"Checkpoint track a non-leaf", [] { tfn::Checkpoint c(temp_path("ck")); c.track("e", tapir::exp(param32({1}))); }, Kind::value, "'e'"},
  });
}

TEST_CASE("optimizers") {
  const std::vector<Var> ps{param32({2}, "w")};
  g_total += run_cases("optimizers", {
      {"SGD lr -1", [=] { opt::SGD(ps, opt::SGDOptions().learning_rate(-1)); }, Kind::value, "learning_rate"},
      {"SGD lr NaN", [=] { opt::SGD(ps, opt::SGDOptions().learning_rate(NAN)); }, Kind::value, "learning_rate"},
      {"SGD lr Inf", [=] { opt::SGD(ps, opt::SGDOptions().learning_rate(HUGE_VAL)); }, Kind::value, "learning_rate"},
      {"SGD momentum -0.5", [=] { opt::SGD(ps, opt::SGDOptions().momentum(-0.5)); }, Kind::value, "momentum"},
      {"SGD weight_decay -1", [=] { opt::SGD(ps, opt::SGDOptions().weight_decay(-1)); }, Kind::value, "weight_decay"},
      {"SGD nesterov without momentum", [=] { opt::SGD(ps, opt::SGDOptions().nesterov(true)); }, Kind::value, "nesterov"},
      {"Adam lr -1", [=] { opt::Adam(ps, opt::AdamOptions().learning_rate(-1)); }, Kind::value, "learning_rate"},
      {"Adam beta1 1", [=] { opt::Adam(ps, opt::AdamOptions().betas(1.0, 0.999)); }, Kind::value, "beta"},
      {"Adam beta2 -0.1", [=] { opt::Adam(ps, opt::AdamOptions().betas(0.9, -0.1)); }, Kind::value, "beta"},
      {"Adam epsilon -1", [=] { opt::Adam(ps, opt::AdamOptions().epsilon(-1)); }, Kind::value, "epsilon"},
      {"AdamW weight_decay NaN", [=] { opt::AdamW(ps, opt::AdamWOptions().weight_decay(NAN)); }, Kind::value, "weight_decay"},
      {"RMSProp rho 1.5", [=] { opt::RMSProp(ps, opt::RMSPropOptions().rho(1.5)); }, Kind::value, "rho"},
      {"RMSProp momentum -1", [=] { opt::RMSProp(ps, opt::RMSPropOptions().momentum(-1)); }, Kind::value, "momentum"},
      {"Adagrad lr_decay -1", [=] { opt::Adagrad(ps, opt::AdagradOptions().lr_decay(-1)); }, Kind::value, "lr_decay"},
      {"Adagrad initial_accumulator_value -1", [=] { opt::Adagrad(ps, opt::AdagradOptions().initial_accumulator_value(-1)); }, Kind::value, "initial_accumulator_value"},
      {"no parameters", [] { opt::SGD(std::vector<Var>{}); }, Kind::value, "param"},
      {"a constant as parameter", [] { opt::SGD({f32({2})}); }, Kind::value, "param"},
      {"a non-leaf as parameter", [] { opt::SGD({tapir::exp(param32({2}))}); }, Kind::value, "param"},
      {"the same parameter twice", [] { Var w = param32({2}, "w"); opt::SGD({w, w}); }, Kind::value, "'w'"},
      {"non-finite gradient", [] {
         Var w = param32({2}, "w");
         opt::SGD sgd({w});
         backward(tapir::sum(tapir::sqrt(w - 1.0)));  // d sqrt at 0 = Inf
         sgd.step();
       }, Kind::value, "'w'"},
      {"clip_grad_norm -1", [=] { opt::clip_grad_norm(ps, -1); }, Kind::value, "max_norm"},
      {"clip_grad_value NaN", [=] { opt::clip_grad_value(ps, NAN); }, Kind::value, "clip_value"},
      {"step_decay 0", [] { opt::step_decay(0); }, Kind::value, "step_size"},
      {"exponential_decay 0", [] { opt::exponential_decay(0, 0.5); }, Kind::value, "decay_steps"},
      {"cosine_decay -5", [] { opt::cosine_decay(-5); }, Kind::value, "decay_steps"},
      {"halflife_decay 0", [] { opt::halflife_decay(0); }, Kind::value, "half_life"},
      {"load_state_dict empty", [=] { opt::SGD sgd(ps); opt::load_state_dict(sgd, {}); }, Kind::value, "optimizer/kind"},
      {"load_state_dict of Adam into SGD", [=] { opt::Adam adam(ps); opt::SGD sgd(ps); opt::load_state_dict(sgd, opt::state_dict(adam)); }, Kind::value, "Adam"},
      {"load_state missing file", [=] { opt::SGD sgd(ps); opt::load_state(sgd, temp_path("nostate.npz")); }, Kind::io, "nostate.npz"},
  });
}

TEST_CASE("distributions") {
  g_total += run_cases("distributions", {
      {"Normal scale -1 validated", [] { tfd::Normal(0.0, -1.0, DType::float32, true); }, Kind::value, "scale"},
      {"Normal scale 0 validated", [] { tfd::Normal(0.0, 0.0, DType::float32, true); }, Kind::value, "scale"},
      {"Normal scale NaN validated", [] { tfd::Normal(0.0, NAN, DType::float32, true); }, Kind::value, "scale"},
      {"Normal loc/scale shapes", [] { tfd::Normal(f32({2}), f32({3})); }, Kind::shape, "[2]"},
      {"Normal loc/scale dtypes", [] { tfd::Normal(f32({2}), f64({2})); }, Kind::type, "float64"},
      {"Normal log_prob shape", [] { tfd::Normal(f32({2}), f32({2})).log_prob(f32({3})); }, Kind::shape, "[3]"},
      {"Normal log_prob dtype", [] { tfd::Normal(f32({2}), f32({2})).log_prob(f64({2})); }, Kind::type, "float64"},
      {"Normal sample huge shape", [] { tfd::Normal(f32({2}), f32({2})).sample({kHuge}, SeedStream(1, "s").next()); }, Kind::shape, "would need"},
      {"Normal sample wrapping shape", [] { tfd::Normal(0.0, 1.0).sample({1ull << 32, 1ull << 32}, SeedStream(1, "s").next()); }, Kind::shape, "4294967296"},
      {"LogitNormal scale -1 validated", [] { tfd::LogitNormal(0.0, -1.0, DType::float32, true); }, Kind::value, "scale"},
      {"Categorical probs validated", [] { tfd::Categorical(tfd::Probs{f32({3}, 0.5)}, true); }, Kind::value, "probs"},
      {"Categorical probs negative validated", [] { tfd::Categorical(tfd::Probs{constant(Tensor::from_vector<float>({2}, {1.5f, -0.5f}))}, true); }, Kind::value, "probs"},
      {"Categorical scalar logits", [] { tfd::Categorical(tfd::Logits{f32({})}); }, Kind::shape, "[]"},
      {"Categorical log_prob shape", [] { tfd::Categorical(tfd::Logits{f32({4, 3})}).log_prob(f32({5})); }, Kind::shape, "[5]"},
      {"Bernoulli probs > 1 validated", [] { tfd::Bernoulli(tfd::Probs{f32({2}, 1.5)}, true); }, Kind::value, "probs"},
      {"Bernoulli log_prob shape", [] { tfd::Bernoulli(tfd::Logits{f32({2})}).log_prob(f32({3})); }, Kind::shape, "[3]"},
      {"Independent too many dims", [] { tfd::Independent(std::make_shared<tfd::Normal>(f32({2}), f32({2})), 3); }, Kind::value, "reinterpreted_batch_ndims"},
      {"Sample huge sample_shape", [] { tfd::Sample(std::make_shared<tfd::Normal>(0.0, 1.0), {kHuge, 4}).sample({}, SeedStream(1, "s").next()); }, Kind::shape, "would need"},
      {"MixtureSameFamily component count", [] {
         tfd::MixtureSameFamily(std::make_shared<tfd::Categorical>(tfd::Probs{f32({3}, 1.0 / 3)}),
                                std::make_shared<tfd::Normal>(f32({2}), f32({2})));
       }, Kind::shape, "3 mixture categories"},
      {"kl without closed form", [] {
         tfd::kl_divergence(tfd::Bernoulli(tfd::Logits{f32({2})}), tfd::Normal(f32({2}), f32({2})));
       }, Kind::not_implemented, "Bernoulli"},
      {"Rademacher huge sample", [] { random::rademacher({kHuge}, DType::float32, SeedStream(1, "s").next()); }, Kind::shape, "would need"},
      {"random::normal wrapping shape", [] { random::normal({1ull << 32, 1ull << 32}, DType::float32, SeedStream(1, "s").next()); }, Kind::shape, "4294967296"},
  });
}

TEST_CASE("loaders") {
  const std::string dir = "/tmp";
  g_total += run_cases("loaders", {
      {"load_npy /dev/zero", [] { io::load_npy("/dev/zero"); }, Kind::io, "/dev/zero"},
      {"load_npy lying header, long file", [] { io::load_npy(write_temp("long.npy", npy("(2,)", std::string(100000, 'x')))); }, Kind::io, "continues past the 8 bytes"},
      {"load_npy missing", [] { io::load_npy(temp_path("missing.npy")); }, Kind::io, "missing.npy"},
      {"load_npz missing", [] { io::load_npz(temp_path("missing.npz")); }, Kind::io, "missing.npz"},
      {"load_npz not a zip", [] { io::load_npz(write_temp("notzip.npz", "hello")); }, Kind::io, "notzip.npz"},
      {"load_npz empty file", [] { io::load_npz(write_temp("empty.npz", "")); }, Kind::io, "empty.npz"},
      {"parse_npy empty", [] { io::parse_npy("", "'e.npy'"); }, Kind::io, "'e.npy'"},
      {"parse_npy bad magic", [] { io::parse_npy("\x93NUMPZ\x01\x00\x00\x00", "'m.npy'"); }, Kind::io, "bad magic"},
      {"parse_npy version 9", [] { io::parse_npy(std::string("\x93NUMPY\x09\x00\x00\x00", 10), "'v.npy'"); }, Kind::io, "version 9"},
      {"parse_npy header length beyond file", [] { io::parse_npy(std::string("\x93NUMPY\x01\x00\xff\xff", 10), "'h.npy'"); }, Kind::io, "truncated"},
      {"parse_npy v3 4 GiB header", [] { io::parse_npy(std::string("\x93NUMPY\x03\x00\xff\xff\xff\xff", 12), "'h.npy'"); }, Kind::io, "truncated"},
      {"parse_npy 686018427 rows, no data", [] { io::parse_npy(npy("(1, 686018427, 4)"), "'big.npy'"); }, Kind::io, "field 'shape'"},
      {"parse_npy 2^62 x 4", [] { io::parse_npy(npy("(4611686018427387904, 4)"), "'w.npy'"); }, Kind::io, "field 'shape'"},
      {"parse_npy 20-digit dim", [] { io::parse_npy(npy("(99999999999999999999,)"), "'d.npy'"); }, Kind::io, "64 bits"},
      {"parse_npy negative dim", [] { io::parse_npy(npy("(-1,)"), "'n.npy'"); }, Kind::io, "field 'shape'"},
      {"parse_npy rank 7", [] { io::parse_npy(npy("(1, 1, 1, 1, 1, 1, 1)"), "'r.npy'"); }, Kind::io, "rank"},
      {"parse_npy int32", [] { io::parse_npy(npy("(2,)", "", "<i4"), "'i.npy'"); }, Kind::io, "field 'descr'"},
      {"parse_npy big-endian", [] { io::parse_npy(npy("(2,)", "", ">f4"), "'b.npy'"); }, Kind::io, "field 'descr'"},
      {"parse_npy extra data", [] { io::parse_npy(npy("(1,)", std::string(8, '\0')), "'x.npy'"); }, Kind::io, "the file holds 8"},
      {"parse_npy short data", [] { io::parse_npy(npy("(4,)", std::string(8, '\0')), "'x.npy'"); }, Kind::io, "declares 16"},
      {"parse_npy no shape", [] { io::parse_npy(std::string("\x93NUMPY\x01\x00\x04\x00{}  ", 14), "'s.npy'"); }, Kind::io, "'descr'"},
      {"read_idx missing", [] { data::read_idx(temp_path("missing.idx")); }, Kind::io, "missing.idx"},
      {"read_idx wrong magic", [] { data::read_idx(write_temp("magic.idx", std::string("\x01\x00\x08\x01", 4) + be32(1) + "x")); }, Kind::io, "magic"},
      {"read_idx float type", [] { data::read_idx(write_temp("type.idx", std::string("\x00\x00\x0d\x01", 4) + be32(1) + "xxxx")); }, Kind::io, "0x0D"},
      {"read_idx truncated dims", [] { data::read_idx(write_temp("dims.idx", std::string("\x00\x00\x08\x03", 4) + be32(1))); }, Kind::io, "dimension 1"},
      {"read_idx declared beyond the limit", [] { data::read_idx(write_temp("huge.idx", std::string("\x00\x00\x08\x03", 4) + be32(60000) + be32(60000) + be32(60000))); }, Kind::io, "limit"},
      {"read_idx dims overflow", [] { data::read_idx(write_temp("ovf.idx", std::string("\x00\x00\x08\x03", 4) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF))); }, Kind::io, "overflow"},
      {"read_idx truncated data", [] { data::read_idx(write_temp("short.idx", std::string("\x00\x00\x08\x01", 4) + be32(10) + "abc")); }, Kind::io, "truncated data"},
      {"read_idx trailing data", [] { data::read_idx(write_temp("long.idx", std::string("\x00\x00\x08\x01", 4) + be32(2) + "abc")); }, Kind::io, "continues past"},
      {"load_idx_dataset missing", [] { data::load_idx_dataset(temp_path("a.idx"), temp_path("b.idx")); }, Kind::io, "a.idx"},
      {"Dataset labels count", [] { data::Dataset(Tensor::zeros({3, 2, 2}, DType::float32), {1, 2}); }, Kind::shape, "2 labels"},
      {"DataLoader batch 0", [] { data::DataLoader(data::Dataset(Tensor::zeros({3, 2, 2}, DType::float32), {0, 1, 2}), 0); }, Kind::value, "batch_size"},
  });
}

TEST_CASE("the catalogue holds at least 150 cases") {
  // doctest runs test cases in file order, so every table above has been counted by now
  CHECK(g_total >= 150);
  MESSAGE("hostile cases: " << g_total);
}

}  // TEST_SUITE
