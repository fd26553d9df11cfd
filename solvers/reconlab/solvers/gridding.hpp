#pragma once
/// @file gridding.hpp
/// Gridding reconstruction of non-Cartesian (trajectory) acquisitions: the density-compensated adjoint NUFFT,
/// x = N^H (w y) (J. D. O'Sullivan, "A fast sinc function gridding algorithm for Fourier inversion in computer
/// tomography", IEEE TMI 4, 1985; Jackson et al., IEEE TMI 10, 1991), with w the acquisition's density weights
/// or, when it has none, Pipe and Menon's iterative weights (nufft.hpp). The weights are k-space areas per sample
/// in cycles per FOV squared (a fully sampled Cartesian grid has w = 1 and gridding is then the inverse FFT), so
/// the image is in the units of F^H y.
#include <string>

#include "reconlab/acquisition.hpp"
#include "reconlab/forward_model.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/sense.hpp"

namespace reconlab::solvers {

/// The density weights of a trajectory acquisition (S, Y, 1, T, 1): the acquisition's own (expanded to every
/// frame) or Pipe-Menon's for its trajectory on its image grid. Throws Error for a Cartesian acquisition.
inline RArray trajectory_density(const Acquisition& acq) {
  validate_acquisition(acq);
  const Trajectory& t = acq.trajectory();
  const Dims id = acq.resolved_image_dims();
  const Index S = acq.kspace.dimension(0), Y = acq.kspace.dimension(1), T = acq.frames();
  RArray w(S, Y, 1, T, 1);
  if (t.density) {
    for (Index f = 0; f < T; ++f) w.chip(f, 3) = t.density->chip(t.density->dimension(3) == 1 ? 0 : f, 3);
    return w;
  }
  RArray coords = t.coords;
  if (coords.dimension(3) != T) {
    coords = RArray(2, S, Y, T, 1);
    for (Index f = 0; f < T; ++f) coords.chip(f, 3) = t.coords.chip(0, 3);
  }
  return pipe_menon_density(Nufft(coords, id[0], id[1]));
}

/// Gridding (name "gridding"): N^H (w y) per coil and frame; multi-coil combined by root-sum-of-squares, or with
/// sensitivity maps by S^H (maps normalised to sum |s|^2 = 1). Output (nx, ny, 1, frames, 1). Throws Error for
/// a Cartesian acquisition (use zero-filled) and as validate_acquisition / the NUFFT.
class GriddingReconstructor : public Reconstructor {
 public:
  std::string name() const override { return "gridding"; }
  nlohmann::json parameters() const override {
    return {{"density", "the acquisition's weights, else Pipe-Menon (30 iterations, tolerance 1e-3)"},
            {"nufft", "Kaiser-Bessel, width 6, oversampling 2"},
            {"coil_combination", "rss without maps, S^H with maps"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    require(!acq.cartesian(), "gridding reconstructs trajectory acquisitions; this one is Cartesian (use zero-filled)");
    const RArray w = trajectory_density(acq);
    CArray wy = acq.kspace;
    const Index per_frame = wy.dimension(0) * wy.dimension(1), C = acq.coils();
    for (Index f = 0; f < acq.frames(); ++f)
      for (Index c = 0; c < C; ++c)
        for (Index s = 0; s < per_frame; ++s) wy.data()[(f * C + c) * per_frame + s] *= w.data()[f * per_frame + s];
    const auto A = forward_model<EigenFftw>(acq, /*use_maps=*/true);
    const CArray x = A.adjoint(wy);
    if (C == 1 || acq.sensitivities) return x;
    return to_complex(rss(x));
  }
};

}  // namespace reconlab::solvers
