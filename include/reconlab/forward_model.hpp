#pragma once
/// @file forward_model.hpp
/// One factory for the forward model A of an acquisition, on either array backend, so that no Reconstructor
/// assembles operators by hand (after deepinv's Physics and SigPy's mri.linop.Sense).
#include <string>
#include <type_traits>

#include "reconlab/acquisition.hpp"
#include "reconlab/linear_operator.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/resampling.hpp"
#include "reconlab/sense.hpp"

namespace reconlab {

/// The forward model of `acq` on backend B (EigenFftw, networks::Torch), validated first (validate_acquisition):
/// - Cartesian with sensitivity maps: A = M F S (SenseOperator), image (nx, ny, 1, frames, 1) -> multi-coil
///   k-space (nx, ny, coils, frames, 1); Pruessmann et al., MRM 46 (2001), eq. (8).
/// - Cartesian without maps: A = M F (CartesianSampling) on images with the k-space's coil axis: (nx, ny, coils,
///   frames, 1) -> k-space of the same dims (coil by coil; for one coil the single-coil model).
/// The mask broadcasts over coils and, when it has one plane per frame, is applied frame by frame (k-t sampling);
/// sampling weights enter as M (normal F^H M^2 F).
/// - Low-resolution Cartesian (acq.low_resolution, super-resolution): A = M F_l D [S] with D the resampling of
///   acquisition.hpp's LowResolution (KspaceTruncation on either backend, BlockAverage on EigenFftw), from the
///   image grid image_dims to the k-space grid; with maps the coil images S x are resampled.
/// - Trajectory (EigenFftw only): A = N S (Nufft composed with CoilSensitivity; its normal S^H (N^H N) S uses the
///   Toeplitz embedding) with maps, else A = N on images (nx, ny, coils, frames, 1) -> samples (samples, spokes,
///   coils, frames, 1); image grid acq.image_dims; a trajectory of one frame serves every frame. No density
///   weights in A (they belong to gridding, not to the model).
/// Throws Error for an invalid acquisition, a trajectory outside +-N/2, and a trajectory on the Torch backend (its
/// NUFFT is not available yet).
/// `use_maps` = false ignores the maps (the per-coil model, e.g. for zero-filled root-sum-of-squares).
/// `density` (trajectories only; dims (S, Y, 1, frames, 1), >= 0): the density-weighted model W^(1/2) N [S] (Nufft's
/// weighted_model), whose range is the samples scaled by sqrt(w): the model of density-weighted least squares
/// (solvers/gridding.hpp, density_weighted_model).
template <class B>
AnyOperator<typename B::Array> forward_model(const Acquisition& acq, bool use_maps = true,
                                             const RArray* density = nullptr) {
  validate_acquisition(acq);
  if (!acq.cartesian()) {
    if constexpr (std::is_same_v<B, EigenFftw>) {
      const Dims id = acq.resolved_image_dims();
      const RArray coords = trajectory_for_frames(acq.trajectory().coords, id[3]);
      Nufft N = density ? Nufft(coords, id[0], id[1], {}, *density, /*weighted_model=*/true) : Nufft(coords, id[0], id[1]);
      if (acq.sensitivities && use_maps)
        return Composed<Nufft, CoilSensitivity<EigenFftw>>(std::move(N), CoilSensitivity<EigenFftw>(*acq.sensitivities));
      return N;
    } else {
      throw Error("forward_model: the NUFFT (trajectory acquisitions) is available on the Eigen backend only");
    }
  }
  require(density == nullptr, "forward_model: density weights apply to trajectory acquisitions only");
  typename B::Mask mask = B::mask_from_host(acq.mask());
  if (acq.low_resolution != LowResolution::none) {
    const Dims id = acq.resolved_image_dims();
    const Index s = acq.resolution_factor();
    auto with_resampling = [&](auto D) -> AnyOperator<typename B::Array> {
      CartesianSampling<B> MF(std::move(mask));
      if (acq.sensitivities && use_maps)
        return Composed(std::move(MF), Composed(std::move(D), CoilSensitivity<B>(B::from_host(*acq.sensitivities))));
      return Composed(std::move(MF), std::move(D));
    };
    if (acq.low_resolution == LowResolution::kspace_truncation)
      return with_resampling(KspaceTruncation<B>::by_factor(id[0], id[1], s));
    if constexpr (std::is_same_v<B, EigenFftw>)
      return with_resampling(BlockAverage(id[0], id[1], s));
    else
      throw Error("forward_model: block-average low-resolution acquisitions are available on the Eigen backend only");
  }
  if (acq.sensitivities && use_maps) return SenseOperator<B>(std::move(mask), B::from_host(*acq.sensitivities));
  return CartesianSampling<B>(std::move(mask));
}

}  // namespace reconlab
