#pragma once
/// @file coil_maps.hpp
/// Coil sensitivity maps: the auto-calibration (ACS) region of a sampling mask, our own low-resolution estimate from
/// the ACS region, ESPIRiT maps through `bart ecalib`, and the magnitude correlation used to compare two estimates.
///
/// Layout: multi-coil k-space dims (nx, ny, coils, 1, 1), centred (DC at index n/2); masks (nx, ny, 1, 1, 1) 0/1;
/// maps (nx, ny, coils, 1, 1), normalised so that sum_c |s_c|^2 = 1 where the object is and 0 elsewhere.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "reconlab/sense.hpp"
#include "reconlab/solvers/bart.hpp"

namespace reconlab::solvers {

/// A fully sampled rectangle of k-space: columns [x0, x0 + nx), rows [y0, y0 + ny); it contains the centre
/// (nx_total / 2, ny_total / 2).
struct AcsRegion {
  Index x0 = 0, y0 = 0, nx = 0, ny = 0;
  Index area() const { return nx * ny; }
};

/// The largest fully sampled rectangle of `mask` (dims (nx, ny, 1, 1, 1), 0/1) that contains the k-space centre
/// (nx/2, ny/2), searched over x-ranges centred as nearly as possible on the centre and, for each, the tallest
/// fully sampled y-range through the centre row. For fastMRI-style line masks this is the block of ACS lines
/// (full width in the read-out direction); for Poisson-disc masks, the calibration square.
/// Throws Error when the centre sample itself is not acquired (no ACS region).
inline AcsRegion find_acs(const RArray& mask) {
  const Index nx = mask.dimension(0), ny = mask.dimension(1), cx = nx / 2, cy = ny / 2;
  require(nx > 0 && ny > 0 && mask(cx, cy, 0, 0, 0) != 0.f,
          "ACS: the k-space centre is not sampled, so there is no auto-calibration (ACS) region");
  AcsRegion best;
  for (Index w = 1; w <= nx; ++w) {
    const Index x0 = std::clamp<Index>(cx - w / 2, 0, nx - w);
    bool row_ok = true;
    for (Index x = x0; x < x0 + w && row_ok; ++x) row_ok = mask(x, cy, 0, 0, 0) != 0.f;
    if (!row_ok) continue;  // a wider range may still be shifted onto sampled columns; keep trying
    auto full_row = [&](Index y) {
      for (Index x = x0; x < x0 + w; ++x)
        if (mask(x, y, 0, 0, 0) == 0.f) return false;
      return true;
    };
    Index y0 = cy, y1 = cy + 1;
    while (y0 > 0 && full_row(y0 - 1)) --y0;
    while (y1 < ny && full_row(y1)) ++y1;
    if (w * (y1 - y0) > best.area()) best = {x0, y0, w, y1 - y0};
  }
  return best;
}

/// Options of lowres_maps.
struct LowResMapsOptions {
  /// Pixels whose low-resolution RSS is below threshold * its maximum get zero maps (outside the object).
  double threshold = 0.05;
  /// The window spans at most this many samples along each axis, centred in the ACS region (a line mask's ACS
  /// block is full width along the read-out; a window that long would make the maps high-resolution and streaky).
  Index max_size = 32;
};

/// Our own coil sensitivity estimate, the low-resolution method: the ACS block of each coil's k-space (the region
/// find_acs returns), tapered by a separable Hann window, zero-padded and inverse transformed gives low-resolution
/// coil images c_j (the window at most opt.max_size samples per axis, centred in the ACS block); the maps are s_j = c_j / sqrt(sum_k |c_k|^2) where that RSS exceeds `threshold` times its
/// maximum, 0 elsewhere. Method: Pruessmann et al., MRM 42 (1999), "Sensitivity assessment" (reference-image
/// division, here with the RSS as the reference, Roemer 1990); McKenzie et al., "Self-calibrating parallel imaging
/// with automatic coil sensitivity extraction", MRM 47 (2002) 529-538 (maps from the central, fully sampled lines).
/// `kspace`: dims (nx, ny, coils, 1, 1); `mask`: (nx, ny, 1, 1, 1). Returns maps (nx, ny, coils, 1, 1).
/// Throws Error as find_acs does, and when the ACS region is smaller than 4 x 4.
inline CArray lowres_maps(const CArray& kspace, const RArray& mask, const LowResMapsOptions& opt = {}) {
  const Dims d = dims_of(kspace);
  require(d[3] == 1 && d[4] == 1, "lowres_maps: k-space dims (nx, ny, coils, 1, 1) expected, got " + dims_string(d));
  require(mask.dimension(0) == d[0] && mask.dimension(1) == d[1],
          "lowres_maps: mask dims " + dims_string(dims_of(mask)) + " do not match k-space " + dims_string(d));
  AcsRegion acs = find_acs(mask);
  require(acs.nx >= 4 && acs.ny >= 4, "lowres_maps: the ACS region (" + std::to_string(acs.nx) + " x " +
                                          std::to_string(acs.ny) + ") is smaller than 4 x 4");
  require(opt.max_size >= 4, "lowres_maps: max_size must be >= 4");
  if (acs.nx > opt.max_size) acs.x0 += (acs.nx - opt.max_size) / 2, acs.nx = opt.max_size;
  if (acs.ny > opt.max_size) acs.y0 += (acs.ny - opt.max_size) / 2, acs.ny = opt.max_size;
  auto hann = [](Index i, Index n) {
    return 0.5 - 0.5 * std::cos(2 * std::numbers::pi * (double(i) + 0.5) / double(n));
  };
  CArray low = EigenFftw::zeros(d);
  for (Index c = 0; c < d[2]; ++c)
    for (Index y = acs.y0; y < acs.y0 + acs.ny; ++y)
      for (Index x = acs.x0; x < acs.x0 + acs.nx; ++x)
        low(x, y, c, 0, 0) =
            kspace(x, y, c, 0, 0) * float(hann(x - acs.x0, acs.nx) * hann(y - acs.y0, acs.ny));
  CArray img = EigenFftw::ifft2c(low);
  RArray r = rss(img);
  Eigen::Tensor<float, 0> mx = r.maximum();
  const float cut = float(opt.threshold) * mx();
  CArray maps = EigenFftw::zeros(d);
  for (Index c = 0; c < d[2]; ++c)
    for (Index y = 0; y < d[1]; ++y)
      for (Index x = 0; x < d[0]; ++x) {
        const float v = r(x, y, 0, 0, 0);
        if (v > cut && v > 0) maps(x, y, c, 0, 0) = img(x, y, c, 0, 0) / v;
      }
  return maps;
}

/// ESPIRiT maps and the command that made them.
struct EcalibResult {
  CArray maps;          ///< (nx, ny, coils, 1, 1): the first ESPIRiT map
  std::string command;  ///< the bart command line
};

/// ESPIRiT sensitivity maps through BART: `bart ecalib -m 1 [-r CX:CY] kspace maps`, the calibration size limited
/// to the ACS region of `mask` when given (so BART calibrates on acquired samples only). Method: Uecker et al.,
/// "ESPIRiT - an eigenvalue approach to autocalibrating parallel MRI", MRM 71 (2014) 990-1001.
/// `kspace`: (nx, ny, coils, 1, 1), zero where not acquired. Throws Error if bart is missing or fails.
inline EcalibResult ecalib_maps(const CArray& kspace, const RArray* mask = nullptr) {
  const Dims d = dims_of(kspace);
  require(d[2] >= 1 && d[3] == 1 && d[4] == 1,
          "ecalib: k-space dims (nx, ny, coils, 1, 1) expected, got " + dims_string(d));
  std::vector<std::string> args = {"-m", "1"};
  if (mask) {
    const AcsRegion acs = find_acs(*mask);
    args.push_back("-r");
    args.push_back(std::to_string(std::min<Index>(acs.nx, 24)) + ":" + std::to_string(std::min<Index>(acs.ny, 24)));
  }
  BartResult r = run_bart("ecalib", args, {{"kspace", &kspace}});
  const Dims od = dims_of(r.output);
  require(od[0] == d[0] && od[1] == d[1] && od[2] == d[2],
          "ecalib returned dims " + dims_string(od) + " for k-space " + dims_string(d));
  CArray maps = r.output;
  if (od[4] != 1) {  // keep the first map only
    Eigen::array<Index, 5> off{0, 0, 0, 0, 0}, ext{d[0], d[1], d[2], 1, 1};
    maps = r.output.slice(off, ext);
  }
  return {maps, r.command};
}

/// Mean over coils of the Pearson correlation between |a_c| and |b_c| over the pixels where `support`
/// (dims (nx, ny, 1, 1, 1)) is non-zero: 1 for maps equal up to a per-pixel phase and a global scale.
/// Throws Error when the dims differ or the support has fewer than 2 pixels.
inline double map_magnitude_correlation(const CArray& a, const CArray& b, const RArray& support) {
  const Dims d = dims_of(a);
  require(d == dims_of(b), "map correlation: dims " + dims_string(d) + " and " + dims_string(dims_of(b)) + " differ");
  require(support.dimension(0) == d[0] && support.dimension(1) == d[1], "map correlation: support size differs");
  double total = 0;
  for (Index c = 0; c < d[2]; ++c) {
    double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, n = 0;
    for (Index y = 0; y < d[1]; ++y)
      for (Index x = 0; x < d[0]; ++x) {
        if (support(x, y, 0, 0, 0) == 0.f) continue;
        const double u = std::abs(a(x, y, c, 0, 0)), v = std::abs(b(x, y, c, 0, 0));
        sa += u, sb += v, saa += u * u, sbb += v * v, sab += u * v, n += 1;
      }
    require(n >= 2, "map correlation: the support has fewer than 2 pixels");
    const double cov = sab / n - sa * sb / n / n, va = saa / n - sa * sa / n / n, vb = sbb / n - sb * sb / n / n;
    total += cov / std::sqrt(std::max(va * vb, 1e-300));
  }
  return total / double(d[2]);
}

}  // namespace reconlab::solvers
