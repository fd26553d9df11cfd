#pragma once
/// @file super_resolution.hpp
/// Super-resolution from a low-resolution acquisition (Acquisition::low_resolution, acquisition.hpp): simulating
/// one from a high-resolution image, and the classical interpolators as Reconstructors.
///
///   zero-padding  sinc interpolation: the low-resolution k-space zero-padded to the image grid (for k-space
///                 truncation exactly D^H y = A^H y, the minimum-norm solution of A x = y);
///   bicubic       Keys' cubic convolution (Keys, IEEE TASSP 29(6), 1981, a = -1/2; resampling.hpp), pixel grid
///                 aligned to the acquisition's model (block centres for block averages, grid origins for
///                 k-space truncation);
///   tv-sr         TV-regularised super-resolution min_x 0.5 ||A x - y||^2 + lambda TV(x) with A = F_l D: the
///                 one CS-TV solver on the low-resolution forward model (CsTvReconstructor on this acquisition;
///                 forward_model.hpp builds A), lambda relative to the maximum of A^H y.
///
/// Units: every method returns the high-resolution image x whose model A x reproduces the data (see
/// LowResolution: for k-space truncation a constant c in x gives a low-resolution image of intensity c s, for
/// block averages c), so the methods and a ground truth x_true with y = A x_true share units.
#include <string>

#include "reconlab/acquisition.hpp"
#include "reconlab/forward_model.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/random.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/resampling.hpp"

namespace reconlab::solvers {

/// Simulates the low-resolution acquisition of `image` (nx, ny, 1, frames, 1; complex or real cast to complex) at
/// factor s (>= 1, dividing nx and ny) under `model`: k-space y = F_l D x (nx/s, ny/s, 1, frames, 1), a mask of
/// ones, image_dims (nx, ny, 1, frames, 1), low_resolution = model, plus complex Gaussian noise of standard
/// deviation `noise_std` x (the RMS of the noiseless k-space) per real and imaginary part (reconlab::Rng(seed),
/// deterministic on any standard library). metadata: "resolution_factor", "low_resolution", "noise_std".
/// Throws Error for model none, a factor that does not divide the grid, a negative noise level, non-finite or
/// empty images and images with coils or a batch.
inline Acquisition simulate_low_resolution(const CArray& image, Index s, LowResolution model, double noise_std = 0.0,
                                           uint64_t seed = 0) {
  const Dims d = dims_of(image);
  require(model != LowResolution::none, "simulate_low_resolution: the model must be kspace-truncation or block-average");
  require(d[0] > 0 && d[1] > 0 && d[2] == 1 && d[3] >= 1 && d[4] == 1,
          "simulate_low_resolution: the image must have dims (nx, ny, 1, frames, 1), got " + dims_string(d));
  require(s >= 1 && d[0] % s == 0 && d[1] % s == 0,
          "simulate_low_resolution: the factor " + std::to_string(s) + " must be >= 1 and divide " +
              std::to_string(d[0]) + " x " + std::to_string(d[1]));
  require(std::isfinite(noise_std) && noise_std >= 0,
          "simulate_low_resolution: noise_std must be finite and >= 0, got " + std::to_string(noise_std));
  require_finite(image, "simulate_low_resolution image");
  Acquisition acq;
  acq.image_dims = {d[0], d[1], 1, d[3], 1};
  acq.low_resolution = model;
  const CArray low = model == LowResolution::kspace_truncation
                         ? KspaceTruncation<EigenFftw>::by_factor(d[0], d[1], s).apply(image)
                         : BlockAverage(d[0], d[1], s).apply(image);
  acq.kspace = EigenFftw::fft2c(low);
  if (noise_std > 0) {
    double rms = 0;
    for (Index i = 0; i < acq.kspace.size(); ++i) rms += std::norm(acq.kspace.data()[i]);
    rms = std::sqrt(rms / double(acq.kspace.size()));
    Random rng(seed);
    const float sd = float(noise_std * rms);
    for (Index i = 0; i < acq.kspace.size(); ++i)
      acq.kspace.data()[i] += cfloat(sd * float(rng.normal()), sd * float(rng.normal()));
  }
  RArray mask(d[0] / s, d[1] / s, 1, 1, 1);
  mask.setConstant(1.0f);
  acq.sampling = mask;
  acq.metadata["resolution_factor"] = s;
  acq.metadata["low_resolution"] = to_string(model);
  acq.metadata["noise_std"] = noise_std;
  return acq;
}

/// Throws Error unless `acq` is a valid low-resolution acquisition (validate_acquisition with low_resolution set).
/// `method` names the caller.
inline void require_low_resolution(const Acquisition& acq, const std::string& method) {
  require(acq.low_resolution != LowResolution::none,
          method + " is a super-resolution method: the acquisition must be low-resolution (set low_resolution and "
                   "image_dims, e.g. with simulate_low_resolution)");
  validate_acquisition(acq);
}

/// The low-resolution image F_l^H y of a low-resolution acquisition, (nx/s, ny/s, 1, frames, 1), in the units of
/// D x (see LowResolution): complex for one coil, the root-sum-of-squares over coils (real) for several. Throws
/// Error as require_low_resolution.
inline CArray low_resolution_image(const Acquisition& acq) {
  require_low_resolution(acq, "low_resolution_image");
  const CArray coils = EigenFftw::ifft2c(acq.kspace);
  if (acq.coils() == 1) return coils;
  return to_complex(rss(coils));
}

/// The low-resolution image in the high-resolution intensity units (a constant c of x gives c): F_l^H y / s for
/// k-space truncation, F_l^H y for block averages; dims as low_resolution_image.
inline CArray low_resolution_image_in_image_units(const Acquisition& acq) {
  const CArray low = low_resolution_image(acq);
  if (acq.low_resolution == LowResolution::block_average) return low;
  return low * cfloat(1.0f / float(acq.resolution_factor()));
}

/// The low-resolution acquisition whose low-resolution image in image units (low_resolution_image_in_image_units)
/// is `low` (nx/s, ny/s, 1, frames, 1; e.g. a low-resolution magnitude image read from a file): k-space
/// F_l low x s for k-space truncation (a constant c in the high-resolution image gives c s there, LowResolution),
/// F_l low for block averages; a mask of ones, image_dims (s nx/s, s ny/s, 1, frames, 1), metadata
/// "resolution_factor" and "low_resolution". Throws Error for model none, s < 1, coils or a batch, empty or
/// non-finite images.
inline Acquisition low_resolution_acquisition(const CArray& low, Index s, LowResolution model) {
  const Dims d = dims_of(low);
  require(model != LowResolution::none,
          "low_resolution_acquisition: the model must be kspace-truncation or block-average");
  require(d[0] > 0 && d[1] > 0 && d[2] == 1 && d[3] >= 1 && d[4] == 1,
          "low_resolution_acquisition: the image must have dims (nx, ny, 1, frames, 1), got " + dims_string(d));
  require(s >= 1, "low_resolution_acquisition: the factor must be >= 1, got " + std::to_string(s));
  require_finite(low, "low_resolution_acquisition image");
  Acquisition acq;
  acq.image_dims = {d[0] * s, d[1] * s, 1, d[3], 1};
  acq.low_resolution = model;
  acq.kspace = EigenFftw::fft2c(low);
  if (model == LowResolution::kspace_truncation) acq.kspace = acq.kspace * cfloat(float(s));
  RArray mask(d[0], d[1], 1, 1, 1);
  mask.setConstant(1.0f);
  acq.sampling = mask;
  acq.metadata["resolution_factor"] = s;
  acq.metadata["low_resolution"] = to_string(model);
  return acq;
}

/// Zero-padded k-space (sinc) interpolation onto image_dims: for k-space truncation D^H F_l^H y (the adjoint and
/// pseudo-inverse of A, D D^H = I); for block averages the sinc interpolation of the low-resolution image, which
/// keeps a constant's value. Multi-coil data are combined by root-sum-of-squares first (real output).
/// Output (nx, ny, 1, frames, 1). Throws Error as require_low_resolution.
class ZeroPaddingReconstructor : public Reconstructor {
 public:
  std::string name() const override { return "zero-padding"; }
  nlohmann::json parameters() const override {
    return {{"method", "sinc interpolation: low-resolution k-space zero-padded to the image grid"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    const CArray low = low_resolution_image_in_image_units(acq);
    const Dims id = acq.resolved_image_dims();
    return sinc_upsample(low, id[0], id[1]);
  }
};

/// Bicubic interpolation (Keys 1981, a = -1/2) of the low-resolution image onto image_dims, with block-centre
/// alignment for block averages and grid-origin alignment for k-space truncation (resampling.hpp's
/// bicubic_upsample); edges replicated; complex images interpolate real and imaginary parts. Multi-coil data are
/// combined by root-sum-of-squares first. Output (nx, ny, 1, frames, 1). Throws Error as require_low_resolution.
class BicubicReconstructor : public Reconstructor {
 public:
  std::string name() const override { return "bicubic"; }
  nlohmann::json parameters() const override {
    return {{"method", "Keys cubic convolution, a = -1/2"},
            {"alignment", "block centres (block-average), grid origins (kspace-truncation)"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    const CArray low = low_resolution_image_in_image_units(acq);
    return bicubic_upsample(low, acq.resolution_factor(), acq.low_resolution == LowResolution::block_average);
  }
};

}  // namespace reconlab::solvers
