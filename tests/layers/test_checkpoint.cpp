// tfn::Checkpoint: one file per checkpoint, everything restored exactly, foreign checkpoints
// refused with what differs and without changing anything.
#include "../testing.hpp"

#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace tapir;
namespace tfn = tapir::nn;
namespace opt = tapir::optim;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() : path("/tmp/tapir_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++)) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() { static int c = 0; return c; }
};

// A small Bayesian model, an Adam over it and a loss; `width` changes the shapes.
struct Run {
  std::shared_ptr<tfn::AffineVariationalFlipout> l1;
  std::shared_ptr<tfn::AffineVariationalFlipout> l2;
  std::shared_ptr<tfn::Sequential> model;
  Var scale = parameter(Tensor::full({1}, DType::float32, 0.5), "scale");
  std::unique_ptr<opt::Adam> adam;
  explicit Run(std::size_t width = 4, const std::string& second = "b") {
    l1 = std::make_shared<tfn::AffineVariationalFlipout>(3, width, tfn::AffineOptions().name("a").seed(1));
    l2 = std::make_shared<tfn::AffineVariationalFlipout>(width, 2, tfn::AffineOptions().name(second).seed(2));
    model = std::make_shared<tfn::Sequential>(l1, [](const Var& x) { return tapir::relu(x); }, l2);
    std::vector<Var> params = model->trainable_variables();
    params.push_back(scale);
    adam = std::make_unique<opt::Adam>(params, opt::AdamOptions().learning_rate(1e-2));
  }
  double step(std::uint64_t i) {
    Var x = constant(testing::random_tensor({5, 3}, 100 + i, -1, 1, DType::float32));
    Var fit = tapir::mean(tapir::square((*model)(x) * scale));  // the call first: it draws the KL
    Var loss = fit + tfn::losses::compute_extra_loss(*model) * 1e-3;
    adam->zero_grad();
    backward(loss);
    adam->step();
    return loss.item();
  }
};

std::vector<Tensor> values_of(const Run& r) {
  std::vector<Tensor> out;
  for (const Var& v : r.model->variables()) out.push_back(v.value().clone());
  out.push_back(r.scale.value().clone());
  return out;
}

bool same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || std::memcmp(a[i].raw_data(), b[i].raw_data(), a[i].nbytes()) != 0) return false;
  return true;
}

}  // namespace

TEST_SUITE("layers/checkpoint") {

TEST_CASE("save then restore continues bit-identically: variables, optimizer, draws, extra Vars, user entries") {
  TempDir dir;
  Run straight;
  std::vector<double> straight_losses;
  for (std::uint64_t i = 0; i < 6; ++i) straight_losses.push_back(straight.step(i));

  Run first;
  tfn::Checkpoint ck(dir.path);
  ck.track(*first.model).track(*first.adam).track("likelihood_scale", first.scale);
  std::vector<double> losses;
  for (std::uint64_t i = 0; i < 3; ++i) losses.push_back(first.step(i));
  const std::string path = ck.save(3, {{"loss", tfn::Checkpoint::history(losses)}});
  CHECK(fs::path(path).filename() == "ckpt-00000000000000000003.npz");
  CHECK(ck.exists());

  Run resumed;  // a fresh process: same construction, nothing trained
  tfn::Checkpoint ck2(dir.path);
  ck2.track(*resumed.model).track(*resumed.adam).track("likelihood_scale", resumed.scale);
  const tfn::RestoredCheckpoint r = ck2.restore();
  CHECK(r.step == 3);
  CHECK(r.path == path);
  CHECK(r.vector("loss") == losses);
  CHECK_THROWS_WITH_AS(r.get("nope"), doctest::Contains("no user entry 'nope'"), IOError);
  CHECK(resumed.l1->seed_stream().counter() == first.l1->seed_stream().counter());
  CHECK(resumed.adam->step_count() == 3);
  CHECK(same_bits(values_of(resumed), values_of(first)));
  for (std::uint64_t i = 3; i < 6; ++i) losses.push_back(resumed.step(i));
  CHECK(losses == straight_losses);
  CHECK(same_bits(values_of(resumed), values_of(straight)));
}

TEST_CASE("keeps the newest keep_last checkpoints and ignores or cleans leftovers of killed writers") {
  TempDir dir;
  Run run;
  tfn::Checkpoint ck(dir.path, tfn::CheckpointOptions().keep_last(2));
  ck.track(*run.model).track(*run.adam);
  fs::create_directories(dir.path);
  std::ofstream(dir.path + "/ckpt-00000000000000000009.npz.tmp.12345") << "half a file";
  for (std::uint64_t s = 1; s <= 5; ++s) ck.save(s);
  const auto all = ck.list();
  REQUIRE(all.size() == 2);
  CHECK(fs::path(all[0]).filename() == "ckpt-00000000000000000004.npz");
  CHECK(fs::path(all[1]).filename() == "ckpt-00000000000000000005.npz");
  CHECK(!fs::exists(dir.path + "/ckpt-00000000000000000009.npz.tmp.12345"));
  CHECK(ck.restore().step == 5);
  CHECK_THROWS_AS(tfn::Checkpoint(dir.path, tfn::CheckpointOptions().keep_last(0)), ValueError);
}

TEST_CASE("no checkpoint, a corrupt one, or a foreign one: typed errors naming what differs, nothing changed") {
  TempDir dir;
  Run run;
  run.step(0);
  tfn::Checkpoint ck(dir.path);
  ck.track(*run.model).track(*run.adam).track("likelihood_scale", run.scale);
  CHECK_THROWS_WITH_AS(ck.restore(), doctest::Contains(dir.path.c_str()), IOError);
  const std::string path = ck.save(1);

  SUBCASE("another width: ShapeError naming the variable") {
    Run other(5);
    const auto before = values_of(other);
    tfn::Checkpoint c(dir.path);
    c.track(*other.model).track(*other.adam).track("likelihood_scale", other.scale);
    CHECK_THROWS_WITH_AS(c.restore(), doctest::Contains("variable 'a/kernel_loc' has shape [3,5]"), ShapeError);
    CHECK(same_bits(values_of(other), before));
    CHECK(other.adam->step_count() == 0);
  }
  SUBCASE("another layer name: IOError naming the missing variable") {
    Run other(4, "c");
    const auto before = values_of(other);
    tfn::Checkpoint c(dir.path);
    c.track(*other.model).track(*other.adam).track("likelihood_scale", other.scale);
    CHECK_THROWS_WITH_AS(c.restore(), doctest::Contains("lacks the variable 'c/"), IOError);
    CHECK(same_bits(values_of(other), before));
  }
  SUBCASE("another optimizer: ValueError naming both kinds; the model is left as it was") {
    Run other;
    const auto before = values_of(other);
    opt::SGD sgd(other.model->trainable_variables());
    tfn::Checkpoint c(dir.path);
    c.track(*other.model).track(sgd).track("likelihood_scale", other.scale);
    CHECK_THROWS_WITH_AS(c.restore(), doctest::Contains("holds Adam state; this optimizer is SGD"), ValueError);
    CHECK(same_bits(values_of(other), before));
  }
  SUBCASE("an untracked extra Var: IOError naming the entry") {
    Run other;
    tfn::Checkpoint c(dir.path);
    c.track(*other.model).track(*other.adam);
    CHECK_THROWS_WITH_AS(c.restore(), doctest::Contains("var/likelihood_scale"), IOError);
  }
  SUBCASE("a missing optimizer: IOError") {
    Run other;
    tfn::Checkpoint c(dir.path);
    c.track(*other.model).track("likelihood_scale", other.scale);
    CHECK_THROWS_WITH_AS(c.restore(), doctest::Contains("no optimizer is tracked"), IOError);
  }
  SUBCASE("a truncated file: IOError naming it") {
    const auto size = fs::file_size(path);
    fs::resize_file(path, size / 2);
    Run other;
    tfn::Checkpoint c(dir.path);
    c.track(*other.model).track(*other.adam).track("likelihood_scale", other.scale);
    CHECK_THROWS_WITH_AS(c.restore(), doctest::Contains(path.c_str()), IOError);
  }
}

TEST_CASE("tracking mistakes are ValueErrors") {
  TempDir dir;
  Run run;
  tfn::Checkpoint ck(dir.path);
  ck.track("s", run.scale);
  CHECK_THROWS_WITH_AS(ck.track("s", run.scale), doctest::Contains("already tracked"), ValueError);
  CHECK_THROWS_AS(ck.track("t", run.scale * 2.0), ValueError);
  CHECK_THROWS_AS(ck.track("", run.scale), ValueError);
  opt::SGD sgd({run.scale});
  ck.track(*run.adam);
  CHECK_THROWS_WITH_AS(ck.track(sgd), doctest::Contains("already tracked"), ValueError);
  CHECK_THROWS_AS(tfn::Checkpoint(""), ValueError);
  // the same model twice would save every variable twice
  tfn::Checkpoint twice(dir.path);
  twice.track(*run.model).track(*run.model);
  CHECK_THROWS_WITH_AS(twice.save(1), doctest::Contains("both named"), ValueError);
}

}  // TEST_SUITE
