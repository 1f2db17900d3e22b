// .npy/.npz files that lie: every malformed header is an IOError naming the file and the field,
// and no declared size is allocated before the bytes behind it have been seen.
#include "../testing.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>

#include <unistd.h>

using namespace tapir;

namespace {

std::string temp_file(const std::string& name) { return "/tmp/tapir_hostile_" + std::to_string(::getpid()) + "_" + name; }
std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A version-1.0 .npy with the header dict `dict` (padded as NumPy does) and `data` after it.
std::string npy_with_header(const std::string& dict, const std::string& data = "") {
  std::string header = dict;
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}
std::string dict_with_shape(const std::string& shape, const std::string& descr = "<f4") {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

// Little-endian 32-bit field at `at`.
void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

TEST_SUITE("core/npz_hostile") {

TEST_CASE("a tiny .npy declaring gigabytes is refused before any allocation") {
  const std::int64_t live = live_tensor_bytes();
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header(dict_with_shape("(1, 686018427, 4)")), "'x.npy'"),
                       doctest::Contains("'x.npy': npy header field 'shape' [1,686018427,4] declares 10976294832 data bytes"),
                       IOError);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));  // nothing was filled
  CHECK(live_tensor_bytes() == live);
}

TEST_CASE("shapes whose byte count wraps or exceeds the limit are IOErrors naming 'shape'") {
  CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header(dict_with_shape("(4611686018427387904, 4)")), "'w.npy'"),
                       doctest::Contains("'w.npy': npy header field 'shape': tensor of shape"), IOError);
  CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header(dict_with_shape("(4294967296, 4294967296)")), "'w.npy'"),
                       doctest::Contains("field 'shape'"), IOError);
  MaxTensorBytesScope small(64);
  CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header(dict_with_shape("(17,)"), std::string(68, '\0')), "'w.npy'"),
                       doctest::Contains("more than the limit of 64"), IOError);
  CHECK(io::parse_npy(npy_with_header(dict_with_shape("(16,)"), std::string(64, '\0')), "'w.npy'").size() == 16);
}

TEST_CASE("malformed shape tuples are IOErrors, never std::out_of_range or invalid_argument") {
  for (const char* shape : {"(123456789012345678901,)", "(99999999999999999999, 2)", "(-1,)", "(2, x)",
                            "(1 2)", "(,)", "(3,,4)", "[3, 4]", "(1, 2, 3, 4, 5, 6, 7)", "(3", "3)"}) {
    CAPTURE(shape);
    CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header(dict_with_shape(shape)), "'s.npy'"),
                         doctest::Contains("'s.npy': npy header field 'shape'"), IOError);
  }
  CHECK(io::parse_npy(npy_with_header(dict_with_shape("()"), std::string(4, '\0')), "'s.npy'").shape() == Shape{});
  CHECK(io::parse_npy(npy_with_header(dict_with_shape("(2, 3)"), std::string(24, '\0')), "'s.npy'").shape() ==
        Shape{2, 3});
  CHECK(io::parse_npy(npy_with_header(dict_with_shape("(5,)"), std::string(20, '\0')), "'s.npy'").shape() == Shape{5});
}

TEST_CASE("other header fields and framing errors name the field") {
  CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header(dict_with_shape("(2,)", "<i4")), "'d.npy'"),
                       doctest::Contains("field 'descr'"), IOError);
  CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header("{'descr': '<f4', 'shape': (2,), }"), "'d.npy'"),
                       doctest::Contains("'fortran_order'"), IOError);
  CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape':"), "'d.npy'"),
                       doctest::Contains("'shape'"), IOError);
  CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, }"), "'d.npy'"),
                       doctest::Contains("'shape'"), IOError);
  std::string v2("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);  // a 4 GiB header length in a 12-byte file
  CHECK_THROWS_WITH_AS(io::parse_npy(v2, "'h.npy'"), doctest::Contains("truncated .npy header"), IOError);
  CHECK_THROWS_WITH_AS(io::parse_npy(std::string("\x93NUMPY\x02\x00\x01", 9), "'h.npy'"),
                       doctest::Contains("truncated"), IOError);
  CHECK_THROWS_WITH_AS(io::parse_npy(std::string("\x93NUMPY\x07\x00\x00\x00", 10), "'h.npy'"),
                       doctest::Contains("version 7"), IOError);
  CHECK_THROWS_WITH_AS(io::parse_npy(npy_with_header(dict_with_shape("(2,)"), std::string(9, '\0')), "'h.npy'"),
                       doctest::Contains("declares 8 data bytes, the file holds 9"), IOError);
}

TEST_CASE("load_npy names the path; a missing file is an IOError") {
  const std::string path = temp_file("lie.npy");
  write_all(path, npy_with_header(dict_with_shape("(1000000000,)"), std::string(16, '\0')));
  CHECK_THROWS_WITH_AS(io::load_npy(path), doctest::Contains(path.c_str()), IOError);
  std::remove(path.c_str());
  CHECK_THROWS_AS(io::load_npy(path), IOError);
}

TEST_CASE("load_npz does not trust the zip's declared entry size") {
  const std::string path = temp_file("lie.npz");
  io::save_npz(path, {{"w", Tensor::full({4}, DType::float32, 2.0)}});
  const std::string good = read_all(path);
  const std::size_t local = good.find(std::string("PK\x03\x04", 4));
  const std::size_t central = good.find(std::string("PK\x01\x02", 4));
  REQUIRE(local != std::string::npos);
  REQUIRE(central != std::string::npos);
  for (std::uint32_t claimed : {0xFFFFFFF0u, 0x7FFFFFFFu, 3u}) {
    CAPTURE(claimed);
    std::string lie = good;
    put_u32(lie, local + 22, claimed);    // uncompressed size in the local header
    put_u32(lie, central + 24, claimed);  // and in the central directory
    write_all(path, lie);
    const std::int64_t live = live_tensor_bytes();
    try {
      const auto back = io::load_npz(path);  // the npy inside is intact: reading it is fine
      REQUIRE(back.size() == 1);
      CHECK(back[0].second.at(3) == 2.0);
    } catch (const IOError& e) {
      CHECK(std::string(e.what()).find(path) != std::string::npos);
    }
    CHECK(live_tensor_bytes() == live);
  }
  std::remove(path.c_str());
}

TEST_CASE("an npz entry whose npy header lies about its size is an IOError naming the entry") {
  const std::string path = temp_file("inner.npz");
  io::save_npz(path, {{"w", Tensor::full({4}, DType::float32, 2.0)}});
  std::string bytes = read_all(path);
  const std::size_t at = bytes.find("(4, )");
  REQUIRE(at != std::string::npos);
  bytes.replace(at, 5, "(9, )");  // same length: the zip stays consistent except for the CRC
  write_all(path, bytes);
  CHECK_THROWS_WITH_AS(io::load_npz(path), doctest::Contains(path.c_str()), IOError);
  std::remove(path.c_str());
}

}  // TEST_SUITE
