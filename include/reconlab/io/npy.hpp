#pragma once
/// @file npy.hpp
/// NumPy .npy reader and writer (format versions 1.0, 2.0 and 3.0).
///
/// Format source: "A Simple File Format for NumPy Arrays", NEP 1,
/// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
///   magic "\x93NUMPY", major/minor version bytes, header length (uint16 LE for v1, uint32 LE for v2/v3), an ASCII
///   (v3: UTF-8) Python dict literal with exactly the keys 'descr', 'fortran_order', 'shape', then the raw data.
///
/// Reading is strict: the magic, version, every header key, the dtype and the data size (from the file size) are
/// checked, and any problem throws reconlab::Error naming the file and the problem. Little- and big-endian data are
/// both read (big-endian is byte-swapped); fortran_order True files are transposed to C order on reading, so a
/// NpyArray always holds its samples in C order (last axis fastest).
///
/// Mapping to reconlab arrays: a C-order shape (s0, ..., s_{k-1}) with k <= 5 becomes dims (s_{k-1}, ..., s0)
/// padded with 1s (x = last axis): the bytes are the same. (ny, nx) -> (nx, ny, 1, 1, 1); (2, 320, 256) ->
/// (256, 320, 2, 1, 1). Callers that know what the leading axes mean name them (axes "byx" puts the 2 on batch:
/// (256, 320, 1, 1, 2)); see npy_shape_to_dims. Rank > 5 is an Error.
#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/io/atomic.hpp"

namespace reconlab::io {

static_assert(std::endian::native == std::endian::little, "reconlab::io assumes a little-endian host");

/// Contents of a .npy file, converted to single precision.
struct NpyArray {
  std::vector<Index> shape;   ///< C-order shape as in the file (first axis slowest); empty for a 0-d array.
  std::string descr;          ///< dtype string from the header, e.g. "<c8", "|u1", ">f8".
  bool fortran_order = false; ///< The file's fortran_order flag (the data below is C order regardless).
  bool is_complex = false;    ///< True for complex dtypes (c8, c16): data_c is filled, else data_r.
  std::vector<cfloat> data_c; ///< Complex samples in C order (complex64), when is_complex.
  std::vector<float> data_r;  ///< Real samples in C order (float32), when !is_complex; bool -> 0/1.

  /// Number of elements (product of shape; 1 for a 0-d array).
  Index size() const {
    Index n = 1;
    for (Index s : shape) n *= s;
    return n;
  }
};

namespace npy_detail {

/// Throws Error("npy file <path>: <what>") with control and non-ASCII bytes escaped (reconlab::printable): `what`
/// may quote header bytes of a corrupt file.
[[noreturn]] inline void fail(const std::string& path, const std::string& what) {
  throw Error(printable("npy file " + path + ": " + what));
}

/// Minimal parser for the Python dict literal in a .npy header.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  void parse(std::string& descr, bool& fortran, std::vector<Index>& shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_ws();
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') {
        ++i_;
        break;
      }
      std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (peek() == '[') fail(path_, "unsupported dtype: structured (record) arrays are not supported");
        descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = parse_bool();
        have_fortran = true;
      } else if (key == "shape") {
        shape = parse_tuple();
        have_shape = true;
      } else {
        fail(path_, "bad header: unexpected key '" + key + "' (expected only 'descr', 'fortran_order', 'shape')");
      }
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip_ws();
      expect('}');
      break;
    }
    skip_ws();
    if (i_ != s_.size()) fail(path_, "bad header: trailing characters after the dict");
    if (!have_descr || !have_fortran || !have_shape)
      fail(path_, "bad header: missing key(s)" + std::string(have_descr ? "" : " 'descr'") +
                      (have_fortran ? "" : " 'fortran_order'") + (have_shape ? "" : " 'shape'"));
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    if (peek() != c)
      fail(path_, std::string("bad header: expected '") + c + "' at character " + std::to_string(i_) + " of \"" +
                      s_ + "\"");
    ++i_;
  }
  std::string parse_string() {
    char q = peek();
    if (q != '\'' && q != '"') fail(path_, "bad header: expected a quoted string at character " + std::to_string(i_));
    ++i_;
    std::string out;
    while (i_ < s_.size() && s_[i_] != q) out += s_[i_++];
    if (i_ >= s_.size()) fail(path_, "bad header: unterminated string");
    ++i_;
    return out;
  }
  bool parse_bool() {
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    fail(path_, "bad header: 'fortran_order' must be True or False");
  }
  std::vector<Index> parse_tuple() {
    expect('(');
    std::vector<Index> out;
    while (true) {
      skip_ws();
      if (peek() == ')') {
        ++i_;
        break;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        fail(path_, "bad header: 'shape' must be a tuple of non-negative integers");
      Index v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        int d = s_[i_++] - '0';
        if (v > (std::numeric_limits<Index>::max() - d) / 10) fail(path_, "bad header: shape value too large");
        v = v * 10 + d;
      }
      if (peek() == 'L') ++i_;  // Python 2 long suffix
      out.push_back(v);
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip_ws();
      expect(')');
      break;
    }
    return out;
  }

  const std::string& s_;
  const std::string& path_;
  std::size_t i_ = 0;
};

/// Element kinds understood by the reader.
enum class Kind { Bool, Int, UInt, Float, Complex };

struct DType {
  Kind kind;
  int itemsize;  // bytes per element
  bool swap;     // big-endian data on this little-endian host
};

inline DType parse_descr(const std::string& descr, const std::string& path) {
  const std::string supported = "supported: <c8 <c16 <f4 <f8 |u1 |i1 <i2 <u2 <i4 <u4 <i8 <u8 |b1 (and '>' variants)";
  if (descr.size() < 3) fail(path, "unsupported dtype '" + descr + "' (" + supported + ")");
  char order = descr[0];
  char kc = descr[1];
  std::string num = descr.substr(2);
  if (order != '<' && order != '>' && order != '|' && order != '=')
    fail(path, "unsupported dtype '" + descr + "': unknown byte-order character (" + supported + ")");
  // At most two digits (itemsizes 1..16): std::stoi would throw std::out_of_range on a long digit string
  // (fuzz_npy, tests/fuzz/regressions/npy).
  if (num.empty() || num.size() > 2 ||
      !std::all_of(num.begin(), num.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    fail(path, "unsupported dtype '" + descr + "' (" + supported + ")");
  int n = std::stoi(num);
  DType t{Kind::Float, n, order == '>'};
  bool ok = false;
  switch (kc) {
    case 'b':
      t.kind = Kind::Bool;
      ok = n == 1;
      break;
    case 'i':
      t.kind = Kind::Int;
      ok = n == 1 || n == 2 || n == 4 || n == 8;
      break;
    case 'u':
      t.kind = Kind::UInt;
      ok = n == 1 || n == 2 || n == 4 || n == 8;
      break;
    case 'f':
      t.kind = Kind::Float;
      ok = n == 4 || n == 8;
      break;
    case 'c':
      t.kind = Kind::Complex;
      ok = n == 8 || n == 16;
      break;
    default:
      ok = false;
  }
  if (!ok) fail(path, "unsupported dtype '" + descr + "' (" + supported + ")");
  if (n > 1 && order == '|') fail(path, "unsupported dtype '" + descr + "': multi-byte type without byte order");
  return t;
}

/// Reads one scalar of `bytes` bytes at p, byte-swapping when asked.
template <class T>
inline T load(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap) std::reverse(b, b + sizeof(T));
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

inline double load_real(const unsigned char* p, const DType& t) {
  switch (t.kind) {
    case Kind::Bool:
      return p[0] ? 1.0 : 0.0;
    case Kind::Int:
      switch (t.itemsize) {
        case 1: return static_cast<double>(static_cast<std::int8_t>(p[0]));
        case 2: return load<std::int16_t>(p, t.swap);
        case 4: return load<std::int32_t>(p, t.swap);
        default: return static_cast<double>(load<std::int64_t>(p, t.swap));
      }
    case Kind::UInt:
      switch (t.itemsize) {
        case 1: return p[0];
        case 2: return load<std::uint16_t>(p, t.swap);
        case 4: return load<std::uint32_t>(p, t.swap);
        default: return static_cast<double>(load<std::uint64_t>(p, t.swap));
      }
    case Kind::Float:
      return t.itemsize == 4 ? load<float>(p, t.swap) : load<double>(p, t.swap);
    case Kind::Complex:
      break;
  }
  return 0.0;
}

inline std::string shape_string(const std::vector<Index>& s) {
  std::string out = "(";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  if (s.size() == 1) out += ",";
  return out + ")";
}

/// C-order linear index -> offset in a Fortran-order buffer of the same shape.
inline std::vector<Index> fortran_to_c_permutation(const std::vector<Index>& shape, Index n) {
  std::vector<Index> src(static_cast<std::size_t>(n));
  const std::size_t k = shape.size();
  std::vector<Index> fstride(k, 1);
  for (std::size_t a = 1; a < k; ++a) fstride[a] = fstride[a - 1] * shape[a - 1];
  std::vector<Index> idx(k, 0);
  Index off = 0;  // Fortran offset of the current C-order multi-index
  for (Index c = 0; c < n; ++c) {
    src[static_cast<std::size_t>(c)] = off;
    // increment the C-order multi-index (last axis fastest)
    for (std::size_t a = k; a-- > 0;) {
      if (++idx[a] < shape[a]) {
        off += fstride[a];
        break;
      }
      off -= fstride[a] * (shape[a] - 1);
      idx[a] = 0;
    }
  }
  return src;
}

}  // namespace npy_detail

/// Reads a .npy file (format v1.0/v2.0/v3.0) into single precision, C order.
///
/// Supported dtypes: complex64 '<c8' and complex128 '<c16' (-> complex64, is_complex = true); float32 '<f4',
/// float64 '<f8', integers '|i1' '<i2' '<i4' '<i8' '|u1' '<u2' '<u4' '<u8' and bool '|b1' (-> float32; 64-bit
/// integers above 2^24 lose precision). The same dtypes with '>' (big-endian) are byte-swapped. fortran_order True
/// files are transposed so that `data_*` is C order for `shape`. Values are not checked (NaN is returned as is).
/// Throws Error naming the file for: missing/unreadable file, bad magic, unsupported version, malformed header
/// (missing/extra keys, bad shape), unsupported dtype (e.g. structured, strings, float16), truncated data (file
/// shorter than header + prod(shape) * itemsize) and trailing bytes after the data (header/shape mismatch).
inline NpyArray read_npy(const std::string& path) {
  using namespace npy_detail;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(path, "missing file (no such regular file)");
  const auto file_size = static_cast<std::uintmax_t>(fs::file_size(path, ec));
  if (ec) fail(path, "cannot stat: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open for reading");

  unsigned char pre[8];
  if (file_size < 10 || !in.read(reinterpret_cast<char*>(pre), 8))
    fail(path, "truncated: too short for a .npy preamble (" + std::to_string(file_size) + " bytes)");
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (std::memcmp(pre, magic, 6) != 0) fail(path, "bad magic: not a .npy file (expected \"\\x93NUMPY\")");
  const int major = pre[6], minor = pre[7];
  if (!(major >= 1 && major <= 3) || minor != 0)
    fail(path, "unsupported .npy version " + std::to_string(major) + "." + std::to_string(minor) +
                   " (supported: 1.0, 2.0, 3.0)");
  std::uint64_t header_len = 0;
  std::uint64_t prefix = 0;
  if (major == 1) {
    unsigned char l[2];
    if (!in.read(reinterpret_cast<char*>(l), 2)) fail(path, "truncated header length");
    header_len = l[0] | (std::uint64_t(l[1]) << 8);
    prefix = 10;
  } else {
    unsigned char l[4];
    if (!in.read(reinterpret_cast<char*>(l), 4)) fail(path, "truncated header length");
    header_len = l[0] | (std::uint64_t(l[1]) << 8) | (std::uint64_t(l[2]) << 16) | (std::uint64_t(l[3]) << 24);
    prefix = 12;
  }
  if (prefix + header_len > file_size)
    fail(path, "truncated header: header length " + std::to_string(header_len) + " exceeds the file size " +
                   std::to_string(file_size));
  std::string header(static_cast<std::size_t>(header_len), '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_len))) fail(path, "truncated header");

  NpyArray out;
  HeaderParser(header, path).parse(out.descr, out.fortran_order, out.shape);
  const DType t = parse_descr(out.descr, path);
  out.is_complex = t.kind == Kind::Complex;

  Index n = 1;
  for (Index s : out.shape) {
    if (s != 0 && n > std::numeric_limits<Index>::max() / s / 16) fail(path, "bad header: shape too large");
    n *= s;
  }
  const std::uint64_t data_bytes = static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(t.itemsize);
  const std::uint64_t have = file_size - prefix - header_len;
  if (have < data_bytes)
    fail(path, "truncated data: shape " + shape_string(out.shape) + " of " + out.descr + " needs " +
                   std::to_string(data_bytes) + " bytes, the file holds " + std::to_string(have));
  if (have > data_bytes)
    fail(path, "header/shape mismatch: " + std::to_string(have - data_bytes) +
                   " bytes follow the data of shape " + shape_string(out.shape) + " " + out.descr);

  std::vector<unsigned char> raw(static_cast<std::size_t>(data_bytes));
  if (data_bytes && !in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(data_bytes)))
    fail(path, "truncated data: read failed");

  std::vector<Index> perm;
  const bool transpose = out.fortran_order && out.shape.size() > 1;
  if (transpose) perm = fortran_to_c_permutation(out.shape, n);
  auto src_of = [&](Index c) -> std::size_t {
    return static_cast<std::size_t>(transpose ? perm[static_cast<std::size_t>(c)] : c) *
           static_cast<std::size_t>(t.itemsize);
  };

  if (out.is_complex) {
    out.data_c.resize(static_cast<std::size_t>(n));
    for (Index c = 0; c < n; ++c) {
      const unsigned char* p = raw.data() + src_of(c);
      if (t.itemsize == 8)
        out.data_c[static_cast<std::size_t>(c)] = cfloat(load<float>(p, t.swap), load<float>(p + 4, t.swap));
      else
        out.data_c[static_cast<std::size_t>(c)] = cfloat(static_cast<float>(load<double>(p, t.swap)),
                                                         static_cast<float>(load<double>(p + 8, t.swap)));
    }
  } else {
    out.data_r.resize(static_cast<std::size_t>(n));
    for (Index c = 0; c < n; ++c)
      out.data_r[static_cast<std::size_t>(c)] = static_cast<float>(load_real(raw.data() + src_of(c), t));
  }
  return out;
}

/// Dims (x, y, coil, frame, batch) for a C-order shape of rank <= 5.
/// `axes` names the file's axes, slowest first, with letters from "bfcyx" (batch, frame, coil, y, x) in that order
/// (a pure reshape: the bytes stay put). Empty (default) means the last rank letters of "bfcyx": the shape is reversed
/// and padded with 1s, so (320, 256) -> (256, 320, 1, 1, 1) and (2, 320, 256) -> (256, 320, 2, 1, 1) (the leading
/// axis lands on coil); with axes "byx" (2, 320, 256) -> (256, 320, 1, 1, 2), with "fyx" (30, 184, 256) ->
/// (256, 184, 1, 30, 1). Throws Error (naming `path`) for rank > 5, or when `axes` has the wrong length, a letter
/// outside "bfcyx", or letters out of order / repeated.
inline Dims npy_shape_to_dims(const std::vector<Index>& shape, const std::string& path = "<array>",
                              const std::string& axes = "") {
  if (shape.size() > 5)
    throw Error("npy file " + path + ": rank " + std::to_string(shape.size()) + " shape " +
                npy_detail::shape_string(shape) + " has more than 5 axes (x, y, coil, frame, batch)");
  static const std::string order = "bfcyx";  // C-order names of dims 4, 3, 2, 1, 0
  const std::string ax = axes.empty() ? order.substr(5 - shape.size()) : axes;
  if (ax.size() != shape.size())
    throw Error("npy file " + path + ": axes \"" + ax + "\" name " + std::to_string(ax.size()) +
                " axes but the shape " + npy_detail::shape_string(shape) + " has " + std::to_string(shape.size()));
  Dims d{1, 1, 1, 1, 1};
  std::size_t last = 0;
  for (std::size_t i = 0; i < ax.size(); ++i) {
    const std::size_t pos = order.find(ax[i]);
    if (pos == std::string::npos || (i > 0 && pos <= last))
      throw Error("npy file " + path + ": bad axes \"" + ax +
                  "\": use letters of \"bfcyx\" (batch, frame, coil, y, x) in that order, each at most once");
    last = pos;
    d[4 - pos] = shape[i];
  }
  return d;
}

/// Reads a .npy file as a complex array with dims from npy_shape_to_dims(shape, path, axes): by default the
/// reversed C-order shape padded with 1s (x = last axis), e.g. (2, 320, 256) complex64 -> dims (256, 320, 2, 1, 1);
/// with axes "byx" -> (256, 320, 1, 1, 2). Real dtypes are accepted (imaginary part 0).
/// Throws Error as read_npy and npy_shape_to_dims do.
inline CArray read_npy_complex(const std::string& path, const std::string& axes = "") {
  NpyArray a = read_npy(path);
  const Dims d = npy_shape_to_dims(a.shape, path, axes);
  CArray out(d[0], d[1], d[2], d[3], d[4]);
  if (a.is_complex)
    std::copy(a.data_c.begin(), a.data_c.end(), out.data());
  else
    for (std::size_t i = 0; i < a.data_r.size(); ++i) out.data()[i] = cfloat(a.data_r[i], 0.0f);
  return out;
}

/// Reads a .npy file as a real (float32) array with dims from npy_shape_to_dims(shape, path, axes); e.g. a
/// (320, 256) uint8 mask -> dims (256, 320, 1, 1, 1) holding 0/1. Throws Error as read_npy and npy_shape_to_dims
/// do, and for complex files ("complex dtype ... use read_npy_complex").
inline RArray read_npy_real(const std::string& path, const std::string& axes = "") {
  NpyArray a = read_npy(path);
  if (a.is_complex)
    throw Error("npy file " + path + ": complex dtype '" + a.descr +
                "' where a real array was expected (use read_npy_complex)");
  const Dims d = npy_shape_to_dims(a.shape, path, axes);
  RArray out(d[0], d[1], d[2], d[3], d[4]);
  std::copy(a.data_r.begin(), a.data_r.end(), out.data());
  return out;
}

namespace npy_detail {

/// Default C-order shape for dims: reversed, with trailing size-1 dims (coil/frame/batch...) dropped down to rank 2.
inline std::vector<Index> default_shape(const Dims& d) {
  std::size_t k = 5;
  while (k > 2 && d[k - 1] == 1) --k;
  std::vector<Index> s(k);
  for (std::size_t i = 0; i < k; ++i) s[i] = d[k - 1 - i];
  return s;
}

inline void write_raw(const std::string& path, const std::string& descr, std::vector<Index> shape,
                      const Dims& dims, const void* data, std::size_t bytes) {
  Index n = 1;
  for (Index s : shape) {
    if (s < 0) throw Error("write_npy " + path + ": negative size in shape " + shape_string(shape));
    n *= s;
  }
  if (n != dims_size(dims))
    throw Error("write_npy " + path + ": shape " + shape_string(shape) + " holds " + std::to_string(n) +
                " elements but the array has dims " + dims_string(dims) + " (" + std::to_string(dims_size(dims)) +
                " elements)");
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_string(shape) + ", }";
  // Pad with spaces so that magic + version + length + dict + '\n' is a multiple of 64 bytes.
  std::size_t prefix = 10;
  std::size_t total = prefix + dict.size() + 1;
  if (total + (64 - total % 64) % 64 - prefix > 65535) prefix = 12;  // needs format 2.0
  total = prefix + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string head = "\x93NUMPY";
  const std::uint64_t hl = dict.size();
  if (prefix == 10) {
    head += '\x01';
    head += '\x00';
    head += static_cast<char>(hl & 0xff);
    head += static_cast<char>((hl >> 8) & 0xff);
  } else {
    head += '\x02';
    head += '\x00';
    for (int b = 0; b < 4; ++b) head += static_cast<char>((hl >> (8 * b)) & 0xff);
  }
  head += dict;
  atomic_write(path, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    out.close();
    if (!out) throw Error("write_npy: cannot write " + tmp.string());
  });
}

}  // namespace npy_detail

/// Writes a complex array as a .npy v1.0 file (v2.0 if the header needs it), dtype '<c8', C order, atomically
/// (io::atomic_write). `shape` is the C-order shape to record; when empty, the reversed dims with trailing size-1
/// dims dropped down to rank 2: dims (nx, ny, 1, 1, 1) -> (ny, nx); (256, 320, 1, 1, 2) -> (2, 1, 1, 320, 256).
/// Throws Error when prod(shape) differs from the array size, or when the file cannot be written.
inline void write_npy(const std::string& path, const CArray& a, std::vector<Index> shape = {}) {
  const Dims d = dims_of(a);
  if (shape.empty()) shape = npy_detail::default_shape(d);
  npy_detail::write_raw(path, "<c8", shape, d, a.data(), static_cast<std::size_t>(a.size()) * sizeof(cfloat));
}

/// Writes a real array as a .npy file, dtype '<f4'; otherwise as the complex overload.
inline void write_npy(const std::string& path, const RArray& a, std::vector<Index> shape = {}) {
  const Dims d = dims_of(a);
  if (shape.empty()) shape = npy_detail::default_shape(d);
  npy_detail::write_raw(path, "<f4", shape, d, a.data(), static_cast<std::size_t>(a.size()) * sizeof(float));
}

}  // namespace reconlab::io
