#pragma once
/// @file mat.hpp
/// Reads numeric arrays from MATLAB .mat files with matio (the C library libmatio, Debian `libmatio-dev`,
/// pkg-config `matio`; https://github.com/tbeu/matio). Supported: level 4, level 5 (v6/v7, zlib-compressed or not)
/// and v7.3 (HDF5) files, as far as the matio build supports them: Debian 12's libmatio 1.5.23 is built with HDF5
/// (it links libhdf5) and zlib, so all three read; matio exposes no query for it, a v7.3 file on a build without
/// HDF5 fails to open with "not a MAT file".
///
/// Layout: a MATLAB array with rows = ny and columns = nx (and an optional third dimension T) becomes dims
/// (nx, ny, 1, T, 1): element M(r, c, t) (0-based) is a(c, r, 0, t, 0). This is NumPy's view of the file through
/// scipy.io.loadmat (shape (rows, cols, T)) read as a (T, ny, nx) cine: the rows are y, the columns x, the third
/// dimension the frames. A MATLAB vector (1 x n or n x 1) is a (n, 1) or (1, n) plane like any 2D array.
///
/// Classes: double, single, int8/16/32/64, uint8/16/32/64, logical (stored as uint8), real or complex. Cell, struct,
/// sparse, char, function handles and objects are refused. Values are converted to float (64-bit integers and
/// doubles lose precision beyond 24 bits of mantissa, as everywhere in reconlab).
///
/// Errors (reconlab::Error, one line each): missing file; not a MAT file; a variable that is not in the file (the
/// message names the variables present); an unsupported class; more than 3 dimensions; an empty array; a truncated
/// or corrupt file (matio's own message when it reports one, else the data size check).
#include <matio.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/io/limits.hpp"

namespace reconlab::io {

namespace detail {

/// matio's log messages collected per call instead of printed on stderr (matio reports a corrupt stream by a
/// message, not always by a return value). Guarded by mat_mutex(): matio's log function is process-global.
inline std::string& mat_log_buffer() {
  static std::string s;
  return s;
}
inline std::mutex& mat_mutex() {
  static std::mutex m;
  return m;
}
inline void mat_log(int level, char* message) {
  if (level & (MATIO_LOG_LEVEL_ERROR | MATIO_LOG_LEVEL_CRITICAL)) {
    std::string& b = mat_log_buffer();
    if (!b.empty()) b += "; ";
    b += message ? message : "";
  }
}

/// Walks the top-level data elements of a level-5 MAT file (MATLAB's "MAT-File Format" manual: a 128-byte header
/// whose bytes 126-127 are the endian indicator "IM" (little) or "MI" (big), then elements each led by an 8-byte
/// tag (uint32 type, uint32 byte count; miMATRIX elements padded to 8 bytes, miCOMPRESSED not)) and throws Error when
/// an element reaches past the end of the file. matio inflates a cut compressed element without a word, so this is
/// the truncation check for v5 files.
inline void check_v5_elements(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  require(size >= 128, "MAT file " + path + ": truncated header (" + std::to_string(size) + " bytes)");
  unsigned char endian[2];
  in.seekg(126);
  in.read(reinterpret_cast<char*>(endian), 2);
  const bool big = endian[0] == 'M' && endian[1] == 'I';
  auto u32 = [big](const unsigned char* b) {
    return big ? (std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3])
               : (std::uint32_t(b[3]) << 24 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[1]) << 8 | b[0]);
  };
  std::uint64_t pos = 128;
  while (pos < size) {
    require(pos + 8 <= size, "MAT file " + path + " is truncated: an element tag at byte " + std::to_string(pos) +
                                 " is cut by the end of the file (" + std::to_string(size) + " bytes)");
    unsigned char tag[8];
    in.seekg(static_cast<std::streamoff>(pos));
    in.read(reinterpret_cast<char*>(tag), 8);
    const std::uint32_t type = u32(tag), nbytes = u32(tag + 4);
    if ((type >> 16) != 0) {  // small data element format: 4 bytes of data inside the tag
      pos += 8;
      continue;
    }
    const std::uint64_t padded = type == 15 ? nbytes : (std::uint64_t(nbytes) + 7) / 8 * 8;  // 15 = miCOMPRESSED
    require(pos + 8 + std::uint64_t(nbytes) <= size,
            "MAT file " + path + " is truncated: the element at byte " + std::to_string(pos) + " declares " +
                std::to_string(nbytes) + " bytes but the file ends at byte " + std::to_string(size));
    if (type == 14) {  // miMATRIX: its array flags, dimensions and name sub-elements must lie inside it (matio
                       // 1.5.23 allocates what a sub-element claims: fuzz_mat found 3 GB claimed in 520 bytes)
      std::uint64_t sub = pos + 8;
      const std::uint64_t end = pos + 8 + nbytes;
      std::uint32_t array_class = 0;
      for (int k = 0; k < 3 && sub < end; ++k) {
        require(sub + 8 <= end, "MAT file " + path + ": the variable at byte " + std::to_string(pos) +
                                    " is corrupt: a sub-element tag is cut by the variable's end");
        in.seekg(static_cast<std::streamoff>(sub));
        in.read(reinterpret_cast<char*>(tag), 8);
        const std::uint32_t stype = u32(tag), sbytes = u32(tag + 4);
        // matio reads the array flags as one 8-byte element and takes the next tag as the dimensions, whatever
        // the flags' tag says: flags of another size made it read a data word as a 2.6 GB dimensions count (fuzz_mat,
        // tests/fuzz/regressions/mat). The format fixes both: flags miUINT32 x 2, dimensions miINT32 x rank >= 2.
        if (k == 0)
          require(stype == 6 && sbytes == 8, "MAT file " + path + ": the variable at byte " + std::to_string(pos) +
                                                 " is corrupt: its array flags are not one 8-byte miUINT32 element");
        if (k == 1)
          require(stype == 5 && sbytes % 4 == 0 && sbytes >= 8,
                  "MAT file " + path + ": the variable at byte " + std::to_string(pos) +
                      " is corrupt: its dimensions are not an miINT32 element of rank >= 2");
        if ((stype >> 16) != 0) {
          sub += 8;
          continue;
        }
        require(sub + 8 + std::uint64_t(sbytes) <= end,
                "MAT file " + path + ": the variable at byte " + std::to_string(pos) + " is corrupt: a sub-element "
                    "declares " + std::to_string(sbytes) + " bytes, more than the variable holds");
        if (k == 0) {
          unsigned char flags[4];
          in.read(reinterpret_cast<char*>(flags), 4);
          array_class = u32(flags) & 0xff;
        }
        if (k == 1) {
          // matio allocates one entry per element before reading them (a cell's pointer list by calloc): dimensions
          // must be >= 0 and, except for sparse (5), struct (2) and object (3) arrays whose stored size does not
          // grow with the element count, hold no more elements than the variable has bytes (8 per cell element,
          // each one a tagged element of its own). fuzz_mat found a 137 GB cell list claimed in 520 bytes.
          std::uint64_t count = 1;
          for (std::uint32_t d = 0; d < sbytes / 4; ++d) {
            unsigned char w[4];
            in.read(reinterpret_cast<char*>(w), 4);
            const auto dim = static_cast<std::int32_t>(u32(w));
            require(dim >= 0, "MAT file " + path + ": the variable at byte " + std::to_string(pos) +
                                  " is corrupt: dimension " + std::to_string(d + 1) + " is " + std::to_string(dim));
            count = std::min<std::uint64_t>(count * static_cast<std::uint64_t>(dim), std::uint64_t(1) << 40);
          }
          const std::uint64_t per_element = array_class == 1 ? 8 : 1;
          require(array_class == 2 || array_class == 3 || array_class == 5 || count * per_element <= nbytes,
                  "MAT file " + path + ": the variable at byte " + std::to_string(pos) + " is corrupt: its " +
                      std::to_string(count) + " elements cannot fit in its " + std::to_string(nbytes) + " bytes");
        }
        sub += 8 + (std::uint64_t(sbytes) + 7) / 8 * 8;
      }
    }
    pos += 8 + padded;
  }
}

/// True when `path` carries the 128-byte header of a v5 / v7.3 MAT file (endian indicator "IM" or "MI" at byte 126).
inline bool has_v5_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char h[128];
  return in.read(h, 128) && ((h[126] == 'I' && h[127] == 'M') || (h[126] == 'M' && h[127] == 'I'));
}

/// Walks the records of a Level 4 MAT file (each a 20-byte header: int32 type MOPT, mrows, ncols, imagf, namlen;
/// the name; mrows x ncols elements of precision P, twice when imagf) and throws Error when a name or data block
/// reaches past the end of the file or a header is not a v4 header, before matio reads it: matio 1.5.23 allocates
/// namlen bytes as the header claims (fuzz_mat found a 2 GB allocation from a 200-byte file;
/// tests/fuzz/regressions/mat).
inline void check_v4_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::uint64_t>(in.tellg());
  std::uint64_t pos = 0;
  while (pos < size) {
    unsigned char h[20];
    in.seekg(static_cast<std::streamoff>(pos));
    require(pos + 20 <= size && in.read(reinterpret_cast<char*>(h), 20),
            "MAT file " + path + " is truncated: a Level 4 header at byte " + std::to_string(pos) +
                " is cut by the end of the file (" + std::to_string(size) + " bytes)");
    auto u32 = [&](int k, bool big) {
      const unsigned char* b = h + 4 * k;
      return big ? (std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3])
                 : (std::uint32_t(b[3]) << 24 | std::uint32_t(b[2]) << 16 | std::uint32_t(b[1]) << 8 | b[0]);
    };
    // M (thousands) = 0: little-endian IEEE, 1: big-endian IEEE; O = 0; P (tens) 0..5; T (units) 0..2.
    const bool big = u32(0, false) >= 1000;
    const std::uint32_t type = u32(0, big), m = type / 1000, o = type / 100 % 10, p = type / 10 % 10, t = type % 10;
    require(type < 10000 && m == (big ? 1u : 0u) && o == 0 && p <= 5 && t <= 2,
            "MAT file " + path + ": not a MATLAB .mat file (no v5 header, and byte " + std::to_string(pos) +
                " holds no Level 4 type (got " + std::to_string(type) + "))");
    const std::uint64_t rows = u32(1, big), cols = u32(2, big), imagf = u32(3, big), namlen = u32(4, big);
    const std::uint64_t elsize[6] = {8, 4, 4, 2, 2, 1};
    const std::uint64_t data = rows * cols * elsize[p] * (imagf ? 2 : 1);
    require(namlen <= size - pos - 20 && data <= size - pos - 20 - namlen,
            "MAT file " + path + " is truncated: the Level 4 variable at byte " + std::to_string(pos) + " declares a " +
                std::to_string(namlen) + "-byte name and " + std::to_string(rows) + " x " + std::to_string(cols) +
                " values but the file ends at byte " + std::to_string(size));
    pos += 20 + namlen + data;
  }
}

/// Owns one open MAT file (Mat_Close on destruction) and the log capture while it is open.
class MatFile {
 public:
  explicit MatFile(const std::string& path) : lock_(mat_mutex()), path_(path) {
    std::error_code ec;
    require(std::filesystem::exists(path, ec), "MAT file " + path + " does not exist");
    require(std::filesystem::is_regular_file(path, ec), "MAT file " + path + " is not a regular file");
    require(std::filesystem::file_size(path, ec) > 0, "MAT file " + path + " is empty: not a MATLAB .mat file");
    if (!has_v5_header(path)) check_v4_records(path);  // before matio allocates what a v4 header claims
    mat_log_buffer().clear();
    Mat_LogInitFunc("reconlab", &mat_log);
    mat_ = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
    if (!mat_) throw Error("MAT file " + path + ": not a MATLAB .mat file (v4, v5 or v7.3) or unreadable" + log_suffix());
    if (Mat_GetVersion(mat_) == MAT_FT_MAT5) {
      try {
        check_v5_elements(path);
      } catch (...) {
        Mat_Close(mat_);
        throw;
      }
    }
  }
  ~MatFile() {
    if (mat_) Mat_Close(mat_);
  }
  MatFile(const MatFile&) = delete;
  MatFile& operator=(const MatFile&) = delete;

  mat_t* get() const { return mat_; }
  const std::string& path() const { return path_; }
  /// matio's collected error messages as " (matio: ...)", or "".
  static std::string log_suffix() {
    const std::string& b = mat_log_buffer();
    return b.empty() ? std::string() : " (matio: " + b + ")";
  }
  static bool log_has_errors() { return !mat_log_buffer().empty(); }

  /// The names of the variables, in file order. Throws Error when the file's directory cannot be read.
  std::vector<std::string> variables() const {
    std::vector<std::string> names;
    Mat_Rewind(mat_);
    while (matvar_t* v = Mat_VarReadNextInfo(mat_)) {
      if (v->name) names.emplace_back(v->name);
      Mat_VarFree(v);
    }
    Mat_Rewind(mat_);
    return names;
  }

 private:
  std::lock_guard<std::mutex> lock_;
  std::string path_;
  mat_t* mat_ = nullptr;
};

struct MatVarDeleter {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatVarPtr = std::unique_ptr<matvar_t, MatVarDeleter>;

inline const char* mat_class_name(matio_classes c) {
  switch (c) {
    case MAT_C_CELL: return "cell";
    case MAT_C_STRUCT: return "struct";
    case MAT_C_OBJECT: return "object";
    case MAT_C_CHAR: return "char";
    case MAT_C_SPARSE: return "sparse";
    case MAT_C_DOUBLE: return "double";
    case MAT_C_SINGLE: return "single";
    case MAT_C_INT8: return "int8";
    case MAT_C_UINT8: return "uint8";
    case MAT_C_INT16: return "int16";
    case MAT_C_UINT16: return "uint16";
    case MAT_C_INT32: return "int32";
    case MAT_C_UINT32: return "uint32";
    case MAT_C_INT64: return "int64";
    case MAT_C_UINT64: return "uint64";
    case MAT_C_FUNCTION: return "function handle";
    case MAT_C_OPAQUE: return "opaque object";
    default: return "unknown class";
  }
}

/// Bytes per element of a numeric matio data type; 0 for others.
inline std::size_t mat_type_size(matio_types t) {
  switch (t) {
    case MAT_T_INT8: case MAT_T_UINT8: return 1;
    case MAT_T_INT16: case MAT_T_UINT16: return 2;
    case MAT_T_INT32: case MAT_T_UINT32: case MAT_T_SINGLE: return 4;
    case MAT_T_INT64: case MAT_T_UINT64: case MAT_T_DOUBLE: return 8;
    default: return 0;
  }
}

/// Element i of a numeric buffer of matio type t, as float.
inline float mat_element(const void* data, matio_types t, std::size_t i) {
  switch (t) {
    case MAT_T_INT8: return float(static_cast<const std::int8_t*>(data)[i]);
    case MAT_T_UINT8: return float(static_cast<const std::uint8_t*>(data)[i]);
    case MAT_T_INT16: return float(static_cast<const std::int16_t*>(data)[i]);
    case MAT_T_UINT16: return float(static_cast<const std::uint16_t*>(data)[i]);
    case MAT_T_INT32: return float(static_cast<const std::int32_t*>(data)[i]);
    case MAT_T_UINT32: return float(static_cast<const std::uint32_t*>(data)[i]);
    case MAT_T_INT64: return float(static_cast<const std::int64_t*>(data)[i]);
    case MAT_T_UINT64: return float(static_cast<const std::uint64_t*>(data)[i]);
    case MAT_T_SINGLE: return static_cast<const float*>(data)[i];
    case MAT_T_DOUBLE: return float(static_cast<const double*>(data)[i]);
    default: return 0.f;
  }
}

inline std::string join_names(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "none" : s;
}

}  // namespace detail

/// Names of the variables in the MAT file `path`, in file order.
/// @throws Error when the file is missing or not a MAT file.
inline std::vector<std::string> mat_variables(const std::string& path) {
  detail::MatFile f(path);
  return f.variables();
}

/// Reads the numeric variable `variable` of the MAT file `path` as complex samples (real classes get a zero
/// imaginary part). A (rows, cols[, T]) MATLAB array becomes dims (cols, rows, 1, T, 1) = (nx, ny, 1, T, 1): element
/// (r, c, t) is a(c, r, 0, t, 0) (see the file comment).
/// @throws Error: missing file, not a MAT file, no such variable (the message lists the variables present),
/// unsupported class (cell, struct, sparse, char, function, object), more than 3 dimensions, an empty array, or a
/// truncated / corrupt file.
inline CArray read_mat(const std::string& path, const std::string& variable) {
  detail::MatFile f(path);
  const std::string what = "MAT file " + path + ", variable '" + variable + "'";
  detail::MatVarPtr info(Mat_VarReadInfo(f.get(), variable.c_str()));
  if (!info) {
    if (detail::MatFile::log_has_errors())
      throw Error(what + ": cannot be read, the file is truncated or corrupt" + detail::MatFile::log_suffix());
    throw Error(what + " not found; the file holds: " + detail::join_names(f.variables()));
  }
  const matio_classes cls = info->class_type;
  const bool numeric = cls == MAT_C_DOUBLE || cls == MAT_C_SINGLE || cls == MAT_C_INT8 || cls == MAT_C_UINT8 ||
                       cls == MAT_C_INT16 || cls == MAT_C_UINT16 || cls == MAT_C_INT32 || cls == MAT_C_UINT32 ||
                       cls == MAT_C_INT64 || cls == MAT_C_UINT64;
  if (!numeric)
    throw Error(what + " is of class " + detail::mat_class_name(cls) +
                "; only numeric and logical arrays (double, single, int*, uint*, logical) are supported");
  require(info->rank >= 1 && info->rank <= 3 && info->dims,
          what + " has " + std::to_string(info->rank) + " dimensions; at most 3 (rows = ny, cols = nx, frames)");
  Dims d{1, 1, 1, 1, 1};
  const std::size_t rows = info->dims[0], cols = info->rank > 1 ? info->dims[1] : 1,
                    frames = info->rank > 2 ? info->dims[2] : 1;
  require(rows > 0 && cols > 0 && frames > 0, what + " is empty (" + std::to_string(rows) + " x " +
                                                  std::to_string(cols) + " x " + std::to_string(frames) + ")");
  d[0] = static_cast<Index>(cols);
  d[1] = static_cast<Index>(rows);
  d[3] = static_cast<Index>(frames);
  {  // matio allocates what the dimensions claim before reading: the data must fit in the file (deflate's 1032:1
     // bound for a compressed variable; fuzz_mat found 3 GB claimed in 520 bytes)
    std::error_code ec;
    const long double file_bytes = (long double)std::filesystem::file_size(path, ec);
    const long double need = (long double)rows * cols * frames * Mat_SizeOfClass(cls) * (info->isComplex ? 2 : 1);
    require(need <= max_decoded_bytes(file_bytes, info->compression != MAT_COMPRESSION_NONE),
            what + ": " + std::to_string(rows) + " x " + std::to_string(cols) + " x " + std::to_string(frames) +
                " values do not fit in the file: it is truncated or corrupt");
  }
  info.reset();

  detail::MatVarPtr v(Mat_VarRead(f.get(), variable.c_str()));
  if (!v || !v->data || detail::MatFile::log_has_errors())
    throw Error(what + ": cannot read its data, the file is truncated or corrupt" + detail::MatFile::log_suffix());
  const std::size_t n = rows * cols * frames;
  const std::size_t esize = detail::mat_type_size(v->data_type);
  require(esize > 0, what + ": unsupported stored data type " + std::to_string(int(v->data_type)));
  // matio fills nbytes with the size of its buffer (per part for complex data); a short buffer is a truncated file.
  require(v->nbytes >= n * esize, what + ": holds " + std::to_string(v->nbytes) + " bytes of data for " +
                                      std::to_string(n) + " elements; the file is truncated or corrupt");
  CArray a(d[0], d[1], 1, d[3], 1);
  const void* re = v->data;
  const void* im = nullptr;
  if (v->isComplex) {
    const auto* split = static_cast<const mat_complex_split_t*>(v->data);
    re = split->Re;
    im = split->Im;
    require(re && im, what + ": complex data without both parts; the file is corrupt");
  }
  for (std::size_t t = 0; t < frames; ++t)
    for (std::size_t c = 0; c < cols; ++c)
      for (std::size_t r = 0; r < rows; ++r) {
        const std::size_t i = r + rows * (c + cols * t);  // MATLAB's column-major order
        a(Index(c), Index(r), 0, Index(t), 0) =
            cfloat(detail::mat_element(re, v->data_type, i), im ? detail::mat_element(im, v->data_type, i) : 0.f);
      }
  return a;
}

/// Reads a real numeric variable (layout as read_mat). @throws Error as read_mat, and when the variable is complex.
inline RArray read_mat_real(const std::string& path, const std::string& variable) {
  {
    detail::MatFile f(path);
    detail::MatVarPtr info(Mat_VarReadInfo(f.get(), variable.c_str()));
    require(!(info && info->isComplex), "MAT file " + path + ", variable '" + variable +
                                            "' is complex; a real array is needed");
  }
  return read_mat(path, variable).real();
}

/// The 30-frame k-t mask of the ACDC cine in `dir` (../shared/data/cine-acdc), as the dmri_tgv2 setup
/// (github.com/coffe2am/dmri_tgv2, demo_run.m) uses it: its reference frame t0 = 1 (MATLAB) is sampled with
/// mask_ref.mat's `sampling_mask_u0` and frames 2..T with `sampling_mask_seq(:, :, t)`; so here frame 0 is
/// `sampling_mask_u0` (184 x 256, the denser reference frame, ~66 % of k-space) and frames 1..29 are mask_seq.mat's
/// `sampling_mask_seq` (184 x 256 x 29, 2D variable-density point masks, ~6.2 %, R ~ 16). Rows are ky = y and
/// columns kx = x, matching the cine (30, 184, 256) = (frames, ny, nx) and demo_data's [N1, N2, T]; the masks are
/// centred (MRI_forward_centered.m: fftshift(fft2(ifftshift(u))) / sqrt(numel(u)), reconlab's centred unitary
/// FFT; the dense region and the DC sample sit at row 92, column 128).
/// @return dims (256, 184, 1, 30, 1), values 0/1.
/// @throws Error when a file or variable is missing, the two in-plane sizes differ, or a value is not 0 or 1.
inline RArray acdc_kt_masks(const std::string& dir) {
  const RArray ref = read_mat_real(dir + "/mask_ref.mat", "sampling_mask_u0");
  const RArray seq = read_mat_real(dir + "/mask_seq.mat", "sampling_mask_seq");
  const Dims dr = dims_of(ref), ds = dims_of(seq);
  require(dr[0] == ds[0] && dr[1] == ds[1] && dr[3] == 1,
          "acdc_kt_masks: mask_ref " + dims_string(dr) + " and mask_seq " + dims_string(ds) + " do not fit together");
  RArray m(ds[0], ds[1], 1, ds[3] + 1, 1);
  for (Index t = 0; t <= ds[3]; ++t)
    for (Index y = 0; y < ds[1]; ++y)
      for (Index x = 0; x < ds[0]; ++x) {
        const float v = t == 0 ? ref(x, y, 0, 0, 0) : seq(x, y, 0, t - 1, 0);
        require(v == 0.f || v == 1.f, "acdc_kt_masks: value " + std::to_string(v) + " is not 0 or 1");
        m(x, y, 0, t, 0) = v;
      }
  return m;
}

}  // namespace reconlab::io
