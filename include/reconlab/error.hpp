#pragma once
/// @file error.hpp
/// The one exception type of reconlab, thrown at every boundary (file readers, constructors, the CLI).
#include <stdexcept>
#include <string>

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

}  // namespace reconlab
