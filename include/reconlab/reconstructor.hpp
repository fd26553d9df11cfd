#pragma once
/// @file reconstructor.hpp
/// The one interface every compared method implements, so a study is a loop over cases and methods.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "reconlab/acquisition.hpp"
#include "reconlab/array.hpp"

namespace reconlab {

/// A reconstruction method: zero-filled, ROF, CS-TV, BART pics, a trained network, ...
/// reconstruct() returns the complex image on the acquisition's grid with its frames, dims (nx, ny, 1, frames, 1)
/// (acq.resolved_image_dims(); coil-combined), in the units of F^H kspace. Methods that produce magnitude images
/// return them with zero imaginary part. A method that cannot handle frames, coils or the acquisition's sampling
/// throws Error saying so (never a silently wrong picture).
class Reconstructor {
 public:
  virtual ~Reconstructor() = default;
  /// Short name for tables ("zero-filled", "cs-tv", ...).
  virtual std::string name() const = 0;
  /// The parameters that define this method (for tables and manifests).
  virtual nlohmann::json parameters() const = 0;
  /// Reconstructs one acquisition. Throws Error on invalid input (see validate_acquisition).
  virtual CArray reconstruct(const Acquisition& acq) = 0;
};

}  // namespace reconlab
