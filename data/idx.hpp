// IDX files (LeCun's MNIST format, also used by Fashion-MNIST): a big-endian header
// {0, 0, type, rank, dim0..dim(rank-1)} followed by the values in row-major order.
// Files may be gzip-compressed or plain; zlib's gzread reads both transparently.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tapir::data {

/// The contents of an unsigned-byte IDX file (type code 0x08, the only type MNIST-style data
/// sets use): its dimensions and its raw values.
struct IdxArray {
  std::vector<std::size_t> shape;
  std::vector<std::uint8_t> values;  ///< row-major, product(shape) bytes
};

/// Reads an IDX file (gzip or plain). Throws IOError naming `path` when it cannot be opened,
/// is not valid gzip, has a wrong magic number, is not of unsigned-byte type, is truncated or
/// has bytes beyond what its header declares.
IdxArray read_idx(const std::string& path);

}  // namespace tapir::data
