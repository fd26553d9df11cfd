#pragma once
/// @file trajectory.hpp
/// Radial k-space trajectories in BART's units and layout (cycles per field of view, -N/2..N/2; BART's `traj` writes
/// (3, samples, spokes, ..., frames in dim 10); reconlab's Trajectory holds the first two coordinates as coords
/// dims (2, samples, spokes, frames, 1), acquisition.hpp).
///
/// Rules (checked against `bart traj` v0.8 by tests/core/trajectory_test.cpp):
///   sample i of S = X o along a spoke at radius r_i = (i - S/2 + 1/2) / o, o the readout oversampling (BART `-o`;
///   samples 1/o apart, symmetric about the centre; BART's default, not the asymmetric `-c`). Radial sampling 1
///   apart only supports a circular field of view of diameter N: the corners of a square image alias, so radial
///   acquisitions of an N x N image use o = 2 (readout oversampling, as scanners do);
///   spoke direction (k_x, k_y) = r (sin phi, cos phi);
///   full-spoke radial (`-r`): phi_{j,f} = pi (j + (f mod t) / t) / Y for spoke j of Y in frame f, t = `turns`
///   (BART `-t t`: frame f rotated by pi (f mod t) / (Y t), so t frames interleave; t = 1: pi j / Y in every frame);
///   golden-angle (`-r -G`): phi_n = n pi / (golden ratio) for the n-th spoke of the continuous acquisition, n = j +
///   Y f (BART: angle increments of 111.246 degrees, the golden angle of Winkelmann et al., IEEE TMI 26, 2007);
///   tiny golden angle (`-r -G -s m`): increments pi / (golden ratio + m - 1) (Wundrak et al., MRM 75, 2016).
/// Per-frame binning of a continuous golden-angle acquisition: frame f holds spokes Y f .. Y f + Y - 1.
#include <cmath>
#include <string>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"

namespace reconlab {

/// The angle rule of a radial trajectory.
enum class RadialOrder {
  uniform,      ///< full spokes equally spaced over pi per frame (BART `traj -r`, with `turns` for -t)
  golden,       ///< golden-angle increments pi / phi_g (111.246 degrees) over the continuous acquisition
  tiny_golden,  ///< tiny golden-angle increments pi / (phi_g + m - 1), m = tiny_index (BART -s m)
};

/// Options of radial_trajectory.
struct RadialOptions {
  Index samples = 256;   ///< X, readout samples per spoke before oversampling (>= 2); the spoke has X o samples
  Index spokes = 64;     ///< Y, spokes per frame (>= 1)
  Index frames = 1;      ///< frames (>= 1); golden orders continue the angle sequence across frames
  RadialOrder order = RadialOrder::uniform;
  Index turns = 1;       ///< uniform: frames with rotated (interleaved) spokes (BART -t), >= 1
  Index tiny_index = 7;  ///< tiny_golden: m >= 2 (BART -s m; m = 1 is the golden angle)
  Index readout_oversampling = 1;  ///< o >= 1 (BART -o): samples 1/o apart
};

/// The angle (radians) of spoke j of frame f under `o` (see the file comment).
inline double radial_angle(const RadialOptions& o, Index j, Index f) {
  const double phi_g = (1.0 + std::sqrt(5.0)) / 2.0;
  const double n = double(j + o.spokes * f);
  switch (o.order) {
    case RadialOrder::uniform:
      return M_PI * (double(j) + double(f % o.turns) / double(o.turns)) / double(o.spokes);
    case RadialOrder::golden:
      return n * M_PI / phi_g;
    case RadialOrder::tiny_golden:
      return n * M_PI / (phi_g + double(o.tiny_index) - 1.0);
  }
  return 0;
}

/// A radial trajectory: coords dims (2, X o, spokes, frames, 1), (k_x, k_y) in cycles per FOV (the rule of the
/// file comment), |k| <= X/2 - 1/(2 o). Throws Error for samples < 2, spokes < 1, frames < 1, turns < 1, o < 1 or
/// a tiny-golden index < 2.
inline RArray radial_trajectory(const RadialOptions& o) {
  require(o.samples >= 2 && o.spokes >= 1 && o.frames >= 1,
          "radial_trajectory: needs samples >= 2, spokes >= 1, frames >= 1, got " + std::to_string(o.samples) +
              ", " + std::to_string(o.spokes) + ", " + std::to_string(o.frames));
  require(o.turns >= 1, "radial_trajectory: turns must be >= 1, got " + std::to_string(o.turns));
  require(o.readout_oversampling >= 1,
          "radial_trajectory: readout oversampling must be >= 1, got " + std::to_string(o.readout_oversampling));
  const Index S = o.samples * o.readout_oversampling;
  require(o.order != RadialOrder::tiny_golden || o.tiny_index >= 2,
          "radial_trajectory: the tiny golden-angle index must be >= 2 (1 is the golden angle), got " +
              std::to_string(o.tiny_index));
  RArray t(2, S, o.spokes, o.frames, 1);
  for (Index f = 0; f < o.frames; ++f)
    for (Index j = 0; j < o.spokes; ++j) {
      const double phi = radial_angle(o, j, f);
      for (Index i = 0; i < S; ++i) {
        const double r = (double(i) - double(S) / 2.0 + 0.5) / double(o.readout_oversampling);
        t(0, i, j, f, 0) = float(r * std::sin(phi));
        t(1, i, j, f, 0) = float(r * std::cos(phi));
      }
    }
  return t;
}

/// The analytic density compensation of a radial trajectory with full spokes per frame: the k-space area each
/// sample stands for, w = pi max(|k|, h/4) h / Y (samples h apart along Y full spokes share the circumference
/// 2 pi |k| between 2 Y samples: the ramp, the Jacobian of polar coordinates; h is read from the first spoke; the
/// floor keeps a centre sample's weight positive); dims (samples, spokes, 1, frames, 1) (the density layout of
/// Trajectory). Throws Error for coords not of dims (2, samples, spokes, frames, 1).
inline RArray radial_ramp_density(const RArray& coords) {
  require(coords.dimension(0) == 2 && coords.dimension(4) == 1,
          "radial_ramp_density: coords must have dims (2, samples, spokes, frames, 1), got " +
              dims_string(dims_of(coords)));
  const Index S = coords.dimension(1), Y = coords.dimension(2), T = coords.dimension(3);
  RArray w(S, Y, 1, T, 1);
  const double h = S > 1 ? std::hypot(double(coords(0, 1, 0, 0, 0) - coords(0, 0, 0, 0, 0)),
                                      double(coords(1, 1, 0, 0, 0) - coords(1, 0, 0, 0, 0)))
                         : 1.0;
  // Samples at radius r (spacing 1) on Y full spokes: each covers 2 pi r / (2 Y) in angle, i.e. pi r / Y.
  for (Index f = 0; f < T; ++f)
    for (Index j = 0; j < Y; ++j)
      for (Index i = 0; i < S; ++i) {
        const double r = std::hypot(double(coords(0, i, j, f, 0)), double(coords(1, i, j, f, 0)));
        w(i, j, 0, f, 0) = float(std::max(r, 0.25 * h) * h * M_PI / double(Y));
      }
  return w;
}

}  // namespace reconlab
