#pragma once
/// @file acquisition.hpp
/// What was measured and how: k-space, its sampling (a Cartesian mask or sampling weights, or a non-Cartesian
/// trajectory), optional coil sensitivity maps, and the image grid the reconstruction returns (frames included).
/// Every Reconstructor takes an Acquisition; `forward_model` (forward_model.hpp) builds its operator A.
///
/// Design (issue "Acquisition and operator model v2"; after deepinv's Physics and BART's pics inputs): sampling is
/// a value, not an assumption. The image grid and frame count are part of the acquisition, so k-space whose grid
/// differs from the image grid (a trajectory, an oversampled or low-resolution grid) is described, not implied.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "reconlab/array.hpp"

namespace reconlab {

/// Cartesian sampling: `values` marks which k-space samples were acquired.
/// - dims (nx, ny, c, f, b) where each of c, f, b is 1 (broadcast over that axis of the k-space) or equal to
///   the k-space's size: one plane for all coils/frames, one pattern per frame (k-t sampling), one per sample.
/// - values in [0, 1]: 0/1 for a mask; fractional values are sampling weights (a learned or soft mask). Methods
///   that need a binary mask (GRAPPA, view sharing, BART) check `binary()` and say so.
/// Implicitly constructible from an RArray, so `acq.sampling = mask;` reads as it should.
struct CartesianMask {
  RArray values;
  CartesianMask() = default;
  CartesianMask(RArray v) : values(std::move(v)) {}  // NOLINT: implicit on purpose (see above)
  /// True when every value is exactly 0 or 1.
  bool binary() const {
    for (Index i = 0; i < values.size(); ++i)
      if (values.data()[i] != 0.0f && values.data()[i] != 1.0f) return false;
    return true;
  }
};

/// Non-Cartesian sampling: the k-space location of every sample.
/// - coords: dims (2, samples, spokes, frames, 1): (kx, ky) in BART's convention, cycles per field of view, so
///   a sample at kx = j lies on the j-th Cartesian column from the centre; the image grid's Nyquist extent is
///   [-nx/2, nx/2). The k-space of such an acquisition has dims (samples, spokes, coils, frames, 1).
/// - density: optional density compensation weights, dims (samples, spokes, 1, frames or 1, 1), >= 0.
/// The operators for trajectories (NUFFT) come with the non-Cartesian issue; today validate_acquisition checks the
/// shapes and methods that need a Cartesian grid reject a trajectory with a clear error.
struct Trajectory {
  RArray coords;
  std::optional<RArray> density;
};

/// The sampling of an acquisition: Cartesian (mask or weights) or a trajectory.
using Sampling = std::variant<CartesianMask, Trajectory>;

/// How a low-resolution acquisition relates to the high-resolution image it is reconstructed on
/// (super-resolution; resampling.hpp has the operators D). With s = image_dims / k-space grid (an integer >= 1,
/// the same along x and y), the Cartesian k-space (nx/s, ny/s, coils, frames, 1) is y = F_l D x:
/// - kspace_truncation: D = KspaceTruncation (the physical low-resolution scan: the centre nx/s x ny/s of the
///   high-resolution centred unitary k-space, so y = C F_h x and a constant image c has low-resolution image
///   intensity c s);
/// - block_average: D = BlockAverage (image-domain downsampling by the mean of s x s blocks, how many
///   super-resolution papers simulate their inputs, e.g. seed 002's "4 times downsampled" images; a constant c
///   stays c).
/// `none` (the default): the k-space grid is the image grid.
enum class LowResolution { none, kspace_truncation, block_average };

/// "none", "kspace-truncation" or "block-average" (the names of results, manifests and the CLI).
inline std::string to_string(LowResolution m) {
  switch (m) {
    case LowResolution::kspace_truncation: return "kspace-truncation";
    case LowResolution::block_average: return "block-average";
    default: return "none";
  }
}

/// The inverse of to_string. Throws Error for another name, listing the valid ones.
inline LowResolution low_resolution_from_string(const std::string& name) {
  for (LowResolution m : {LowResolution::none, LowResolution::kspace_truncation, LowResolution::block_average})
    if (to_string(m) == name) return m;
  throw Error("unknown low-resolution model \"" + name + "\"; valid: none, kspace-truncation, block-average");
}

/// One acquisition to reconstruct (one case: the batch axis is 1).
/// - kspace: centred k-space (F = centred unitary 2D FFT over (x, y)), dims (nx, ny, coils, frames, 1) on a
///   Cartesian grid, or (samples, spokes, coils, frames, 1) for a trajectory; zero where not acquired. Units:
///   whatever the scanner or simulation produced (results scale with them as the mathematics says).
/// - sampling: see CartesianMask and Trajectory.
/// - sensitivities: coil sensitivity maps, dims (nx, ny, coils, 1, 1) on the image grid, when known.
/// - image_dims: the reconstruction's grid (nx, ny, 1, frames, 1); all zeros (the default) means "the k-space
///   grid", which is only defined for Cartesian sampling (see resolved_image_dims).
/// - metadata: free-form (case id, acceleration R, centre fraction, source file, ...).
/// - low_resolution: for super-resolution, how the (fully sampled) low-resolution k-space relates to the larger
///   image_dims (see LowResolution); image_dims must then be s times the k-space grid.
struct Acquisition {
  CArray kspace;
  Sampling sampling;
  std::optional<CArray> sensitivities = std::nullopt;
  nlohmann::json metadata = nlohmann::json::object();
  Dims image_dims{0, 0, 0, 0, 0};
  LowResolution low_resolution = LowResolution::none;

  /// True for Cartesian sampling.
  bool cartesian() const { return std::holds_alternative<CartesianMask>(sampling); }
  /// The Cartesian mask / weights. Throws Error for a trajectory, naming what was expected.
  const RArray& mask() const {
    if (const auto* m = std::get_if<CartesianMask>(&sampling)) return m->values;
    throw Error("this method needs Cartesian sampling (a k-space mask); the acquisition has a non-Cartesian "
                "trajectory");
  }
  /// The trajectory. Throws Error for Cartesian sampling.
  const Trajectory& trajectory() const {
    if (const auto* t = std::get_if<Trajectory>(&sampling)) return *t;
    throw Error("this acquisition is Cartesian; a trajectory was expected");
  }
  /// Number of frames (the k-space's frame axis).
  Index frames() const { return kspace.dimension(3); }
  /// Number of coils (the k-space's coil axis).
  Index coils() const { return kspace.dimension(2); }
  /// The reconstruction grid (nx, ny, 1, frames, 1): image_dims when set, else the Cartesian k-space grid.
  /// Throws Error for a trajectory without image_dims.
  Dims resolved_image_dims() const {
    if (image_dims[0] > 0) return image_dims;
    require(cartesian(), "acquisition: a non-Cartesian acquisition must give image_dims (nx, ny, 1, frames, 1)");
    return {kspace.dimension(0), kspace.dimension(1), 1, kspace.dimension(3), 1};
  }
  /// The super-resolution factor s (image_dims / k-space grid) of a low-resolution acquisition, 1 otherwise.
  Index resolution_factor() const {
    if (low_resolution == LowResolution::none || image_dims[0] <= 0 || kspace.dimension(0) == 0) return 1;
    return image_dims[0] / kspace.dimension(0);
  }
};

/// The sampling mask implied by zero-filled k-space: 1 where any coil's sample is non-zero, else 0, per frame.
/// `kspace`: dims (nx, ny, coils, frames, batch); returns dims (nx, ny, 1, frames, batch) (one plane when the
/// k-space has one frame). For data that stores unacquired samples as exact zeros (BART, fastMRI, scanners'
/// zero-filled exports); a sample that was acquired and is exactly 0 is counted as missing.
inline RArray mask_from_kspace(const CArray& kspace) {
  const Dims d = dims_of(kspace);
  RArray m(d[0], d[1], 1, d[3], d[4]);
  m.setZero();
  const Index plane = d[0] * d[1];
  for (Index o = 0; o < d[3] * d[4]; ++o)
    for (Index c = 0; c < d[2]; ++c) {
      const cfloat* k = kspace.data() + (o * d[2] + c) * plane;
      float* mp = m.data() + o * plane;
      for (Index i = 0; i < plane; ++i)
        if (k[i] != cfloat(0)) mp[i] = 1.0f;
    }
  return m;
}

/// Checks an acquisition before any method touches it. Throws Error naming the problem:
/// - k-space non-empty, finite, batch axis 1;
/// - Cartesian: mask dims broadcast onto the k-space (require_broadcastable), values finite and in [0, 1],
///   at least one sample acquired; image_dims, when given, equal to the k-space grid (nx, ny, 1, frames, 1);
/// - trajectory: coords (2, samples, spokes, frames or 1, 1) matching the k-space's (samples, spokes, .., frames),
///   finite; density (when given) (samples, spokes, 1, frames or 1, 1), finite and >= 0; image_dims given, with
///   positive nx, ny and the k-space's frame count;
/// - sensitivities (when given): (nx, ny, coils, 1, 1) on the image grid with the k-space's coil count, finite.
inline void validate_acquisition(const Acquisition& acq) {
  const Dims kd = dims_of(acq.kspace);
  require(kd[0] > 0 && kd[1] > 0 && kd[2] > 0 && kd[3] > 0 && kd[4] > 0,
          "acquisition: k-space is empty (" + dims_string(kd) + ")");
  require(kd[4] == 1, "acquisition: one case per acquisition (batch axis 1), k-space has dims " + dims_string(kd));
  require_finite(acq.kspace, "acquisition k-space");
  if (acq.cartesian()) {
    const RArray& m = acq.mask();
    const Dims md = dims_of(m);
    require_broadcastable(md, kd, "acquisition: mask");
    double sum = 0;
    for (Index i = 0; i < m.size(); ++i) {
      const float v = m.data()[i];
      require(std::isfinite(v) && v >= 0.0f && v <= 1.0f,
              "acquisition: mask values must be 0/1 (or sampling weights in [0, 1]), found " + std::to_string(v) +
                  " at linear index " + std::to_string(i));
      sum += v;
    }
    require(sum > 0, "acquisition: the sampling mask is empty (no acquired samples)");
    if (acq.low_resolution != LowResolution::none) {
      const Dims id = acq.image_dims;
      const Index s = kd[0] > 0 ? id[0] / kd[0] : 0;
      require(s >= 1 && id[0] == s * kd[0] && id[1] == s * kd[1] && id[2] == 1 && id[3] == kd[3] && id[4] == 1,
              "acquisition: a low-resolution (" + to_string(acq.low_resolution) +
                  ") acquisition needs image_dims (s nx, s ny, 1, frames, 1) for an integer factor s >= 1 of its "
                  "k-space grid " + dims_string(kd) + ", got " + dims_string(id));
      require(sum == double(m.size()) && md[0] == kd[0] && md[1] == kd[1],
              "acquisition: a low-resolution acquisition must be fully sampled on its k-space grid (mask of ones, "
              "dims " + dims_string(kd) + "); super-resolution of undersampled k-space is not supported");
    } else if (acq.image_dims[0] > 0) {
      const Dims want{kd[0], kd[1], 1, kd[3], 1};
      require(acq.image_dims == want, "acquisition: Cartesian image_dims " + dims_string(acq.image_dims) +
                                          " differ from the k-space grid " + dims_string(want) +
                                          " (set low_resolution for a low-resolution acquisition)");
    }
  } else {
    require(acq.low_resolution == LowResolution::none,
            "acquisition: low_resolution applies to Cartesian k-space, the acquisition has a trajectory");
    const Trajectory& t = acq.trajectory();
    const Dims td = dims_of(t.coords);
    require(td[0] == 2 && td[1] == kd[0] && td[2] == kd[1] && (td[3] == kd[3] || td[3] == 1) && td[4] == 1,
            "acquisition: trajectory dims " + dims_string(td) + " do not fit k-space dims " + dims_string(kd) +
                " (expected 2 x samples x spokes x frames x 1 for k-space samples x spokes x coils x frames x 1)");
    require_finite(t.coords, "acquisition trajectory");
    if (t.density) {
      const Dims dd = dims_of(*t.density);
      require(dd[0] == kd[0] && dd[1] == kd[1] && dd[2] == 1 && (dd[3] == kd[3] || dd[3] == 1) && dd[4] == 1,
              "acquisition: density compensation dims " + dims_string(dd) + " do not fit k-space dims " +
                  dims_string(kd));
      require_finite(*t.density, "acquisition density compensation");
      for (Index i = 0; i < t.density->size(); ++i)
        require(t.density->data()[i] >= 0.0f, "acquisition: negative density compensation weight at index " +
                                                  std::to_string(i));
    }
    const Dims id = acq.image_dims;
    require(id[0] > 0 && id[1] > 0 && id[2] == 1 && id[3] == kd[3] && id[4] == 1,
            "acquisition: a trajectory needs image_dims (nx, ny, 1, frames, 1) with frames = " +
                std::to_string(kd[3]) + ", got " + dims_string(id));
  }
  if (acq.sensitivities) {
    const Dims sd = dims_of(*acq.sensitivities);
    const Dims id = acq.resolved_image_dims();
    require(sd[3] == 1 && sd[4] == 1 && sd[0] == id[0] && sd[1] == id[1],
            "acquisition: sensitivity maps dims " + dims_string(sd) + " do not fit the image grid " +
                std::to_string(id[0]) + " x " + std::to_string(id[1]) + " (expected nx x ny x coils x 1 x 1)");
    require(sd[2] == kd[2], "acquisition: coil counts disagree: k-space has " + std::to_string(kd[2]) +
                                " coils, sensitivity maps have " + std::to_string(sd[2]));
    require_finite(*acq.sensitivities, "acquisition sensitivity maps");
  }
}

/// Throws Error unless `acq` has one frame: for methods that reconstruct a single image. `method` names the caller.
inline void require_single_frame(const Acquisition& acq, const std::string& method) {
  require(acq.frames() == 1, method + " reconstructs one frame; this acquisition has " +
                                 std::to_string(acq.frames()) + " frames (use a method that supports frames, "
                                 "e.g. zero-filled, cs-tv or cg-sense)");
}

/// Throws Error unless `acq` is Cartesian with a 0/1 mask: for methods that need to know which samples exist.
inline void require_binary_mask(const Acquisition& acq, const std::string& method) {
  (void)acq.mask();  // throws for a trajectory
  require(std::get<CartesianMask>(acq.sampling).binary(), method + " needs a 0/1 sampling mask, not sampling weights");
}

}  // namespace reconlab
