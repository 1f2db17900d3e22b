#include <tapir/data/idx.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <memory>

#include <tapir/core/error.hpp>
#include <tapir/core/shape_arith.hpp>

namespace tapir::data {

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { if (f) gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

std::string type_name(int code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

// Reads up to `n` bytes; returns how many were read (fewer only at end of file). A gzip
// stream error (corrupt or cut-off compressed data) becomes an IOError naming the file.
std::size_t read_some(gzFile f, void* out, std::size_t n, const std::string& path) {
  std::size_t done = 0;
  while (done < n) {
    // gzread takes an unsigned count; read in chunks well below its limit.
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 24));
    const int got = gzread(f, static_cast<char*>(out) + done, chunk);
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(f, &errnum);
      throw IOError("IDX file '" + path + "': corrupt or truncated gzip data (" +
                    (msg ? msg : "zlib error") + ")");
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) throw IOError("cannot open IDX file '" + path + "'");

  unsigned char magic[4];
  const std::size_t got_magic = read_some(f.get(), magic, 4, path);
  if (got_magic < 4)
    throw IOError("IDX file '" + path + "': truncated header (" + std::to_string(got_magic) +
                  " of 4 magic bytes)");
  if (magic[0] != 0 || magic[1] != 0 || magic[3] == 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "0x%02X%02X%02X%02X", magic[0], magic[1], magic[2], magic[3]);
    throw IOError("IDX file '" + path + "': wrong magic number " + buf +
                  " (expected 0x0000TTRR: two zero bytes, type, rank >= 1)");
  }
  const int type = magic[2];
  if (type != 0x08) {
    char code[8];
    std::snprintf(code, sizeof code, "0x%02X", type);
    throw IOError("IDX file '" + path + "': element type " + code + " (" + type_name(type) +
                  ") is not supported; tapir reads unsigned-byte IDX (0x08)");
  }

  const int rank = magic[3];
  IdxArray out;
  std::size_t total = 1;
  for (int d = 0; d < rank; ++d) {
    unsigned char b[4];
    if (read_some(f.get(), b, 4, path) < 4)
      throw IOError("IDX file '" + path + "': truncated header (dimension " + std::to_string(d) +
                    " of " + std::to_string(rank) + " missing)");
    const std::size_t dim = (std::size_t(b[0]) << 24) | (std::size_t(b[1]) << 16) |
                            (std::size_t(b[2]) << 8) | std::size_t(b[3]);
    out.shape.push_back(dim);
    if (__builtin_mul_overflow(total, dim, &total))
      throw IOError("IDX file '" + path + "': header dimension " + std::to_string(d) +
                    ": the dimensions " + shape_str(out.shape) + "... overflow 64-bit sizes");
  }
  // The same limit as for one tensor: the values become one (a data set's images).
  if (total > max_tensor_bytes())
    throw IOError("IDX file '" + path + "': header dimensions " + shape_str(out.shape) + " declare " +
                  std::to_string(total) + " bytes, more than the limit of " +
                  std::to_string(max_tensor_bytes()) + " bytes for one tensor (tapir::set_max_tensor_bytes)");

  // Grow while reading rather than trusting the header with one big allocation: a corrupt
  // header then fails as "truncated" instead of exhausting memory.
  constexpr std::size_t kChunk = std::size_t(1) << 22;
  std::size_t have = 0;
  while (have < total) {
    const std::size_t want = std::min(kChunk, total - have);
    out.values.resize(have + want);
    const std::size_t got = read_some(f.get(), out.values.data() + have, want, path);
    have += got;
    if (got < want)
      throw IOError("IDX file '" + path + "': truncated data: header " + shape_str(out.shape) +
                    " declares " + std::to_string(total) + " bytes, file holds " +
                    std::to_string(have));
  }
  unsigned char extra;
  if (read_some(f.get(), &extra, 1, path) != 0)
    throw IOError("IDX file '" + path + "': data continues past the " + std::to_string(total) +
                  " bytes its header " + shape_str(out.shape) + " declares");
  return out;
}

}  // namespace tapir::data
