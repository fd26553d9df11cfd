#pragma once
/// @file nufft_command.hpp
/// `reconlab nufft`: the Kaiser-Bessel NUFFT (reconlab/nufft.hpp) from the command line, as `bart nufft` applies
/// BART's: forward (image -> samples on a trajectory), `--adjoint`, and `--inverse` (regularised least squares by
/// CG on the Toeplitz normal), with trajectories and samples in BART's non-Cartesian layout and units
/// (reconlab/io/noncartesian.hpp) or as .npy.
#include <CLI/CLI.hpp>

#include <string>

#include "reconlab/nufft.hpp"

namespace reconlab::tool {

/// The parsed options of `reconlab nufft`.
struct NufftArgs {
  bool adjoint = false, inverse = false;
  std::string shape;       ///< "NY,NX" image grid for --adjoint / --inverse; empty: BART's estimate from the trajectory
  NufftOptions nufft;      ///< kernel width and grid oversampling
  int iterations = 100;    ///< --inverse: CG iteration cap
  double tolerance = 1e-6; ///< --inverse: stop at ||r|| / ||A^H y|| <= tolerance
  double lambda = 0;       ///< --inverse: Tikhonov weight, in the units of A^H A (~1)
  std::string traj, input, output;
};

/// Adds the `nufft` subcommand to `app`, filling `args` when parsed.
CLI::App* add_nufft_command(CLI::App& app, NufftArgs& args);

/// Runs it: reads the trajectory (io::read_trajectory) and the input (forward: an image file as `reconlab recon`
/// writes them, (ny, nx), (coils, ny, nx) .npy or BART [nx, ny, 1, coils, ..., frames in dim 10]; adjoint and
/// inverse: samples, io::read_noncartesian), applies the operator and writes the output in the matching layout.
/// Prints one JSON line (operation, dims, CG iterations / residual for --inverse). Throws Error for conflicting
/// flags, a bad --shape, input dims that do not fit the trajectory, a trajectory outside the image grid, and as
/// the readers do.
void run_nufft_command(const NufftArgs& args);

}  // namespace reconlab::tool
