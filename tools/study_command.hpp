#pragma once
/// @file study_command.hpp
/// `reconlab study CONFIG.toml [--out DIR] [--seed S] [--methods a,b] [--max-cases N] [--threads T]`: a comparison
/// study described by a TOML file (toml++, Debian libtomlplusplus-dev) instead of C++, run by the one study runner
/// (reconlab/study/runner.hpp): the same metrics.csv (resumable: rows already there are kept), manifest.json,
/// summary.md, box plots and panels as the built-in studies.
///
/// The file (paths relative to the file's folder; every key not listed here is an error, so typos are caught):
///
///   [study]
///   name = "brain-classical"        # required: manifest "study", default output results/<name>_<preset>
///   description = "..."             # optional, the summary's introduction
///   seed = 1234                     # optional default of --seed (the seed of every mask and phase)
///
///   [[dataset]]                     # one or more
///   name = "colin27"                # required, unique: the table's dataset column
///   files = ["a.nii.gz", "b/*.h5"]  # required: paths or glob patterns (POSIX glob), sorted, at least one match each;
///                                   # ${NAME} is the environment variable NAME (${RECONLAB_DATA} defaults to --data,
///                                   # ../shared/data; ${RECONLAB_CACHE} to ~/.cache/reconlab)
///   slices = [80, 90]               # slice indices: NIfTI volumes and fastMRI .h5 (default: the middle slice),
///                                   # (n, ny, nx) .npy / .cfl arrays (default: every plane); other images refuse it
///   role = "test"                   # "test" (rows of the table) or "validation" (weight searches only)
///   phase = "smooth"                # magnitude images: "smooth" (a seeded smooth 2nd-order phase, simulation.hpp
///                                   # with_smooth_phase) or "none" (real images); k-space files keep their own
///   coil_maps = "maps.npy"          # images only: complex coil maps (coils, ny, nx) of the images' size; the
///                                   # k-space is simulated per coil, F (S_c x) (SENSE model), truth |x|
///   maps_known = false              # with coil_maps: true gives methods the maps (the exact-maps case); false
///                                   # makes them estimate maps from the ACS lines (recon's --estimate-maps)
///
///   [sampling]
///   mask = "random"                 # random | equispaced | equispaced-fraction (fastMRI column masks along x) |
///                                   # poisson (2D Poisson disc with a calib x calib centre)
///   accelerations = [4, 8]          # nominal R, each >= 1
///   center_fraction = 0.08          # column masks: fully sampled centre fraction, or one per acceleration:
///                                   # center_fractions = [0.08, 0.04]
///   calib = 24                      # poisson: calibration square side
///   masks = 1                       # masks (seeds) per image and R
///   # or one mask stored in a file for every image (the data's own pattern; R is the mask's own acceleration;
///   # accelerations, center_fraction(s), calib and masks do not apply):
///   # mask = "stored"
///   # mask_file = "${RECONLAB_DATA}/knee/smp_mask_320x256.npy"   # (ny, nx), values in [0, 1]
///
///   [[method]]                      # one or more
///   name = "cs-tv"                  # required, unique: the table's method column
///   method = "cs-tv"                # any method of `reconlab recon` (default: name); networks need weights
///   lambda = 0.002                  # fixed parameters as recon's --lambda, --lambda-t, --lambda-l, --iterations,
///   iterations = 200                # --estimate-maps (maps = "lowres" | "ecalib"), --window-width, --weights
///   lambda_grid = [1e-3, 2e-3]      # instead of lambda: chosen per R on the validation datasets (best mean PSNR)
///
///   [outputs]
///   box_plots = true                # figures/box_<dataset>_<metric>.png
///   panels = true                   # a panel (truth, each method, mask, error maps) for the first image per
///                                   # dataset and R
///
/// Data. Images (.png, .nii/.nii.gz, .dcm, .npy, .cfl; io/image_file.hpp; NIfTI volumes by slice; the planes of an
/// (n, ny, nx) .npy as slices) give the truth |image| / max |image|; real images get the phase model, complex ones
/// keep their own phase; k-space F(image / max |image|), undersampled by the mask. fastMRI .h5 files (fully
/// sampled train / val files) give the truth |F^H k| (single-coil) or its root-sum-of-squares over coils, k-space
/// scaled by the same 1 / max, retrospectively undersampled by the mask. Metrics: PSNR / SSIM / NMSE with data range 1.
/// Seeds: the mask of image i (counted over the datasets in order), acceleration index r and repeat m has seed
/// seed + 1000 i + 10 r + m, its phase seed + 1000 i + 7.
#include <string>

namespace reconlab::tool {

/// Runs `reconlab study` with argv[0] = "study", argv[1] = the TOML file, the rest the study runner's common
/// options. Returns the exit status (0; 1 after one error line on stderr for a bad file, bad options or a failed
/// method; the rows written so far stay).
int run_study_command(int argc, char** argv);

}  // namespace reconlab::tool
