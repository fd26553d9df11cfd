#pragma once
/// @file gridding.hpp
/// Gridding reconstruction of non-Cartesian (trajectory) acquisitions: the density-compensated adjoint NUFFT,
/// x = N^H (w y) (J. D. O'Sullivan, "A fast sinc function gridding algorithm for Fourier inversion in computer
/// tomography", IEEE TMI 4, 1985; Jackson et al., IEEE TMI 10, 1991), with w the acquisition's density weights
/// or, when it has none, Pipe and Menon's iterative weights (nufft.hpp). The weights are k-space areas per sample
/// in cycles per FOV squared (a fully sampled Cartesian grid has w = 1 and gridding is then the inverse FFT), so
/// the image is in the units of F^H y.
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/forward_model.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/bart.hpp"

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
  const RArray coords = trajectory_for_frames(t.coords, T);
  return pipe_menon_density(Nufft(coords, id[0], id[1]));
}

/// Gridded coil images of a trajectory acquisition: N^H (w y) per coil and frame, w = trajectory_density (the
/// density-compensated adjoint NUFFT, in the units of F^H y). Returns (nx, ny, coils, frames, 1). Throws Error for
/// a Cartesian acquisition and as trajectory_density / the NUFFT.
inline CArray gridded_coil_images(const Acquisition& acq) {
  require(!acq.cartesian(), "gridding reconstructs trajectory acquisitions; this one is Cartesian (use zero-filled)");
  CArray wy = acq.kspace;
  multiply_per_sample(wy, trajectory_density(acq));
  return forward_model<EigenFftw>(acq, /*use_maps=*/false).adjoint(wy);
}

/// Coil combination of coil images x (nx, ny, C, T, 1) into (nx, ny, 1, T, 1): one coil as it is; with maps
/// (nx, ny, C, 1, 1) S^H x (Roemer et al., MRM 16 (1990), eq. (16) with normalised maps); else the
/// root-sum-of-squares (real, stored as complex). Throws Error when the maps do not fit x.
inline CArray combine_coil_images(const CArray& x, const std::optional<CArray>& maps) {
  if (maps) return CoilSensitivity<EigenFftw>(*maps).adjoint(x);
  if (x.dimension(2) == 1) return x;
  return to_complex(rss(x));
}

/// The density-weighted least-squares model of a trajectory acquisition: A' = W^(1/2) N [S] (forward_model with
/// the density of trajectory_density) and y' = W^(1/2) y, so that min ||A' x - y'||^2 = min ||W^(1/2) (N S x - y)||^2.
/// The weights equalise the radial over-sampling of the k-space centre: A'^H A' is far better conditioned than
/// N^H N (||A'||^2 ~ 1 where ||N||^2 grows with the spoke count), so CG and PDHG converge in a few tens of
/// iterations at any R; this is the density-compensated preconditioning of CG-SENSE for arbitrary trajectories
/// (Pruessmann et al., MRM 46 (2001), Sec. "Density correction"). Throws Error for a Cartesian acquisition.
struct WeightedModel {
  AnyOperator<CArray> A;
  CArray y;
};
inline WeightedModel density_weighted_model(const Acquisition& acq, bool use_maps = true) {
  require(!acq.cartesian(), "density_weighted_model: the acquisition is Cartesian");
  const RArray w = trajectory_density(acq);
  CArray y = acq.kspace;
  multiply_per_sample(y, w, /*square_root=*/true);
  return {forward_model<EigenFftw>(acq, use_maps, &w), std::move(y)};
}

/// Calibration data for coil maps from a trajectory acquisition: the gridded centre of k-space. Each frame is
/// gridded per coil (N^H (w y), trajectory_density), the frames averaged, and the result taken back to Cartesian
/// k-space by the centred FFT. The calibration region is the largest centred square of Cartesian cells (side at
/// most `max_side`) in which every cell holds at least one sample of some frame (cell = the sample's coordinates
/// rounded to the grid): there the gridded k-space is measured, not interpolated across gaps. Returns the k-space
/// (nx, ny, coils, 1, 1), zero outside the region, and the region's mask (nx, ny, 1, 1, 1), the input that
/// lowres_maps and `bart ecalib` take for Cartesian ACS data. Method: radial k-space is sampled above Nyquist at
/// its centre, as used for self-calibrated radial SENSE (e.g. Block, Uecker, Frahm, MRM 57 (2007) 1086-1098).
/// Throws Error for a Cartesian acquisition and when the region is smaller than 4 x 4 (too few samples near the
/// centre).
inline std::pair<CArray, RArray> gridded_calibration(const Acquisition& acq, Index max_side = 32) {
  require(!acq.cartesian(), "gridded_calibration: the acquisition is Cartesian (its own ACS lines calibrate)");
  const Dims id = acq.resolved_image_dims();
  const Index nx = id[0], ny = id[1], C = acq.coils(), T = acq.frames();
  const CArray x = gridded_coil_images(acq);
  CArray mean(nx, ny, C, 1, 1);
  mean.setZero();
  for (Index f = 0; f < T; ++f) mean += x.chip(f, 3).reshape(Dims{nx, ny, C, 1, 1}) * cfloat(1.0f / float(T));
  CArray k = EigenFftw::fft2c(mean);
  // Cells that hold a sample (any frame).
  std::vector<char> covered(std::size_t(nx * ny), 0);
  const RArray& coords = acq.trajectory().coords;
  for (Index i = 0; i < coords.size() / 2; ++i) {
    const Index cx = Index(std::lround(coords.data()[2 * i])) + nx / 2;
    const Index cy = Index(std::lround(coords.data()[2 * i + 1])) + ny / 2;
    if (cx >= 0 && cx < nx && cy >= 0 && cy < ny) covered[std::size_t(cy * nx + cx)] = 1;
  }
  auto square_covered = [&](Index h) {  // cells [n/2 - h, n/2 + h) on both axes
    for (Index y = ny / 2 - h; y < ny / 2 + h; ++y)
      for (Index xx = nx / 2 - h; xx < nx / 2 + h; ++xx)
        if (y < 0 || y >= ny || xx < 0 || xx >= nx || !covered[std::size_t(y * nx + xx)]) return false;
    return true;
  };
  Index h = 0;
  while (2 * (h + 1) <= max_side && square_covered(h + 1)) ++h;
  require(h >= 2, "gridded_calibration: only a " + std::to_string(2 * h) + " x " + std::to_string(2 * h) +
                      " centre square of k-space holds samples in every cell; coil maps need at least 4 x 4");
  RArray mask(nx, ny, 1, 1, 1);
  mask.setZero();
  for (Index y = ny / 2 - h; y < ny / 2 + h; ++y)
    for (Index xx = nx / 2 - h; xx < nx / 2 + h; ++xx) mask(xx, y, 0, 0, 0) = 1.0f;
  for (Index c = 0; c < C; ++c)
    for (Index i = 0; i < nx * ny; ++i) k.data()[c * nx * ny + i] *= mask.data()[i];
  return {k, mask};
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
    return combine_coil_images(gridded_coil_images(acq), acq.sensitivities);
  }
};

/// BART's inverse NUFFT (name "bart-nufft-inverse"): `bart nufft -i -d nx:ny:1 [-l lambda] traj kspace out`, the
/// l2-regularised least-squares inverse of BART's own NUFFT by CG (Toeplitz embedding), coil by coil; multi-coil
/// images are combined by root-sum-of-squares, or by S^H with the acquisition's maps. The samples go in BART's
/// non-Cartesian layout [1, S, Y, C, ..., T in dim 10] and the trajectory as [3, S, Y, ..., T]. The command is
/// recorded (parameters()). Uecker et al., BART, doi:10.5281/zenodo.592960. Throws Error for a Cartesian
/// acquisition, lambda < 0, and as run_bart.
class BartNufftInverseReconstructor : public Reconstructor {
 public:
  explicit BartNufftInverseReconstructor(double lambda = 0) : lambda_(lambda) {
    require(lambda >= 0 && std::isfinite(lambda), "bart-nufft-inverse: lambda must be finite and >= 0");
  }
  std::string name() const override { return "bart-nufft-inverse"; }
  nlohmann::json parameters() const override {
    return {{"lambda", lambda_}, {"command", command_}, {"coil_combination", "rss without maps, S^H with maps"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    validate_acquisition(acq);
    require(!acq.cartesian(), "bart-nufft-inverse reconstructs trajectory acquisitions; this one is Cartesian");
    const Dims id = acq.resolved_image_dims(), kd = dims_of(acq.kspace);
    const auto [traj, tdims] = bart_trajectory(trajectory_for_frames(acq.trajectory().coords, kd[3]));
    std::ostringstream lam;
    lam.precision(9);
    lam << lambda_;
    std::vector<std::string> args{"-i", "-d", std::to_string(id[0]) + ":" + std::to_string(id[1]) + ":1"};
    if (lambda_ > 0) args.insert(args.end(), {"-l", lam.str()});
    const BartResult r = run_bart("nufft", args, {BartInput("traj", &traj, tdims),
                                                  BartInput("kspace", &acq.kspace, io::bart_noncartesian_dims(kd))});
    command_ = r.command;
    const Dims od = dims_of(r.output);
    require(od[0] == id[0] && od[1] == id[1] && od[2] == kd[2] && od[3] == kd[3] && od[4] == 1,
            "bart nufft -i returned dims " + dims_string(od) + " for the image grid " + dims_string(id));
    return combine_coil_images(r.output, acq.sensitivities);
  }

 private:
  double lambda_;
  std::string command_;
};

}  // namespace reconlab::solvers
