// An in-memory labelled data set (images + integer class labels) and the Fashion-MNIST loader.
// A Dataset is cheap to copy: the image Tensor shares its buffer, so a DataLoader or a training
// loop can hold its own copy without duplicating 180 MB of pixels.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <tapir/core/tensor.hpp>

namespace tapir::data {

/// Where Debian's `dataset-fashion-mnist` package installs the gzip IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

enum class Split { train, test };

class Dataset {
 public:
  Dataset() = default;
  /// `images` has the examples along axis 0 (e.g. [N, 28, 28, 1]); `labels` has N entries.
  /// Throws ShapeError when the counts differ and ValueError for negative labels.
  Dataset(Tensor images, std::vector<int> labels);

  std::size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  const Tensor& images() const { return images_; }
  const std::vector<int>& labels() const { return labels_; }
  /// Shape of one example (images' shape without axis 0).
  Shape example_shape() const;
  /// 1 + the largest label (0 for an empty data set).
  int num_classes() const;

  /// The first `n` examples (n <= size(), else ValueError). Take a random subset with
  /// `shuffled(seed).subset(n)`.
  Dataset subset(std::size_t n) const;
  /// Examples [begin, end) (e.g. a validation split off the end of the training set).
  Dataset slice(std::size_t begin, std::size_t end) const;
  /// Examples at `indices`, in that order (repeats allowed).
  Dataset gather(const std::vector<std::size_t>& indices) const;
  /// All examples in a seeded random order (the same permutation as DataLoader's epoch 0).
  Dataset shuffled(std::uint64_t seed) const;

 private:
  Tensor images_;
  std::vector<int> labels_;
};

/// Images from an unsigned-byte IDX file of rank 3 [N, H, W] become float32 [N, H, W, 1]
/// scaled to [0, 1] (pixel / 255); labels come from a rank-1 IDX file. Throws IOError naming
/// the files when a rank is wrong or the image and label counts differ.
Dataset load_idx_dataset(const std::string& images_path, const std::string& labels_path);

/// Fashion-MNIST's 60000 training or 10000 test examples from `data_dir` (default: Debian's
/// location). Besides load_idx_dataset's checks, requires 28x28 images and labels in 0..9.
Dataset load_fashion_mnist(Split split, const std::string& data_dir = kFashionMnistDir);

/// "T-shirt/top", "Trouser", ..., "Ankle boot" — index = label.
const std::array<const char*, 10>& fashion_mnist_class_names();

/// [labels.size(), num_classes] with a 1 at (i, labels[i]); ValueError for a label outside
/// [0, num_classes).
Tensor one_hot(const std::vector<int>& labels, std::size_t num_classes,
               DType dtype = DType::float32);

}  // namespace tapir::data
