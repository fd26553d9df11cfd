#pragma once
/// @file recon_methods.hpp
/// The one place that turns a method name and its parameters into a Reconstructor for a Cartesian acquisition
/// (single- or multi-coil, 2D or cine, super-resolution). `reconlab recon` and the Python module
/// (python/reconlab_python.cpp) both call it, so the two offer the same methods with the same defaults.
/// Trajectory acquisitions have their own factory here (make_trajectory_reconstructor), shared the same way.
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/reconstructor.hpp"

namespace reconlab::tool {

/// The parameters of `reconlab recon` shared by every Cartesian method; unset optionals take each method's default
/// (listed in make_cartesian_reconstructor).
struct ReconOptions {
  std::optional<double> lambda;    ///< rof weight (image units); cs-tv / cs-wavelet lambda relative to the zero-filled
                                   ///< maximum; bart-pics -r; l+s lambda_s; cg-sense Tikhonov weight
  std::optional<double> lambda_t;  ///< temporal TV weight of k-t TV (cs-tv, bart-pics); >= 0
  std::optional<double> lambda_l;  ///< l+s nuclear-norm weight (relative to the largest singular value)
  std::optional<int> iterations;   ///< iteration cap (rof, cs-tv, cs-wavelet, bart-pics, cg-sense, l+s)
  std::string maps_source = "lowres";  ///< coil maps when the acquisition has none: "lowres" (ours) or "ecalib" (BART)
  double window_width = 1.0;           ///< lowpass-*: fraction of k-space the window spans, (0, 1]
  std::string weights;                 ///< networks: final.pt or a checkpoint (model.json beside it)
  Index sliding_window = 0;            ///< view-sharing of a trajectory cine: frames per window (0: automatic)
};

/// The names of the methods that are not networks (Cartesian, trajectory and super-resolution methods alike).
const std::vector<std::string>& classical_methods();

/// True when `method` is one of classical_methods().
bool classical_method(const std::string& method);

/// The Reconstructor `method` for the Cartesian acquisition `acq` (already validated: validate_acquisition, and
/// solvers::validate_multicoil for multi-coil data). May set acq.sensitivities (maps estimated from the ACS region,
/// options.maps_source) where the method needs maps and the acquisition has none.
/// Defaults: zero-filled, rof, cs-tv and bart-pics (and tv-sr, a cs-tv) come from the one classical factory,
/// solvers::make_classical_reconstructor (rof weight 0.05 with the duality-gap stop; cs-tv lambda 2e-3 with the
/// residual stop; bart-pics lambda 0.01, 100 iterations); cs-wavelet / multi-coil cs-tv lambda 2e-3, 200
/// iterations; multi-coil bart-pics lambda 0.005; cg-sense 30 iterations, lambda 0; l+s LowRankSparseOptions'.
/// Throws Error for an unknown method, a trajectory-only method, a super-resolution method without a low-resolution
/// acquisition (and the reverse), parameters the method does not take (lambda_t, lambda_l), single-coil methods given
/// multi-coil data, and (networks) anything tool::make_network_reconstructor throws.
std::unique_ptr<Reconstructor> make_cartesian_reconstructor(const std::string& method, const ReconOptions& options,
                                                            Acquisition& acq);

/// A trajectory acquisition, validated: `kspace` (samples S, spokes Y, coils, frames, 1); `coords` (2, S, Y, frames
/// or 1, 1) in cycles per FOV (io::trajectory_from_values); `density` (S, Y, 1, frames, 1) real weights >= 0 (stored
/// as complex with zero imaginary parts, as read from a file), or none; `shape` {nx, ny} of the image grid, default
/// BART's estdims rule (io::estimate_image_dims); `sens` coil maps (nx, ny, coils, 1, 1) or none. `names` name the
/// inputs in errors ({kspace, trajectory, density}, e.g. the command-line flags). Throws Error when the trajectory
/// and samples disagree in size, for negative or complex weights, and as validate_acquisition /
/// solvers::validate_multicoil.
Acquisition trajectory_acquisition(CArray kspace, RArray coords, const std::optional<CArray>& density,
                                   std::optional<std::pair<Index, Index>> shape, std::optional<CArray> sens,
                                   const std::array<std::string, 3>& names);

/// The Reconstructor `method` for the trajectory acquisition `acq` (trajectory_acquisition): gridding, cg-sense,
/// cs-tv, bart-pics (the one classical factory), view-sharing (options.sliding_window), bart-nufft-inverse,
/// radial-interpolation, and the trained networks of the model registry (nufft-modl, unet on the gridding image,
/// the cine networks). May set acq.sensitivities (cs-tv / bart-pics on multi-coil samples without maps).
/// Throws Error for a Cartesian-only method, parameters the method does not take (lambda_t, lambda_l), and as
/// make_network_reconstructor.
std::unique_ptr<Reconstructor> make_trajectory_reconstructor(const std::string& method, const ReconOptions& options,
                                                             Acquisition& acq);

}  // namespace reconlab::tool
