// NumPy .npy / .npz files: what tapir saves models and optimizer state in, so that
// `np.load(path)` reads them with the variable names as keys. Writes are atomic (a temp file in
// the same folder, then rename), so a crash never leaves a half-written file behind.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <tapir/core/tensor.hpp>

namespace tapir::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// The bytes of an .npy file (format 1.0, little-endian, C order) holding `t`.
std::string npy_bytes(const Tensor& t);
/// Parses .npy bytes; `what` names the source in error messages.
Tensor parse_npy(const std::string& bytes, const std::string& what);

void save_npy(const std::string& path, const Tensor& t);
Tensor load_npy(const std::string& path);

/// Saves arrays under their names (each stored as "<name>.npy"; names must be unique), as one
/// commit: temp file, fsync, rename, fsync of the folder.
void save_npz(const std::string& path, const NamedTensors& arrays);
/// Loads every array of an .npz (stored or deflated), in file order, keys without ".npy".
NamedTensors load_npz(const std::string& path);

/// Writes `bytes` to `path` atomically and durably (temp file + fsync + rename + folder fsync).
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace tapir::io
