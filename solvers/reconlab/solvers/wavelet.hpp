#pragma once
/// @file wavelet.hpp
/// Orthonormal 2D Haar wavelet transform W over (x, y) of every (coil, frame, batch) plane, for wavelet-L1
/// compressed sensing (Lustig, Donoho, Pauly, "Sparse MRI", MRM 58 (2007) 1182-1195, eq. (2) with Psi = W).
/// Haar: S. Mallat, "A Wavelet Tour of Signal Processing" (3rd ed.), section 7.2.2: a = (u + v)/sqrt 2,
/// d = (u - v)/sqrt 2 on sample pairs. Any size: at each level an odd trailing sample is carried into the
/// approximation band unchanged, so W stays orthonormal (W^H W = I) for every nx, ny.
/// Coefficient layout (per plane, x fastest as the image): after each level the approximation occupies the first
/// ceil(n/2) samples of the current block along each axis, details the rest (Mallat's pyramid layout).
#include <algorithm>
#include <cmath>
#include <vector>

#include "reconlab/array.hpp"

namespace reconlab::solvers {

/// The orthonormal multi-level Haar transform; `levels` >= 1 (a level is skipped once the block is 1 sample wide).
class HaarWavelet {
 public:
  explicit HaarWavelet(int levels = 4) : levels_(levels) {
    require(levels >= 1, "HaarWavelet: levels must be >= 1, got " + std::to_string(levels));
  }
  /// Forward W x; dims unchanged.
  CArray forward(const CArray& x) const { return run(x, true); }
  /// Inverse W^H c = W^{-1} c; dims unchanged.
  CArray inverse(const CArray& c) const { return run(c, false); }
  /// Size (wx, wy) of the coarsest approximation block of an nx x ny plane (not thresholded by CS solvers).
  std::pair<Index, Index> coarse_block(Index nx, Index ny) const {
    Index wx = nx, wy = ny;
    for (int l = 0; l < levels_; ++l) {
      if (wx > 1) wx = (wx + 1) / 2;
      if (wy > 1) wy = (wy + 1) / 2;
    }
    return {wx, wy};
  }
  int levels() const { return levels_; }

 private:
  /// One Haar level along a line of n samples at p[0], p[stride], ...: the line is gathered into `line`, transformed
  /// into `tmp` and scattered back. (Transforming straight from the strided samples let GCC 12's vectoriser read
  /// one sample past the line's end: a rare segfault when the plane ended on a page boundary.)
  static void step(cfloat* p, Index n, Index stride, bool fwd, std::vector<cfloat>& line, std::vector<cfloat>& tmp) {
    const Index h = n / 2, na = (n + 1) / 2;
    const float s = 1.0f / std::sqrt(2.0f);
    line.resize(static_cast<std::size_t>(n));
    tmp.assign(static_cast<std::size_t>(n), cfloat(0));
    for (Index i = 0; i < n; ++i) line[i] = p[i * stride];
    if (fwd) {
      for (Index i = 0; i < h; ++i) {
        const cfloat u = line[2 * i], v = line[2 * i + 1];
        tmp[i] = (u + v) * s;
        tmp[na + i] = (u - v) * s;
      }
      if (n % 2) tmp[h] = line[n - 1];
    } else {
      for (Index i = 0; i < h; ++i) {
        const cfloat a = line[i], d = line[na + i];
        tmp[2 * i] = (a + d) * s;
        tmp[2 * i + 1] = (a - d) * s;
      }
      if (n % 2) tmp[n - 1] = line[h];
    }
    for (Index i = 0; i < n; ++i) p[i * stride] = tmp[i];
  }
  CArray run(const CArray& in, bool fwd) const {
    CArray out = in;
    const Index nx = in.dimension(0), ny = in.dimension(1), plane = nx * ny;
    const Index planes = plane ? in.size() / plane : 0;
    std::vector<std::pair<Index, Index>> blocks;
    Index wx = nx, wy = ny;
    for (int l = 0; l < levels_ && (wx > 1 || wy > 1); ++l) {
      blocks.push_back({wx, wy});
      if (wx > 1) wx = (wx + 1) / 2;
      if (wy > 1) wy = (wy + 1) / 2;
    }
    std::vector<cfloat> line, tmp;
    for (Index p = 0; p < planes; ++p) {
      cfloat* a = out.data() + p * plane;
      auto level = [&](Index bx, Index by) {
        if (fwd) {
          if (bx > 1)
            for (Index y = 0; y < by; ++y) step(a + y * nx, bx, 1, true, line, tmp);
          if (by > 1)
            for (Index x = 0; x < bx; ++x) step(a + x, by, nx, true, line, tmp);
        } else {
          if (by > 1)
            for (Index x = 0; x < bx; ++x) step(a + x, by, nx, false, line, tmp);
          if (bx > 1)
            for (Index y = 0; y < by; ++y) step(a + y * nx, bx, 1, false, line, tmp);
        }
      };
      if (fwd)
        for (auto [bx, by] : blocks) level(bx, by);
      else
        for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) level(it->first, it->second);
    }
    return out;
  }
  int levels_;
};

}  // namespace reconlab::solvers
