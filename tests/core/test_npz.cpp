#include "../testing.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>

#include <unistd.h>

using namespace tapir;

namespace {
std::string temp_file(const std::string& name) { return "/tmp/tapir_test_" + std::to_string(::getpid()) + "_" + name; }
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_SUITE("core/npz") {

TEST_CASE(".npy bytes follow the NumPy format 1.0") {
  const std::string b = io::npy_bytes(Tensor::zeros({2, 3}, DType::float32));
  CHECK(b.compare(0, 6, "\x93NUMPY") == 0);
  CHECK((b.size() - 24) % 64 == 0);  // header padded to 64 bytes, then 6 floats
  CHECK(b.find("'descr': '<f4'") != std::string::npos);
  CHECK(b.find("'shape': (2, 3)") != std::string::npos);
  CHECK(io::npy_bytes(Tensor::zeros({5}, DType::float64)).find("'shape': (5, )") != std::string::npos);
}

TEST_CASE("npz round trip is exact, names and order kept") {
  const std::string path = temp_file("rt.npz");
  io::NamedTensors arrays{{"dense/kernel", testing::random_tensor({3, 4}, 1).astype(DType::float32)},
                          {"dense/bias", testing::random_tensor({4}, 2)},
                          {"scalar", Tensor::scalar(7.0, DType::float64)}};
  io::save_npz(path, arrays);
  const auto back = io::load_npz(path);
  REQUIRE(back.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(back[i].first == arrays[i].first);
    CHECK(back[i].second.shape() == arrays[i].second.shape());
    CHECK(back[i].second.dtype() == arrays[i].second.dtype());
    CHECK(testing::max_abs_diff(back[i].second, arrays[i].second) == 0.0);
  }
  std::remove(path.c_str());
}

TEST_CASE("corrupt or truncated files fail with IOError naming the file") {
  const std::string path = temp_file("bad.npz");
  io::save_npz(path, {{"w", testing::random_tensor({64}, 3)}});
  const std::string good = read_all(path);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << good.substr(0, good.size() / 2);
  }
  CHECK_THROWS_WITH_AS(io::load_npz(path), doctest::Contains(path.c_str()), IOError);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "not a zip file at all";
  }
  CHECK_THROWS_AS(io::load_npz(path), IOError);
  CHECK_THROWS_AS(io::load_npz(temp_file("missing.npz")), IOError);
  std::string npy = io::npy_bytes(testing::random_tensor({10}, 4));
  CHECK_THROWS_WITH_AS(io::parse_npy(npy.substr(0, npy.size() - 8), "x"), doctest::Contains("truncated"), IOError);
  npy[1] = 'X';
  CHECK_THROWS_WITH_AS(io::parse_npy(npy, "x"), doctest::Contains("magic"), IOError);
  std::remove(path.c_str());
}

TEST_CASE("repeated or empty names are rejected before anything is written") {
  const std::string path = temp_file("dup.npz");
  CHECK_THROWS_AS(io::save_npz(path, {{"a", Tensor::zeros({1}, DType::float32)}, {"a", Tensor::zeros({1}, DType::float32)}}), ValueError);
  CHECK_THROWS_AS(io::save_npz(path, {{"", Tensor::zeros({1}, DType::float32)}}), ValueError);
  CHECK(!std::ifstream(path).good());
}

}
