#pragma once
/// @file recon_methods.hpp
/// The one place that turns a method name and its parameters into a Reconstructor for a Cartesian acquisition
/// (single- or multi-coil, 2D or cine, super-resolution). `reconlab recon` and the Python module
/// (python/reconlab_python.cpp) both call it, so the two offer the same methods with the same defaults.
/// Trajectory acquisitions keep their own chain in reconlab.cpp (they need the density compensation and grid).
#include <memory>
#include <optional>
#include <string>
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
};

/// The names of the methods that are not networks (Cartesian, trajectory and super-resolution methods alike).
const std::vector<std::string>& classical_methods();

/// True when `method` is one of classical_methods().
bool classical_method(const std::string& method);

/// The Reconstructor `method` for the Cartesian acquisition `acq` (already validated: validate_acquisition, and
/// solvers::validate_multicoil for multi-coil data). May set acq.sensitivities (maps estimated from the ACS region,
/// options.maps_source) where the method needs maps and the acquisition has none.
/// Defaults: rof weight 0.05, 200 iterations; cs-tv lambda 2e-3 (CsTvOptions' iteration cap); cs-wavelet / multi-coil
/// cs-tv lambda 2e-3, 200 iterations; bart-pics lambda 0.01 single-coil (0.005 multi-coil), 100 iterations;
/// cg-sense 30 iterations, lambda 0; l+s LowRankSparseOptions' defaults.
/// Throws Error for an unknown method, a trajectory-only method, a super-resolution method without a low-resolution
/// acquisition (and the reverse), parameters the method does not take (lambda_t, lambda_l), single-coil methods given
/// multi-coil data, and (networks) anything tool::make_network_reconstructor throws.
std::unique_ptr<Reconstructor> make_cartesian_reconstructor(const std::string& method, const ReconOptions& options,
                                                            Acquisition& acq);

}  // namespace reconlab::tool
