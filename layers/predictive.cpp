#include <tapir/layers/predictive.hpp>

#include <algorithm>
#include <vector>

#include <tapir/layers/dropout.hpp>

namespace tapir::nn::predictive {

namespace {

// Sets the model to inference mode (Dropout optionally kept training) and restores every
// layer's previous mode on destruction.
class InferenceMode {
 public:
  InferenceMode(Layer& model, bool mc_dropout) {
    layers_.push_back(&model);
    for (const auto& m : model.submodules()) layers_.push_back(m.get());
    for (Layer* l : layers_) saved_.push_back(l->training());
    model.eval();
    if (mc_dropout)
      for (Layer* l : layers_)
        if (dynamic_cast<Dropout*>(l)) l->train(true);
  }
  ~InferenceMode() {
    // train() also sets the submodules, and layers_ lists parents before their children, so
    // restoring in order leaves every layer with its own saved mode
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->train(saved_[i]);
  }
  InferenceMode(const InferenceMode&) = delete;
  InferenceMode& operator=(const InferenceMode&) = delete;

 private:
  std::vector<Layer*> layers_;
  std::vector<bool> saved_;
};

Tensor rows(const Tensor& x, std::size_t begin, std::size_t end) {
  Shape s = x.shape();
  const std::size_t per_row = x.size() / s[0];
  s[0] = end - begin;
  Tensor out = Tensor::empty(s, x.dtype());
  if (x.dtype() == DType::float32)
    std::copy(x.data<float>() + begin * per_row, x.data<float>() + end * per_row, out.data<float>());
  else
    std::copy(x.data<double>() + begin * per_row, x.data<double>() + end * per_row, out.data<double>());
  return out;
}

void write(Tensor& t, std::size_t i, double v) {
  if (t.dtype() == DType::float32) t.data<float>()[i] = static_cast<float>(v);
  else t.data<double>()[i] = v;
}

}  // namespace

MonteCarloResult monte_carlo(Layer& model, const Tensor& inputs, std::size_t num_samples,
                             const MonteCarloOptions& options) {
  if (num_samples == 0) throw ValueError("monte_carlo: num_samples must be >= 1, got 0");
  if (options.batch_size() == 0) throw ValueError("monte_carlo: batch_size must be >= 1, got 0");
  if (!inputs.defined() || inputs.ndim() == 0 || inputs.shape()[0] == 0)
    throw ShapeError("monte_carlo: inputs need a non-empty batch axis 0, got " +
                     (inputs.defined() ? shape_str(inputs.shape()) : std::string("undefined")));
  NoGradGuard no_grad;
  InferenceMode mode(model, options.mc_dropout());
  const std::size_t n = inputs.shape()[0];
  MonteCarloResult r;
  std::vector<double> mean, m2;  // Welford, over the whole output
  std::size_t per_row = 0;
  Shape out_shape;
  DType out_dtype = inputs.dtype();
  for (std::size_t begin = 0; begin < n; begin += options.batch_size()) {
    const std::size_t end = std::min(n, begin + options.batch_size());
    const Var x = constant(rows(inputs, begin, end));
    for (std::size_t s = 0; s < num_samples; ++s) {
      Var y = model(x);
      if (options.transform()) y = options.transform()(y);
      const Tensor& v = y.value();
      if (v.ndim() == 0 || v.shape()[0] != end - begin)
        throw ShapeError("monte_carlo: the model's output " + shape_str(v.shape()) + " has no batch axis of " +
                         std::to_string(end - begin) + " rows");
      if (out_shape.empty()) {
        out_shape = v.shape();
        out_shape[0] = n;
        per_row = v.size() / (end - begin);
        out_dtype = v.dtype();
        mean.assign(n * per_row, 0.0);
        m2.assign(n * per_row, 0.0);
        if (options.keep_samples()) {
          Shape ss{num_samples};
          ss.insert(ss.end(), out_shape.begin(), out_shape.end());
          r.samples = Tensor::empty(ss, out_dtype);
        }
      }
      const std::size_t off = begin * per_row;
      const double k = static_cast<double>(s + 1);
      for (std::size_t i = 0; i < v.size(); ++i) {
        const double value = v.at(i), delta = value - mean[off + i];
        mean[off + i] += delta / k;
        m2[off + i] += delta * (value - mean[off + i]);
        if (options.keep_samples()) write(r.samples, s * n * per_row + off + i, value);
      }
    }
  }
  r.mean = Tensor::empty(out_shape, out_dtype);
  r.variance = Tensor::empty(out_shape, out_dtype);
  for (std::size_t i = 0; i < mean.size(); ++i) {
    write(r.mean, i, mean[i]);
    write(r.variance, i, m2[i] / static_cast<double>(num_samples));
  }
  return r;
}

}  // namespace tapir::nn::predictive
