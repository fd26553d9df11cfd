#pragma once
/// @file cfl.hpp
/// BART .cfl/.hdr reader and writer.
///
/// Format source: BART (Berkeley Advanced Reconstruction Toolbox), src/misc/mmio.c and src/misc/io.c,
/// https://github.com/mrirecon/bart ; python/cfl.py there. A dataset "name" is two files: name.hdr, a text file
/// whose line after "# Dimensions" lists the sizes d0 d1 d2 ... (other "# ..." sections may follow), and name.cfl,
/// the samples as raw little-endian complex64 (float re, float im), column-major: d0 fastest.
///
/// BART dimension slots used here (src/misc/mri.h): 0,1,2 = READ/PHS1/PHS2 (x, y, z), 3 = COIL_DIM,
/// 4 = MAPS_DIM, 10 = TIME_DIM.
///
/// Mapping to reconlab's CArray (x, y, coil, frame, batch), used by read_cfl and write_cfl (inverse of each other):
///   x = d0, y = d1, coil = d3, batch = d4 (the MAPS slot), frame = d10; every other dim must be 1.
/// Files written by non-BART tools with the coils in slot 2 (e.g. shared/data/brain8ch/brain_clean, header
/// "230 180 8 1 1") are read with read_cfl(base, 2): coil = d2, and then d3 must be 1. Nothing is guessed: with the
/// default coil_dim 3, d2 > 1 (a z/partition axis) is an Error. Use read_cfl_raw for BART's full dims.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/io/atomic.hpp"

namespace reconlab::io {

/// A BART dataset with its full dims.
struct CflRaw {
  std::vector<long> dims;     ///< Sizes as listed in the .hdr (d0 fastest); at least one entry, each >= 1.
  std::vector<cfloat> data;   ///< prod(dims) complex64 samples, column-major (d0 fastest).
};

namespace cfl_detail {

inline std::string strip_ext(const std::string& base) {
  // Accept "name", "name.cfl" or "name.hdr".
  for (const char* ext : {".cfl", ".hdr"}) {
    const std::string e(ext);
    if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0)
      return base.substr(0, base.size() - e.size());
  }
  return base;
}

inline std::vector<long> read_header(const std::string& hdr) {
  std::ifstream in(hdr);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(hdr, ec) || !in) throw Error("cfl header " + hdr + ": missing file");
  std::string line;
  bool found = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "# Dimensions") {
      found = true;
      break;
    }
  }
  if (!found) throw Error("cfl header " + hdr + ": bad header: no \"# Dimensions\" line (not a BART .hdr)");
  if (!std::getline(in, line)) throw Error("cfl header " + hdr + ": bad header: no sizes after \"# Dimensions\"");
  std::istringstream ss(line);
  std::vector<long> dims;
  std::string tok;
  while (ss >> tok) {
    std::size_t used = 0;
    long v = 0;
    try {
      v = std::stol(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != tok.size() || v < 1)
      throw Error(printable("cfl header " + hdr + ": bad header: size '" + tok + "' is not a positive integer"));
    dims.push_back(v);
  }
  if (dims.empty()) throw Error("cfl header " + hdr + ": bad header: empty \"# Dimensions\" line");
  return dims;
}

inline std::string dims_text(const std::vector<long>& d) {
  std::string s;
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? " x " : "") + std::to_string(d[i]);
  return s;
}

}  // namespace cfl_detail

/// Reads BART dataset `base` (path without extension; a trailing ".cfl"/".hdr" is accepted) with its full dims.
/// Example: shared/data/brain8ch-undersampled/bartws_ksp -> dims {1,180,230,8,1,...,1} (16 entries).
/// Throws Error naming the file for: missing .hdr or .cfl, a .hdr without "# Dimensions" or with a non-positive or
/// non-integer size, a .cfl shorter than prod(dims) * 8 bytes (truncated) or longer (header/shape mismatch).
inline CflRaw read_cfl_raw(const std::string& base_in) {
  namespace fs = std::filesystem;
  const std::string base = cfl_detail::strip_ext(base_in);
  const std::string hdr = base + ".hdr", cfl = base + ".cfl";
  CflRaw out;
  out.dims = cfl_detail::read_header(hdr);
  std::uint64_t n = 1;
  for (long d : out.dims) {
    if (n > std::numeric_limits<std::uint64_t>::max() / 16 / static_cast<std::uint64_t>(d))
      throw Error("cfl header " + hdr + ": bad header: dims too large");
    n *= static_cast<std::uint64_t>(d);
  }
  std::error_code ec;
  if (!fs::is_regular_file(cfl, ec)) throw Error("cfl data " + cfl + ": missing file");
  const std::uint64_t size = fs::file_size(cfl, ec);
  if (ec) throw Error("cfl data " + cfl + ": cannot stat: " + ec.message());
  const std::uint64_t need = n * 8;
  if (size < need)
    throw Error("cfl data " + cfl + ": truncated data: dims " + cfl_detail::dims_text(out.dims) + " need " +
                std::to_string(need) + " bytes, the file holds " + std::to_string(size));
  if (size > need)
    throw Error("cfl data " + cfl + ": header/shape mismatch: the file holds " + std::to_string(size) +
                " bytes, dims " + cfl_detail::dims_text(out.dims) + " in " + hdr + " need " + std::to_string(need));
  out.data.resize(static_cast<std::size_t>(n));
  std::ifstream in(cfl, std::ios::binary);
  if (!in || !in.read(reinterpret_cast<char*>(out.data.data()), static_cast<std::streamsize>(need)))
    throw Error("cfl data " + cfl + ": truncated data: read failed");
  return out;
}

/// Reads BART dataset `base` as a CArray with dims (x, y, coil, frame, batch) = (d0, d1, d[coil_dim], d10, d4); see
/// the mapping at the top of this file. coil_dim is 3 (BART's COIL_DIM, default) or 2 (coils stored in slot 2).
/// brain8ch/brain_clean (230 180 8 1 1) with coil_dim 2 -> (230, 180, 8, 1, 1); brain8ch/brain_fov (230 180 1 1 1)
/// -> (230, 180, 1, 1, 1).
/// Throws Error as read_cfl_raw does, for coil_dim not 2 or 3, and, naming the dim, when a dim other than 0, 1,
/// coil_dim, 4 and 10 exceeds 1 (e.g. bartws_ksp, 1 x 180 x 230 x 8: dim 2 = 230 is a z axis; use read_cfl_raw).
inline CArray read_cfl(const std::string& base, int coil_dim = 3) {
  if (coil_dim != 2 && coil_dim != 3)
    throw Error("read_cfl " + base + ": coil_dim must be 3 (BART) or 2, got " + std::to_string(coil_dim));
  CflRaw raw = read_cfl_raw(base);
  std::vector<long> d = raw.dims;
  d.resize(std::max<std::size_t>(d.size(), 16), 1);
  const std::string name = cfl_detail::strip_ext(base) + ".hdr";
  const std::size_t cd = static_cast<std::size_t>(coil_dim);
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (i <= 1 || i == cd || i == 4 || i == 10) continue;
    if (d[i] > 1) {
      std::string hint;
      if (i == 2) hint = "; dim 2 is z/partition (3D data is not supported; if this file stores coils in dim 2, call "
                         "read_cfl(base, 2); else use read_cfl_raw)";
      if (i == 3) hint = "; dim 3 is BART's coil dim but coil_dim 2 was asked";
      throw Error("cfl header " + name + ": unsupported dims " + cfl_detail::dims_text(raw.dims) + ": dim " +
                  std::to_string(i) + " = " + std::to_string(d[i]) + " > 1 (only dims 0, 1, " +
                  std::to_string(coil_dim) + " (coil), 4 (maps -> batch) and 10 (time -> frame) may exceed 1)" + hint);
    }
  }
  const Index nx = d[0], ny = d[1], nc = d[cd], nb = d[4], nf = d[10];
  CArray out(nx, ny, nc, nf, nb);
  // BART order: x, y, coil (slot 2 or 3), maps (batch), ..., time (frame). Ours: x, y, coil, frame, batch.
  const Index plane = nx * ny * nc;
  const cfloat* src = raw.data.data();
  for (Index f = 0; f < nf; ++f)
    for (Index b = 0; b < nb; ++b) {
      const cfloat* s = src + (f * nb + b) * plane;
      std::copy(s, s + plane, out.data() + (b * nf + f) * plane);
    }
  return out;
}

/// Writes BART dataset `base` (.hdr and .cfl; a trailing ".cfl"/".hdr" on `base` is stripped) with full dims
/// `dims` (at least 1 entry, each >= 1; BART itself expects 16) and data (prod(dims) complex64, d0 fastest).
/// Both files are written atomically, the .cfl first and the .hdr last. Throws Error when data.size() differs
/// from prod(dims) or a file cannot be written.
inline void write_cfl_raw(const std::string& base_in, const std::vector<long>& dims, const std::vector<cfloat>& data) {
  const std::string base = cfl_detail::strip_ext(base_in);
  if (dims.empty()) throw Error("write_cfl " + base + ": empty dims");
  std::uint64_t n = 1;
  for (long d : dims) {
    if (d < 1) throw Error("write_cfl " + base + ": dims " + cfl_detail::dims_text(dims) + " has a size < 1");
    n *= static_cast<std::uint64_t>(d);
  }
  if (n != data.size())
    throw Error("write_cfl " + base + ": dims " + cfl_detail::dims_text(dims) + " hold " + std::to_string(n) +
                " samples but data has " + std::to_string(data.size()));
  atomic_write(base + ".cfl", [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(cfloat)));
    out.close();
    if (!out) throw Error("write_cfl: cannot write " + tmp.string());
  });
  std::string hdr = "# Dimensions\n";
  for (long d : dims) hdr += std::to_string(d) + " ";
  hdr += "\n";
  atomic_write_text(base + ".hdr", hdr);
}

/// Writes a CArray (x, y, coil, frame, batch) as a 16-dim BART dataset [x, y, 1, coil, batch, 1, 1, 1, 1, 1, frame,
/// 1, 1, 1, 1, 1] (batch in MAPS_DIM 4, frame in TIME_DIM 10): the inverse of read_cfl(base). With coil_dim 2 the
/// coils go to slot 2 instead ([x, y, coil, 1, batch, ...]), the inverse of read_cfl(base, 2). Atomic (.hdr last).
/// Throws Error for coil_dim not 2 or 3, an empty array, or when a file cannot be written.
inline void write_cfl(const std::string& base, const CArray& a, int coil_dim = 3) {
  if (coil_dim != 2 && coil_dim != 3)
    throw Error("write_cfl " + base + ": coil_dim must be 3 (BART) or 2, got " + std::to_string(coil_dim));
  const Index nx = a.dimension(0), ny = a.dimension(1), nc = a.dimension(2), nf = a.dimension(3),
              nb = a.dimension(4);
  std::vector<long> dims(16, 1);
  dims[0] = nx;
  dims[1] = ny;
  dims[static_cast<std::size_t>(coil_dim)] = nc;
  dims[4] = nb;
  dims[10] = nf;
  for (long d : dims)
    if (d < 1) throw Error("write_cfl " + base + ": BART cannot store an empty array (dims " + dims_string(dims_of(a)) + ")");
  std::vector<cfloat> data(static_cast<std::size_t>(a.size()));
  const Index plane = nx * ny * nc;
  for (Index f = 0; f < nf; ++f)
    for (Index b = 0; b < nb; ++b) {
      const cfloat* s = a.data() + (b * nf + f) * plane;
      std::copy(s, s + plane, data.data() + (f * nb + b) * plane);
    }
  write_cfl_raw(base, dims, data);
}

}  // namespace reconlab::io
