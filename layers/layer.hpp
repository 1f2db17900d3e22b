// tfn::Layer: the base of every module in tapir::nn (TFP's `tfp.experimental.nn.Layer`, a
// tf.Module). A layer owns variables (leaf Vars, named "<layer>/<variable>") and may hold
// sub-layers; `variables()` lists its own first, then its submodules', each once.
//
// Names: a layer built without a name gets its class name; when a process builds several layers
// of one class without names, the second is "<Class>_1", the third "<Class>_2", ... (Keras'
// rule). Names given explicitly are kept as given. The name salts the layer's random stream
// (SeedStream(seed, name)), so two layers with the same seed but different names draw
// independent numbers.
//
// Layers are held by std::shared_ptr (Sequential shares them); they are not copyable.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <tapir/core/random.hpp>
#include <tapir/core/var.hpp>

namespace tapir::nn {

class Layer : public std::enable_shared_from_this<Layer> {
 public:
  /// `name` empty: `default_name(class_name)`.
  Layer(const std::string& class_name, const std::string& name, bool validate_args = false);
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  /// The forward pass.
  virtual Var operator()(const Var& x) = 0;

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  bool validate_args() const { return validate_args_; }

  /// Direct children, in registration order.
  const std::vector<std::shared_ptr<Layer>>& children() const { return children_; }
  /// All sub-modules, depth first (TFP: a.submodules == [b, c] for a.b = b, b.c = c).
  std::vector<std::shared_ptr<Layer>> submodules() const;
  /// Variables of this layer and of its submodules, each once, own ones first.
  std::vector<Var> variables() const;
  std::vector<Var> trainable_variables() const;      ///< those that require gradients
  std::vector<Var> non_trainable_variables() const;  ///< the others

  /// Divergence terms of the last forward pass of this layer and its submodules (empty before
  /// the first call); each is a scalar Var still connected to the graph of that call.
  std::vector<Var> losses() const;
  /// This layer's own divergence terms of its last call (what a subclass left in own_losses_).
  const std::vector<Var>& own_losses() const { return own_losses_; }

  /// Training or inference mode, for this layer and every submodule (PyTorch's train()/eval()):
  /// Dropout drops and BatchNormalization uses batch statistics (and updates its running ones)
  /// only in training mode. Variational layers sample in both modes. New layers start training.
  void train(bool training = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  /// The layer's counter-based random stream if it draws numbers (variational layers, Dropout),
  /// else null. Checkpoints save and restore its counter so a resumed run draws what an
  /// uninterrupted one would.
  virtual SeedStream* random_stream() { return nullptr; }

  /// A text table: one row per variable (name, shape, dtype, count, trainable), then totals.
  std::string summary() const;

  /// Saves every variable to one .npz (keys = variable names), atomically.
  void save(const std::string& path) const;
  /// Loads the variables saved by `save`. The file must hold exactly this layer's variable names
  /// with the same shapes and dtypes; otherwise IOError (unreadable/corrupt file, missing or extra
  /// names) or ShapeError/TypeError (shape or dtype mismatch) is thrown and no variable changes.
  void load(const std::string& path);

  /// "<Class>", "<Class>_1", ... — the next free default name for `class_name` in this process.
  static std::string default_name(const std::string& class_name);

 protected:
  /// Registers an own variable (its Var name should be "<layer name>/<what>").
  const Var& add_variable(const Var& v);
  void add_child(std::shared_ptr<Layer> child);
  /// "ClassName 'name'" — how error messages introduce this layer.
  std::string who() const { return class_name_ + " '" + name_ + "'"; }

  /// A layer with divergence terms replaces these in every forward pass; losses() and
  /// losses::compute_extra_loss collect them (docs/semantics/variational_layers.md).
  std::vector<Var> own_losses_;

 private:
  std::string class_name_, name_;
  bool validate_args_ = false;
  bool training_ = true;
  std::vector<Var> own_variables_;
  std::vector<std::shared_ptr<Layer>> children_;
};

}  // namespace tapir::nn
