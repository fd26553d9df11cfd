#pragma once
/// @file error.hpp
/// The one exception type of reconlab, thrown at every boundary (file readers, constructors, the CLI).
#include <stdexcept>
#include <string>
#include <string_view>

namespace reconlab {

/// Thrown when input is not what reconlab expects: wrong shapes, malformed or truncated files, non-finite
/// k-space, an empty mask, a missing external tool. The message names what was expected and what came.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws reconlab::Error(message) when `condition` is false.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

/// `bytes` made safe to print on one line: printable ASCII (0x20-0x7e) is kept as it is; every other byte
/// (control characters such as \x07 or a newline, DEL, and each byte of non-ASCII text) becomes a four-character
/// escape "\xHH" (lower-case hex). Backslashes are kept, so applying it twice changes nothing more. Used for
/// messages that echo bytes read from files (the .npy/.cfl readers) and by the CLI before it prints an error.
inline std::string printable(std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace reconlab
