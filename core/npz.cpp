#include <tapir/core/npz.hpp>

#include <zip.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include <tapir/core/shape_arith.hpp>

#include <fcntl.h>
#include <unistd.h>

namespace tapir::io {

namespace {
const char kMagic[] = "\x93NUMPY";

// Value of `key` in the npy header dict, e.g. 'descr' -> "'<f4'".
std::string header_field(const std::string& header, const std::string& key, const std::string& what) {
  const auto k = header.find("'" + key + "'");
  if (k == std::string::npos) throw IOError(what + ": npy header has no '" + key + "': " + header);
  auto v = header.find(':', k);
  if (v == std::string::npos) throw IOError(what + ": npy header field '" + key + "' has no ':' : " + header);
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  std::size_t end = v;
  if (v >= header.size()) throw IOError(what + ": npy header field '" + key + "' has no value: " + header);
  if (header[v] == '(') end = header.find(')', v) + 1;
  else if (header[v] == '\'') end = header.find('\'', v + 1) + 1;
  else end = header.find_first_of(",}", v);
  if (end == std::string::npos || end == 0)
    throw IOError(what + ": npy header field '" + key + "' has no closing delimiter: " + header);
  return header.substr(v, end - v);
}

std::string temp_path_for(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

// Durability: the data of `path` reaches the disk before the rename that publishes it, and the
// rename itself reaches the disk (the folder's entry) before the caller goes on. Without the
// second fsync a power loss can undo a rename that the program already relied on.
void fsync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw IOError("cannot reopen '" + path + "' to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw IOError("cannot sync '" + path + "': " + std::strerror(errno));
}
void fsync_parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // some file systems do not let a folder be opened; the rename still happened
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

std::string npy_bytes(const Tensor& t) {
  std::ostringstream h;
  h << "{'descr': '" << (t.dtype() == DType::float32 ? "<f4" : "<f8")
    << "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < t.ndim(); ++i) h << t.shape()[i] << (t.ndim() == 1 || i + 1 < t.ndim() ? ", " : "");
  h << "), }";
  std::string header = h.str();
  const std::size_t unpadded = 6 + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(t.raw_data()), t.nbytes());
  return out;
}

namespace {

// The parts of an .npy header that tapir reads; data_bytes is checked against the size limits.
struct NpyHeader {
  DType dtype = DType::float32;
  Shape shape;
  std::size_t data_offset = 0;  // where the values start
  std::size_t data_bytes = 0;   // how many bytes of values the header declares
};

// How many bytes of the file the header occupies (magic, version, length field and the header
// text), read from the first 10 or 12 bytes in `p[0, n)`; IOError if those are not an .npy start.
std::size_t npy_header_extent(const char* p, std::size_t n, const std::string& what) {
  if (n >= 6 && std::memcmp(p, kMagic, 6) != 0) throw IOError(what + ": not an .npy file (bad magic)");
  if (n < 10) throw IOError(what + ": truncated .npy header (" + std::to_string(n) + " bytes)");
  const int major = static_cast<unsigned char>(p[6]);
  if (major == 1)
    return 10 + (static_cast<std::size_t>(static_cast<unsigned char>(p[8])) |
                 (static_cast<std::size_t>(static_cast<unsigned char>(p[9])) << 8));
  if (major == 2 || major == 3) {
    if (n < 12) throw IOError(what + ": truncated .npy header (header length field)");
    std::size_t len = 0;
    for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(p[8 + i]);
    return 12 + len;  // < 2^32 + 12: cannot wrap
  }
  throw IOError(what + ": unsupported .npy version " + std::to_string(major));
}

// Parses the dims of a shape tuple such as "(3, 4)" or "(5,)" or "()": digits separated by
// commas, each checked against overflow; anything else is an IOError naming the field.
Shape parse_shape_field(const std::string& text, const std::string& what) {
  const auto bad = [&](const std::string& why) {
    return IOError(what + ": npy header field 'shape' " + text + ": " + why);
  };
  if (text.size() < 2 || text.front() != '(' || text.back() != ')') throw bad("is not a tuple");
  Shape shape;
  std::size_t i = 1;
  const std::size_t end = text.size() - 1;
  bool need_comma = false;
  while (i < end) {
    const char c = text[i];
    if (c == ' ') { ++i; continue; }
    if (c == ',') {
      if (!need_comma) throw bad("has an empty element");
      need_comma = false;
      ++i;
      continue;
    }
    if (c < '0' || c > '9') throw bad(std::string("has the character '") + c + "' (dims are non-negative integers)");
    if (need_comma) throw bad("has two numbers without a comma between them");
    std::size_t v = 0;
    for (; i < end && text[i] >= '0' && text[i] <= '9'; ++i)
      if (__builtin_mul_overflow(v, std::size_t(10), &v) || __builtin_add_overflow(v, std::size_t(text[i] - '0'), &v))
        throw bad("dimension " + std::to_string(shape.size()) + " does not fit in 64 bits");
    shape.push_back(v);
    need_comma = true;
    if (shape.size() > kMaxRank) throw bad("rank exceeds tapir's maximum of " + std::to_string(kMaxRank));
  }
  if (shape.size() == 1 && need_comma && text.find(',') == std::string::npos)
    throw bad("a one-element tuple needs a trailing comma");
  return shape;
}

// Parses the header in `p[0, n)` (n >= npy_header_extent) and checks the declared size.
NpyHeader parse_npy_header(const char* p, std::size_t n, const std::string& what) {
  const std::size_t extent = npy_header_extent(p, n, what);
  if (n < extent) throw IOError(what + ": truncated .npy header (" + std::to_string(n) + " of " +
                                std::to_string(extent) + " header bytes)");
  const std::size_t offset = static_cast<unsigned char>(p[6]) == 1 ? 10 : 12;
  const std::string header(p + offset, extent - offset);
  NpyHeader h;
  h.data_offset = extent;
  const std::string descr = header_field(header, "descr", what);
  if (descr == "'<f4'") h.dtype = DType::float32;
  else if (descr == "'<f8'") h.dtype = DType::float64;
  else throw IOError(what + ": npy header field 'descr' is " + descr + ", which is not supported (tapir reads <f4 and <f8)");
  if (header_field(header, "fortran_order", what) != "False")
    throw IOError(what + ": npy header field 'fortran_order': Fortran-ordered arrays are not supported");
  h.shape = parse_shape_field(header_field(header, "shape", what), what);
  try {
    h.data_bytes = checked_tensor_bytes(h.shape, h.dtype, what + ": npy header field 'shape'");
  } catch (const ShapeError& e) {
    throw IOError(e.what());  // a file that declares an impossible array is a bad file
  }
  return h;
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& what) {
  const NpyHeader h = parse_npy_header(bytes.data(), bytes.size(), what);
  // Checked before allocating: the header alone must not decide how much memory is committed.
  if (bytes.size() - h.data_offset != h.data_bytes)
    throw IOError(what + ": npy header field 'shape' " + shape_str(h.shape) + " declares " +
                  std::to_string(h.data_bytes) + " data bytes, the file holds " +
                  std::to_string(bytes.size() - h.data_offset) + " (truncated or corrupt)");
  Tensor t = Tensor::empty(h.shape, h.dtype);
  if (h.data_bytes) std::memcpy(t.raw_data(), bytes.data() + h.data_offset, h.data_bytes);
  return t;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = temp_path_for(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw IOError("cannot write '" + path + "': " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      ::close(fd);
      std::remove(tmp.c_str());
      throw IOError("cannot write '" + path + "': " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  const int sync_rc = ::fsync(fd);
  ::close(fd);
  if (sync_rc != 0) {
    std::remove(tmp.c_str());
    throw IOError("cannot sync '" + tmp + "': " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw IOError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
  fsync_parent_dir(path);
}

void save_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, npy_bytes(t)); }

void save_npz(const std::string& path, const NamedTensors& arrays) {
  std::set<std::string> names;
  for (const auto& [name, t] : arrays) {
    if (name.empty()) throw ValueError("save_npz '" + path + "': an array has an empty name");
    if (!names.insert(name).second) throw ValueError("save_npz '" + path + "': name '" + name + "' is repeated");
  }
  const std::string tmp = temp_path_for(path);
  int err = 0;
  zip_t* z = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!z) throw IOError("save_npz: cannot create '" + tmp + "' (libzip error " + std::to_string(err) + ")");
  std::vector<std::string> blobs;  // must outlive zip_close
  blobs.reserve(arrays.size());
  for (const auto& [name, t] : arrays) {
    blobs.push_back(npy_bytes(t));
    zip_source_t* src = zip_source_buffer(z, blobs.back().data(), blobs.back().size(), 0);
    const zip_int64_t idx = src ? zip_file_add(z, (name + ".npy").c_str(), src, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
      if (src) zip_source_free(src);
      const std::string msg = zip_strerror(z);
      zip_discard(z);
      std::remove(tmp.c_str());
      throw IOError("save_npz '" + path + "': cannot add '" + name + "': " + msg);
    }
    zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0);
  }
  if (zip_close(z) != 0) {
    const std::string msg = zip_strerror(z);
    zip_discard(z);
    std::remove(tmp.c_str());
    throw IOError("save_npz '" + path + "': " + msg);
  }
  try {
    fsync_file(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw IOError("save_npz: cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
  fsync_parent_dir(path);
}

namespace {

// Reads up to `n` more bytes onto `buf` with `read(dst, count) -> bytes read (0 at the end)`;
// returns how many arrived. The buffer grows with the data actually read (or decompressed),
// never with a size some header claims.
template <class Read>
std::size_t read_more(Read& read, std::string& buf, std::size_t n) {
  std::size_t got_total = 0;
  while (got_total < n) {
    const std::size_t chunk = std::min<std::size_t>(n - got_total, std::size_t(1) << 20);
    const std::size_t at = buf.size();
    buf.resize(at + chunk);
    std::size_t got = 0;
    try {
      got = read(buf.data() + at, chunk);
    } catch (...) {
      buf.resize(at);
      throw;
    }
    buf.resize(at + got);
    got_total += got;
    if (got == 0) break;
  }
  return got_total;
}

// One .npy stream: the header first (bounded by its own length field), then exactly the
// declared data bytes, then one probe byte to catch trailing garbage. Nothing outside the
// stream (a zip's declared entry size, a file's size) is trusted.
template <class Read>
Tensor read_npy_stream(Read read, const std::string& what) {
  std::string buf;
  read_more(read, buf, 12);
  const std::size_t extent = npy_header_extent(buf.data(), buf.size(), what);
  if (extent > buf.size()) read_more(read, buf, extent - buf.size());
  const NpyHeader h = parse_npy_header(buf.data(), buf.size(), what);
  const std::size_t have = buf.size() - h.data_offset;  // buf may hold a few data bytes already
  if (have < h.data_bytes) read_more(read, buf, h.data_bytes - have);
  if (buf.size() - h.data_offset < h.data_bytes)
    throw IOError(what + ": npy header field 'shape' " + shape_str(h.shape) + " declares " +
                  std::to_string(h.data_bytes) + " data bytes, the file holds " +
                  std::to_string(buf.size() - h.data_offset) + " (truncated or corrupt)");
  std::string probe;
  if (buf.size() - h.data_offset > h.data_bytes || read_more(read, probe, 1) != 0)
    throw IOError(what + ": data continues past the " + std::to_string(h.data_bytes) +
                  " bytes its npy header field 'shape' " + shape_str(h.shape) + " declares");
  Tensor t = Tensor::empty(h.shape, h.dtype);
  if (h.data_bytes) std::memcpy(t.raw_data(), buf.data() + h.data_offset, h.data_bytes);
  return t;
}

Tensor read_npy_entry(zip_file_t* f, const std::string& what) {
  return read_npy_stream(
      [&](char* dst, std::size_t n) -> std::size_t {
        const zip_int64_t got = zip_fread(f, dst, n);
        if (got < 0) throw IOError("load_npz " + what + ": corrupt compressed data (" + zip_file_strerror(f) + ")");
        return static_cast<std::size_t>(got);
      },
      what);
}

}  // namespace

NamedTensors load_npz(const std::string& path) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    const std::string msg = zip_error_strerror(&ze);
    zip_error_fini(&ze);
    throw IOError("load_npz: cannot open '" + path + "': " + msg);
  }
  std::unique_ptr<zip_t, decltype(&zip_discard)> guard(z, &zip_discard);
  NamedTensors out;
  const zip_int64_t n = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (zip_stat_index(z, static_cast<zip_uint64_t>(i), 0, &st) != 0)
      throw IOError("load_npz '" + path + "': cannot stat entry " + std::to_string(i));
    if (!(st.valid & ZIP_STAT_NAME) || !st.name)
      throw IOError("load_npz '" + path + "': entry " + std::to_string(i) + " has no name");
    std::string name = st.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    const std::string what = "'" + path + "' entry '" + name + "'";
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    if (!f) throw IOError("load_npz " + what + ": cannot open: " + zip_strerror(z));
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(f, &zip_fclose);
    out.emplace_back(name, read_npy_entry(file.get(), what));
  }
  return out;
}

Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("cannot open '" + path + "'");
  // Streamed like an npz entry: a path such as /dev/zero or a huge file with a small header
  // reads only what the header declares (and one byte more), never the whole file.
  return read_npy_stream(
      [&](char* dst, std::size_t n) -> std::size_t {
        in.read(dst, static_cast<std::streamsize>(n));
        if (in.bad()) throw IOError("cannot read '" + path + "'");
        return static_cast<std::size_t>(in.gcount());
      },
      "'" + path + "'");
}

}  // namespace tapir::io
