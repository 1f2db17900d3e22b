// Reads a PNG's signature and IHDR chunk byte by byte (not with stb, which would accept what a
// strict reader rejects): what the figure tests check every written file against.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

namespace testing {

struct PngHeader {
  bool valid = false;       ///< signature, IHDR first with length 13 and a correct CRC
  std::uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  std::string problem;      ///< why not valid
};

inline std::uint32_t big_endian32(const std::string& b, std::size_t at) {
  return (std::uint32_t(std::uint8_t(b[at])) << 24) | (std::uint32_t(std::uint8_t(b[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(b[at + 2])) << 8) | std::uint32_t(std::uint8_t(b[at + 3]));
}

inline PngHeader png_header(const std::string& bytes) {
  PngHeader h;
  static const std::string signature("\x89PNG\r\n\x1a\n", 8);
  if (bytes.size() < 8 + 8 + 13 + 4) { h.problem = "too short"; return h; }
  if (bytes.compare(0, 8, signature) != 0) { h.problem = "no PNG signature"; return h; }
  if (big_endian32(bytes, 8) != 13 || bytes.compare(12, 4, "IHDR") != 0) { h.problem = "first chunk is not IHDR"; return h; }
  const auto* chunk = reinterpret_cast<const Bytef*>(bytes.data() + 12);
  if (crc32(0L, chunk, 4 + 13) != big_endian32(bytes, 8 + 8 + 13)) { h.problem = "IHDR CRC mismatch"; return h; }
  h.width = big_endian32(bytes, 16);
  h.height = big_endian32(bytes, 20);
  h.bit_depth = std::uint8_t(bytes[24]);
  h.color_type = std::uint8_t(bytes[25]);
  h.valid = h.width > 0 && h.height > 0;
  if (!h.valid) h.problem = "zero size";
  return h;
}

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace testing
