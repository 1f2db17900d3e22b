#include <tapir/core/npz.hpp>

#include <zip.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

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
  if (v == std::string::npos) throw IOError(what + ": malformed npy header: " + header);
  ++v;
  while (v < header.size() && header[v] == ' ') ++v;
  std::size_t end = v;
  if (header[v] == '(') end = header.find(')', v) + 1;
  else if (header[v] == '\'') end = header.find('\'', v + 1) + 1;
  else end = header.find_first_of(",}", v);
  if (end == std::string::npos || end == 0) throw IOError(what + ": malformed npy header: " + header);
  return header.substr(v, end - v);
}

std::string temp_path_for(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
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

Tensor parse_npy(const std::string& bytes, const std::string& what) {
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0)
    throw IOError(what + ": not an .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw IOError(what + ": truncated .npy header");
    header_len = 0;
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + i]);
    offset = 12;
  } else {
    throw IOError(what + ": unsupported .npy version " + std::to_string(major));
  }
  if (bytes.size() < offset + header_len) throw IOError(what + ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  const std::string descr = header_field(header, "descr", what);
  DType dtype;
  if (descr == "'<f4'") dtype = DType::float32;
  else if (descr == "'<f8'") dtype = DType::float64;
  else throw IOError(what + ": dtype " + descr + " is not supported (tapir reads <f4 and <f8)");
  if (header_field(header, "fortran_order", what) != "False")
    throw IOError(what + ": Fortran-ordered arrays are not supported");
  const std::string shape_text = header_field(header, "shape", what);
  Shape shape;
  std::string num;
  for (char c : shape_text) {
    if (c >= '0' && c <= '9') num += c;
    else if (!num.empty()) { shape.push_back(std::stoull(num)); num.clear(); }
  }
  if (shape.size() > kMaxRank) throw IOError(what + ": rank of " + shape_str(shape) + " exceeds 6");
  Tensor t = Tensor::empty(shape, dtype);
  const std::size_t data_at = offset + header_len;
  if (bytes.size() - data_at != t.nbytes())
    throw IOError(what + ": expected " + std::to_string(t.nbytes()) + " data bytes for shape " +
                  shape_str(shape) + ", found " + std::to_string(bytes.size() - data_at) + " (truncated or corrupt)");
  std::memcpy(t.raw_data(), bytes.data() + data_at, t.nbytes());
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
  ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw IOError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
}

void save_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, npy_bytes(t)); }

Tensor load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_npy(ss.str(), "'" + path + "'");
}

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
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw IOError("save_npz: cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  }
}

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
    std::string name = st.name;
    std::string bytes(st.size, '\0');
    zip_file_t* f = zip_fopen_index(z, static_cast<zip_uint64_t>(i), 0);
    if (!f) throw IOError("load_npz '" + path + "': cannot open entry '" + name + "': " + zip_strerror(z));
    const zip_int64_t got = zip_fread(f, bytes.data(), st.size);
    zip_fclose(f);
    if (got < 0 || static_cast<zip_uint64_t>(got) != st.size)
      throw IOError("load_npz '" + path + "': entry '" + name + "' is truncated or corrupt");
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out.emplace_back(name, parse_npy(bytes, "'" + path + "' entry '" + name + "'"));
  }
  return out;
}

}  // namespace tapir::io
