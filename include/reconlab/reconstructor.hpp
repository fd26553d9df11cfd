#pragma once
/// @file reconstructor.hpp
/// The one interface every compared method implements, so a study is a loop over cases and methods.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "reconlab/array.hpp"

namespace reconlab {

/// One acquisition to reconstruct.
/// - kspace: centred k-space (F = centred unitary FFT), dims (nx, ny, coils, frames, batch); zero where not
///   acquired. Units: arbitrary (whatever the scanner or simulation produced).
/// - mask: dims (nx, ny, 1, 1, 1), values 0/1, 1 where a sample was acquired.
/// - sensitivities: coil sensitivity maps, dims (nx, ny, coils, 1, 1), when known (multi-coil methods).
/// - metadata: free-form (case id, acceleration R, centre fraction, source file, ...).
struct Acquisition {
  CArray kspace;
  RArray mask;
  std::optional<CArray> sensitivities;
  nlohmann::json metadata = nlohmann::json::object();
};

/// Checks an acquisition before any method touches it: finite k-space, a non-empty 0/1 mask whose in-plane size
/// matches the k-space. Throws Error naming the problem.
inline void validate_acquisition(const Acquisition& acq) {
  const Dims kd = dims_of(acq.kspace);
  const Dims md = dims_of(acq.mask);
  require(kd[0] > 0 && kd[1] > 0, "acquisition: k-space is empty (" + dims_string(kd) + ")");
  require(md[0] == kd[0] && md[1] == kd[1] && md[2] == 1 && md[3] == 1 && md[4] == 1,
          "acquisition: mask dims " + dims_string(md) + " do not match k-space dims " + dims_string(kd) +
              " (expected " + std::to_string(kd[0]) + " x " + std::to_string(kd[1]) + " x 1 x 1 x 1)");
  require_finite(acq.kspace, "acquisition k-space");
  require_finite(acq.mask, "acquisition mask");
  double ones = 0;
  for (Index i = 0; i < acq.mask.size(); ++i) {
    const float v = acq.mask.data()[i];
    require(v == 0.0f || v == 1.0f, "acquisition: mask values must be 0 or 1, found " + std::to_string(v));
    ones += v;
  }
  require(ones > 0, "acquisition: the sampling mask is empty (no acquired samples)");
}

/// A reconstruction method: zero-filled, ROF, CS-TV, BART pics, a trained network, ...
/// reconstruct() returns the complex image, dims (nx, ny, 1, 1, 1) (coil-combined), in the units of
/// F^H kspace. Methods that produce magnitude images return them with zero imaginary part.
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
