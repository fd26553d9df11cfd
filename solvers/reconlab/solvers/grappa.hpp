#pragma once
/// @file grappa.hpp
/// GRAPPA: generalized autocalibrating partially parallel acquisitions. M. A. Griswold, P. M. Jakob, R. M.
/// Heidemann, M. Nittka, V. Jellus, J. Wang, B. Kiefer, A. Haase, MRM 47 (2002) 1202-1210, eq. (2): every
/// missing k-space sample of coil j is a linear combination of the acquired samples of all coils in a
/// neighbourhood (source lines above and below, a few read-out positions either side); the weights are fitted by
/// least squares on the fully sampled ACS lines, where sources and targets are both known.
///
/// Sampling: 1D line undersampling (every phase-encoding line fully acquired or not), along x or y; the mask's
/// line direction is detected. The lines need not be equispaced (fastMRI's masks are not exactly): missing lines
/// are grouped by the offsets of their nearest acquired lines, and one kernel is calibrated per group.
#include <Eigen/Dense>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "reconlab/sense.hpp"
#include "reconlab/solvers/coil_maps.hpp"

namespace reconlab::solvers {

/// Options of grappa.
struct GrappaOptions {
  int lines_per_side = 2;   ///< acquired source lines used above and below each missing line (>= 1)
  int kernel_width = 5;     ///< read-out positions of the kernel (odd, >= 1)
  double lambda = 1e-4;     ///< Tikhonov weight relative to trace(S^H S) / n_sources (0: plain least squares)
};

namespace grappa_detail {

/// Swaps x and y of (nx, ny, c, 1, 1) arrays.
inline CArray transpose_xy(const CArray& a) {
  Eigen::array<Index, 5> perm{1, 0, 2, 3, 4};
  CArray out = a.shuffle(perm);
  return out;
}
inline RArray transpose_xy(const RArray& a) {
  Eigen::array<Index, 5> perm{1, 0, 2, 3, 4};
  RArray out = a.shuffle(perm);
  return out;
}

/// GRAPPA along y (rows = phase-encoding lines) on k-space (nx, ny, nc) with acquired rows `acq`.
inline CArray grappa_rows(const CArray& k, const std::vector<bool>& acq, Index acs0, Index acs1,
                          const GrappaOptions& opt) {
  const Index nx = k.dimension(0), ny = k.dimension(1), nc = k.dimension(2);
  const Index hx = opt.kernel_width / 2;
  // Source offsets of each missing row: the nearest lines_per_side acquired rows below and above, searched
  // circularly (the discrete k-space of a coil image is a circular convolution of the object's k-space with the
  // coil's, so rows and read-out positions wrap around at the edges).
  std::map<std::vector<Index>, std::vector<Index>> groups;
  for (Index y = 0; y < ny; ++y) {
    if (acq[y]) continue;
    std::vector<Index> offs;
    for (Index o = -1, n = 0; o > -ny && n < opt.lines_per_side; --o)
      if (acq[((y + o) % ny + ny) % ny]) offs.insert(offs.begin(), o), ++n;
    for (Index o = 1, n = 0; o < ny && n < opt.lines_per_side; ++o)
      if (acq[(y + o) % ny]) offs.push_back(o), ++n;
    require(!offs.empty(), "GRAPPA: no acquired line to interpolate from");
    groups[offs].push_back(y);
  }
  CArray out = k;
  for (const auto& [offs, rows] : groups) {
    const Index lo = offs.front(), hi = offs.back();
    const Index nsrc = Index(offs.size()) * opt.kernel_width * nc;
    // Calibration targets: rows t with t + lo .. t + hi inside the ACS block [acs0, acs1).
    std::vector<Index> targets;
    for (Index t = acs0 - std::min<Index>(lo, 0); t < acs1 - std::max<Index>(hi, 0); ++t) targets.push_back(t);
    const Index ncal = Index(targets.size()) * nx;
    if (targets.empty() || ncal < nsrc)
      throw Error("GRAPPA: the ACS region (" + std::to_string(acs1 - acs0) +
                  " lines) is too small for the kernel: it spans " + std::to_string(hi - lo + 1) +
                  " lines and needs at least " + std::to_string(nsrc) + " calibration fits, got " +
                  std::to_string(std::max<Index>(ncal, 0)) + " (use more ACS lines or a smaller kernel)");
    Eigen::MatrixXcd S(ncal, nsrc), T(ncal, nc);
    auto fill_src = [&](auto&& row, Index x, Index y) {
      Index j = 0;
      for (Index o : offs)
        for (Index dx = -hx; dx <= hx; ++dx)
          for (Index c = 0; c < nc; ++c, ++j) {
            row(j) = std::complex<double>(k(((x + dx) % nx + nx) % nx, ((y + o) % ny + ny) % ny, c, 0, 0));
          }
    };
    Index r = 0;
    for (Index t : targets)
      for (Index x = 0; x < nx; ++x, ++r) {
        fill_src(S.row(r), x, t);
        for (Index c = 0; c < nc; ++c) T(r, c) = k(x, t, c, 0, 0);
      }
    Eigen::MatrixXcd N = S.adjoint() * S;
    const double reg = opt.lambda * N.real().trace() / double(nsrc);
    N.diagonal().array() += reg;
    const Eigen::MatrixXcd W = N.ldlt().solve(S.adjoint() * T);
    Eigen::RowVectorXcd src(nsrc);
    for (Index y : rows)
      for (Index x = 0; x < nx; ++x) {
        fill_src(src, x, y);
        const Eigen::RowVectorXcd v = src * W;
        for (Index c = 0; c < nc; ++c) out(x, y, c, 0, 0) = cfloat(v(c));
      }
  }
  return out;
}

}  // namespace grappa_detail

/// The phase-encoding axis of a line mask: 1 when every row (constant y) is fully acquired or empty (lines along
/// x, undersampled in y), 0 when every column is; throws Error for other (2D) patterns.
inline int line_axis(const RArray& mask) {
  const Index nx = mask.dimension(0), ny = mask.dimension(1);
  auto rows_constant = [&] {
    for (Index y = 0; y < ny; ++y)
      for (Index x = 1; x < nx; ++x)
        if (mask(x, y, 0, 0, 0) != mask(0, y, 0, 0, 0)) return false;
    return true;
  };
  auto cols_constant = [&] {
    for (Index x = 0; x < nx; ++x)
      for (Index y = 1; y < ny; ++y)
        if (mask(x, y, 0, 0, 0) != mask(x, 0, 0, 0, 0)) return false;
    return true;
  };
  if (rows_constant()) return 1;
  if (cols_constant()) return 0;
  throw Error("GRAPPA needs 1D line undersampling (every phase-encoding line fully acquired or skipped); this mask "
              "is a 2D pattern (e.g. Poisson disc)");
}

/// GRAPPA reconstruction of multi-coil k-space `kspace` (nx, ny, coils, 1, 1), zero where not acquired, under the
/// line mask `mask` (nx, ny, 1, 1, 1). Returns the completed k-space (acquired samples kept, missing ones
/// interpolated). The ACS block is the contiguous run of acquired lines through the k-space centre.
/// Throws Error for 2D masks, dims that disagree, bad options, or an ACS region too small for the kernel.
inline CArray grappa(const CArray& kspace, const RArray& mask, const GrappaOptions& opt = {}) {
  const Dims d = dims_of(kspace);
  require(d[3] == 1 && d[4] == 1, "GRAPPA: k-space dims (nx, ny, coils, 1, 1) expected, got " + dims_string(d));
  require(mask.dimension(0) == d[0] && mask.dimension(1) == d[1],
          "GRAPPA: mask dims " + dims_string(dims_of(mask)) + " do not match k-space " + dims_string(d));
  require(opt.lines_per_side >= 1 && opt.kernel_width >= 1 && opt.kernel_width % 2 == 1 && opt.lambda >= 0,
          "GRAPPA: lines_per_side >= 1, odd kernel_width >= 1 and lambda >= 0 required");
  const int axis = line_axis(mask);
  const CArray k = axis == 1 ? kspace : grappa_detail::transpose_xy(kspace);
  const RArray m = axis == 1 ? mask : grappa_detail::transpose_xy(mask);
  const Index nx = m.dimension(0), ny = m.dimension(1);
  std::vector<bool> acq(ny);
  for (Index y = 0; y < ny; ++y) acq[y] = m(0, y, 0, 0, 0) != 0.f;
  const Index cy = ny / 2;
  require(acq[cy], "GRAPPA: the k-space centre line is not acquired, so there are no ACS lines");
  Index a0 = cy, a1 = cy + 1;
  while (a0 > 0 && acq[a0 - 1]) --a0;
  while (a1 < ny && acq[a1]) ++a1;
  (void)nx;
  CArray out = grappa_detail::grappa_rows(k, acq, a0, a1, opt);
  return axis == 1 ? out : grappa_detail::transpose_xy(out);
}

}  // namespace reconlab::solvers
