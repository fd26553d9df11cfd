#pragma once
/// @file array_file.hpp
/// Reads and writes arrays by file name: `.npy` (NumPy, C order) or BART `.cfl`/`.hdr` (a name ending in .cfl,
/// .hdr or with no extension is taken as BART's base name). The layout mapping is that of npy.hpp and cfl.hpp:
/// a NumPy (ny, nx) image and a BART [nx, ny] image both become dims (nx, ny, 1, 1, 1).
#include <filesystem>
#include <string>

#include "reconlab/io/cfl.hpp"
#include "reconlab/io/npy.hpp"

namespace reconlab::io {

/// True if `path` names a .npy file.
inline bool is_npy(const std::string& path) { return std::filesystem::path(path).extension() == ".npy"; }

/// BART base name of `path` (drops a .cfl or .hdr extension).
inline std::string cfl_base(const std::string& path) {
  const auto ext = std::filesystem::path(path).extension();
  if (ext == ".cfl" || ext == ".hdr") return path.substr(0, path.size() - 4);
  return path;
}

/// Reads a complex array from .npy (any supported dtype) or .cfl. Throws Error as the format readers do.
inline CArray read_array(const std::string& path) {
  return is_npy(path) ? read_npy_complex(path) : read_cfl(cfl_base(path));
}

/// Writes a complex array as .npy (complex64) or .cfl, atomically.
inline void write_array(const std::string& path, const CArray& a) {
  if (is_npy(path))
    write_npy(path, a);
  else
    write_cfl(cfl_base(path), a);
}

/// Writes a real array: .npy as float32, .cfl as complex with zero imaginary part.
inline void write_array(const std::string& path, const RArray& a) {
  if (is_npy(path))
    write_npy(path, a);
  else
    write_cfl(cfl_base(path), to_complex(a));
}

}  // namespace reconlab::io
