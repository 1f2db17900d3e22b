#include "../testing.hpp"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>

#include <unistd.h>

using namespace tapir;
using data::Dataset;

namespace {

// A fresh folder under /tmp, removed with its files at the end of the test case.
struct TempDir {
  std::string path;
  std::vector<std::string> files;
  TempDir() {
    char tmpl[] = "/tmp/tapir_idx_XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    for (const auto& f : files) std::remove(f.c_str());
    ::rmdir(path.c_str());
  }
  std::string file(const std::string& name) {
    files.push_back(path + "/" + name);
    return files.back();
  }
};

std::string be32(std::uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

// IDX bytes: magic {0, 0, type, rank}, big-endian dims, then `values`.
std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& values,
                      std::uint8_t type = 0x08) {
  std::string s = {0, 0, char(type), char(dims.size())};
  for (auto d : dims) s += be32(d);
  s.append(values.begin(), values.end());
  return s;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

// doctest::Contains takes a C string; messages here embed run-time paths.
doctest::Contains has(const std::string& s) { return doctest::Contains(s.c_str()); }

std::vector<std::uint8_t> ramp(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 7 % 256);
  return v;
}

}  // namespace

TEST_SUITE("data/idx") {

TEST_CASE("reads a gzip IDX file: shape and values") {
  TempDir dir;
  const std::string path = dir.file("img.gz");
  write_gz(path, idx_bytes({3, 2, 4}, ramp(24)));
  const data::IdxArray a = data::read_idx(path);
  CHECK(a.shape == std::vector<std::size_t>{3, 2, 4});
  CHECK(a.values == ramp(24));
}

TEST_CASE("reads an uncompressed IDX file too") {
  TempDir dir;
  const std::string path = dir.file("plain.idx");
  const std::string bytes = idx_bytes({5}, {0, 1, 2, 3, 9});
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  CHECK(data::read_idx(path).values == std::vector<std::uint8_t>{0, 1, 2, 3, 9});
}

TEST_CASE("load_idx_dataset scales pixels to [0,1] float32 [N,H,W,1]") {
  TempDir dir;
  const std::string img = dir.file("i.gz"), lab = dir.file("l.gz");
  write_gz(img, idx_bytes({2, 2, 3}, {0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 6}));
  write_gz(lab, idx_bytes({2}, {7, 3}));
  const Dataset ds = data::load_idx_dataset(img, lab);
  CHECK(ds.size() == 2);
  CHECK(ds.images().shape() == Shape{2, 2, 3, 1});
  CHECK(ds.images().dtype() == DType::float32);
  CHECK(ds.images().at(0) == 0.0);
  CHECK(ds.images().at(1) == 1.0);
  CHECK(ds.images().at(2) == doctest::Approx(0.2));
  CHECK(ds.images().at(11) == doctest::Approx(6.0 / 255));
  CHECK(ds.labels() == std::vector<int>{7, 3});
}

TEST_CASE("wrong magic is an IOError naming the file") {
  TempDir dir;
  const std::string path = dir.file("magic.gz");
  std::string bytes = idx_bytes({2}, {1, 2});
  bytes[0] = 0x12;
  write_gz(path, bytes);
  CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("magic.gz"), IOError);
  CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("wrong magic number 0x12000801"), IOError);
  // a non-ubyte element type is refused by name
  write_gz(path, idx_bytes({2}, {1, 2}, 0x0D));
  CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("0x0D (float32)"), IOError);
  // rank 0
  write_gz(path, std::string{0, 0, 8, 0});
  CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("wrong magic"), IOError);
}

TEST_CASE("truncated files are IOErrors naming the file") {
  TempDir dir;
  const std::string path = dir.file("trunc.gz");
  SUBCASE("data shorter than the header declares") {
    write_gz(path, idx_bytes({4, 3}, ramp(10)));
    CHECK_THROWS_WITH_AS(data::read_idx(path),
                         has("'" + path + "': truncated data: header [4,3] declares 12 bytes, file holds 10"),
                         IOError);
  }
  SUBCASE("header cut inside the dimensions") {
    write_gz(path, std::string{0, 0, 8, 3} + be32(10));
    CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("truncated header"), IOError);
  }
  SUBCASE("header cut inside the magic") {
    write_gz(path, std::string{0, 0});
    CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("truncated header"), IOError);
  }
  SUBCASE("a large declared size in a tiny file fails as truncated, without a large allocation") {
    write_gz(path, idx_bytes({60000, 1000, 10}, ramp(100)));
    CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("truncated data"), IOError);
  }
  SUBCASE("a declared size beyond the tensor-size limit is refused before reading the data") {
    write_gz(path, idx_bytes({60000, 60000, 60000}, ramp(100)));
    CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("declare 216000000000000 bytes"), IOError);
    MaxTensorBytesScope small(1000);
    write_gz(path, idx_bytes({10, 101}, ramp(1010)));
    CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("header dimensions [10,101]"), IOError);
  }
  SUBCASE("four dimensions of 2^32 - 1 overflow 64 bits and say which dimension") {
    write_gz(path, std::string{0, 0, 8, 4} + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF) + be32(0xFFFFFFFF));
    CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("header dimension 2"), IOError);
  }
  SUBCASE("gzip stream cut off") {
    const std::string full = dir.file("full.gz");
    write_gz(full, idx_bytes({64, 64}, ramp(4096)));
    std::ifstream in(full, std::ios::binary);
    std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(path, std::ios::binary).write(gz.data(), std::streamsize(gz.size() / 2));
    CHECK_THROWS_WITH_AS(data::read_idx(path), has(path), IOError);
  }
  SUBCASE("trailing bytes beyond the declared size") {
    write_gz(path, idx_bytes({2}, {1, 2, 3}));
    CHECK_THROWS_WITH_AS(data::read_idx(path), doctest::Contains("data continues past the 2 bytes"), IOError);
  }
}

TEST_CASE("missing file is an IOError naming it") {
  CHECK_THROWS_WITH_AS(data::read_idx("/nonexistent/dir/x.gz"), doctest::Contains("/nonexistent/dir/x.gz"),
                       IOError);
}

TEST_CASE("image and label counts must match; ranks are checked") {
  TempDir dir;
  const std::string img = dir.file("i.gz"), lab = dir.file("l.gz");
  write_gz(img, idx_bytes({3, 2, 2}, ramp(12)));
  write_gz(lab, idx_bytes({2}, {1, 2}));
  CHECK_THROWS_WITH_AS(data::load_idx_dataset(img, lab),
                       has("'" + img + "' hold 3 images [3,2,2] but labels '" + lab + "' hold 2 labels"),
                       IOError);
  CHECK_THROWS_WITH_AS(data::load_idx_dataset(lab, lab), doctest::Contains("expected rank 3"), IOError);
  CHECK_THROWS_WITH_AS(data::load_idx_dataset(img, img), doctest::Contains("expected rank 1"), IOError);
}

TEST_CASE("load_fashion_mnist takes a data dir and checks 28x28 and labels 0..9") {
  TempDir dir;
  write_gz(dir.file("t10k-images-idx3-ubyte.gz"), idx_bytes({2, 28, 28}, ramp(2 * 28 * 28)));
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_bytes({2}, {9, 0}));
  const Dataset ds = data::load_fashion_mnist(data::Split::test, dir.path);
  CHECK(ds.images().shape() == Shape{2, 28, 28, 1});
  CHECK(ds.labels() == std::vector<int>{9, 0});

  write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_bytes({2, 28, 28}, ramp(2 * 28 * 28)));
  write_gz(dir.file("train-labels-idx1-ubyte.gz"), idx_bytes({2}, {9, 10}));
  CHECK_THROWS_WITH_AS(data::load_fashion_mnist(data::Split::train, dir.path),
                       doctest::Contains("label 1 is 10, expected 0..9"), IOError);
  CHECK_THROWS_WITH_AS(data::load_fashion_mnist(data::Split::test, dir.path + "/nope"),
                       has(dir.path + "/nope/t10k-images-idx3-ubyte.gz"), IOError);
}

TEST_CASE("the real Fashion-MNIST test set (Debian dataset-fashion-mnist)") {
  const std::string path = std::string(data::kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz";
  if (::access(path.c_str(), R_OK) != 0) {
    MESSAGE("skipped: " << path << " is absent (apt install dataset-fashion-mnist)");
    return;
  }
  const Dataset ds = data::load_fashion_mnist(data::Split::test);
  CHECK(ds.size() == 10000);
  CHECK(ds.images().shape() == Shape{10000, 28, 28, 1});
  std::set<int> seen(ds.labels().begin(), ds.labels().end());
  CHECK(seen == std::set<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const float* p = ds.images().data<float>();
  float lo = 1, hi = 0;
  for (std::size_t i = 0; i < ds.images().size(); ++i) { lo = std::min(lo, p[i]); hi = std::max(hi, p[i]); }
  CHECK(lo == 0.0f);
  CHECK(hi == 1.0f);
  // known first test label of (Fashion-)MNIST's t10k file: 9 (ankle boot)
  CHECK(ds.labels()[0] == 9);
  CHECK(std::string(data::fashion_mnist_class_names()[9]) == "Ankle boot");
}

}
