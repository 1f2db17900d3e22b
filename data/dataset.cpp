#include <tapir/data/dataset.hpp>

#include <algorithm>
#include <cstring>

#include <tapir/core/error.hpp>

#include <tapir/data/idx.hpp>
#include <tapir/data/loader.hpp>

namespace tapir::data {

namespace {
std::size_t row_bytes(const Tensor& images) {
  return images.ndim() == 0 || images.dim(0) == 0 ? 0 : images.nbytes() / images.dim(0);
}
}  // namespace

Dataset::Dataset(Tensor images, std::vector<int> labels)
    : images_(std::move(images)), labels_(std::move(labels)) {
  if (!images_.defined() || images_.ndim() == 0)
    throw ShapeError("Dataset: images need an example axis 0, got " +
                     std::string(images_.defined() ? "shape " + shape_str(images_.shape())
                                                   : "an undefined tensor"));
  if (images_.dim(0) != labels_.size())
    throw ShapeError("Dataset: images " + shape_str(images_.shape()) + " hold " +
                     std::to_string(images_.dim(0)) + " examples but there are " +
                     std::to_string(labels_.size()) + " labels");
  for (std::size_t i = 0; i < labels_.size(); ++i)
    if (labels_[i] < 0)
      throw ValueError("Dataset: label " + std::to_string(i) + " is " +
                       std::to_string(labels_[i]) + ", labels must be >= 0");
}

Shape Dataset::example_shape() const {
  if (!images_.defined()) return {};
  return Shape(images_.shape().begin() + 1, images_.shape().end());
}

int Dataset::num_classes() const {
  return labels_.empty() ? 0 : *std::max_element(labels_.begin(), labels_.end()) + 1;
}

Dataset Dataset::subset(std::size_t n) const {
  if (n > size())
    throw ValueError("Dataset::subset: n=" + std::to_string(n) + " exceeds the data set's " +
                     std::to_string(size()) + " examples");
  return slice(0, n);
}

Dataset Dataset::slice(std::size_t begin, std::size_t end) const {
  if (begin > end || end > size())
    throw ValueError("Dataset::slice: [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") is not a range within the data set's " + std::to_string(size()) +
                     " examples");
  Shape shape = images_.shape();
  shape[0] = end - begin;
  Tensor out = Tensor::empty(shape, images_.dtype());
  const std::size_t rb = row_bytes(images_);
  if (rb * (end - begin) > 0)
    std::memcpy(out.raw_data(), static_cast<const char*>(images_.raw_data()) + begin * rb,
                rb * (end - begin));
  return Dataset(out, std::vector<int>(labels_.begin() + begin, labels_.begin() + end));
}

Dataset Dataset::gather(const std::vector<std::size_t>& indices) const {
  Shape shape = images_.shape();
  shape[0] = indices.size();
  Tensor out = Tensor::empty(shape, images_.dtype());
  std::vector<int> labels(indices.size());
  const std::size_t rb = row_bytes(images_);
  const char* src = static_cast<const char*>(images_.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= size())
      throw ValueError("Dataset::gather: index " + std::to_string(indices[i]) + " (position " +
                       std::to_string(i) + ") is out of range for " + std::to_string(size()) +
                       " examples");
    if (rb) std::memcpy(dst + i * rb, src + indices[i] * rb, rb);
    labels[i] = labels_[indices[i]];
  }
  return Dataset(out, std::move(labels));
}

Dataset Dataset::shuffled(std::uint64_t seed) const {
  return gather(shuffled_indices(size(), seed, 0));
}

Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path) {
  const IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);
  if (images.shape.size() != 3)
    throw IOError("IDX images '" + images_path + "': expected rank 3 [N, H, W], header has " +
                  shape_str(images.shape));
  if (labels.shape.size() != 1)
    throw IOError("IDX labels '" + labels_path + "': expected rank 1 [N], header has " +
                  shape_str(labels.shape));
  if (images.shape[0] != labels.shape[0])
    throw IOError("IDX images '" + images_path + "' hold " + std::to_string(images.shape[0]) +
                  " images " + shape_str(images.shape) + " but labels '" + labels_path +
                  "' hold " + std::to_string(labels.shape[0]) + " labels");
  const std::size_t n = images.shape[0], h = images.shape[1], w = images.shape[2];
  Tensor t = Tensor::empty({n, h, w, 1}, DType::float32);
  float* p = t.data<float>();
  for (std::size_t i = 0; i < images.values.size(); ++i)
    p[i] = static_cast<float>(images.values[i]) / 255.0f;
  return Dataset(t, std::vector<int>(labels.values.begin(), labels.values.end()));
}

Dataset load_fashion_mnist(Split split, const std::string& data_dir) {
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::string images_path = data_dir + "/" + prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = data_dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  Dataset ds = load_idx_dataset(images_path, labels_path);
  if (ds.example_shape() != Shape{28, 28, 1})
    throw IOError("Fashion-MNIST images '" + images_path + "': expected 28x28 images, got " +
                  shape_str(ds.images().shape()));
  for (std::size_t i = 0; i < ds.size(); ++i)
    if (ds.labels()[i] > 9)
      throw IOError("Fashion-MNIST labels '" + labels_path + "': label " + std::to_string(i) +
                    " is " + std::to_string(ds.labels()[i]) + ", expected 0..9");
  return ds;
}

const std::array<const char*, 10>& fashion_mnist_class_names() {
  static const std::array<const char*, 10> names = {"T-shirt/top", "Trouser", "Pullover",
                                                    "Dress",       "Coat",    "Sandal",
                                                    "Shirt",       "Sneaker", "Bag",
                                                    "Ankle boot"};
  return names;
}

Tensor one_hot(const std::vector<int>& labels, std::size_t num_classes, DType dtype) {
  Tensor out(Shape{labels.size(), num_classes}, DType::float64);
  double* p = out.data<double>();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= num_classes)
      throw ValueError("one_hot: label " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                       ", expected 0.." + std::to_string(num_classes) + "-1 (num_classes=" +
                       std::to_string(num_classes) + ")");
    p[i * num_classes + static_cast<std::size_t>(labels[i])] = 1.0;
  }
  return dtype == DType::float64 ? out : out.astype(dtype);
}

}  // namespace tapir::data
