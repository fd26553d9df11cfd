#pragma once
/// @file traj_command.hpp
/// `reconlab traj`: radial, golden-angle and tiny golden-angle trajectories written in BART's layout and units, as
/// `bart traj -r [-G] [-s m] [-t t] [-o o]` writes them (trajectory.hpp states the rules; tests/cli compare them).
#include <CLI/CLI.hpp>

#include <string>

#include "reconlab/trajectory.hpp"

namespace reconlab::tool {

/// The parsed options of `reconlab traj`.
struct TrajArgs {
  RadialOptions radial;
  bool golden = false;
  long tiny = 0;  ///< > 1: tiny golden angle of index m (with --golden)
  std::string output;
};

/// Adds the `traj` subcommand to `app`, filling `args` when parsed.
CLI::App* add_traj_command(CLI::App& app, TrajArgs& args);

/// Writes the trajectory: `output` ending in .npy gets float32 (frames, spokes, samples, 3) in C order; anything
/// else is a BART .cfl/.hdr pair with dims (3, samples, spokes, 1, ..., frames in dim 10), the third coordinate 0.
/// Prints one JSON line (dims, angles rule). Throws Error for invalid options (radial_trajectory) and unwritable
/// files.
void run_traj_command(const TrajArgs& args);

}  // namespace reconlab::tool
