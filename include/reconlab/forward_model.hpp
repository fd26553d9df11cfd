#pragma once
/// @file forward_model.hpp
/// One factory for the forward model A of an acquisition, on either array backend, so that no Reconstructor
/// assembles operators by hand (after deepinv's Physics and SigPy's mri.linop.Sense).
#include <string>

#include "reconlab/acquisition.hpp"
#include "reconlab/linear_operator.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/sense.hpp"

namespace reconlab {

/// The forward model of `acq` on backend B (EigenFftw, networks::Torch), validated first (validate_acquisition):
/// - Cartesian with sensitivity maps: A = M F S (SenseOperator), image (nx, ny, 1, frames, 1) -> multi-coil
///   k-space (nx, ny, coils, frames, 1); Pruessmann et al., MRM 46 (2001), eq. (8).
/// - Cartesian without maps: A = M F (CartesianSampling) on images with the k-space's coil axis: (nx, ny, coils,
///   frames, 1) -> k-space of the same dims (coil by coil; for one coil the single-coil model).
/// The mask broadcasts over coils and, when it has one plane per frame, is applied frame by frame (k-t sampling);
/// sampling weights enter as M (normal F^H M^2 F).
/// Throws Error for an invalid acquisition, and for a trajectory: the NUFFT forward model belongs to the
/// non-Cartesian issue and is not available yet.
/// `use_maps` = false ignores the maps (the per-coil model, e.g. for zero-filled root-sum-of-squares).
template <class B>
AnyOperator<typename B::Array> forward_model(const Acquisition& acq, bool use_maps = true) {
  validate_acquisition(acq);
  require(acq.cartesian(), "forward_model: non-Cartesian (trajectory) acquisitions need the NUFFT, which this "
                           "version of reconlab does not have yet");
  typename B::Mask mask = B::mask_from_host(acq.mask());
  if (acq.sensitivities && use_maps) return SenseOperator<B>(std::move(mask), B::from_host(*acq.sensitivities));
  return CartesianSampling<B>(std::move(mask));
}

}  // namespace reconlab
