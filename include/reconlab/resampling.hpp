#pragma once
/// @file resampling.hpp
/// Resampling between a high-resolution image grid (nx, ny) and a low-resolution one (nx / s, ny / s), the
/// operators D of super-resolution (min_x 0.5 ||D x - y||^2 + R(x)) and the classical interpolators:
///
///   KspaceTruncation<B>  the physical low-resolution acquisition: keep the centre (lx, ly) of the centred unitary
///                        k-space, D = F_l^H C F_h (C the centred crop of resize_xy, BART `resize -c`'s
///                        convention); D D^H = I, so D^H D is the orthogonal projection onto the low frequencies
///                        and D^H y is zero-padded k-space (sinc) interpolation. Units: with unitary transforms the
///                        DC sample c sqrt(nx ny) is kept, so a constant image c becomes the constant
///                        c sqrt((nx ny) / (lx ly)) on the low-resolution grid (the energy of fewer pixels); multiply
///                        by sqrt((lx ly) / (nx ny)) for the high-resolution intensity units, and D^H maps a
///                        low-resolution constant c' back to c' sqrt((lx ly) / (nx ny)) (sinc_upsample rescales).
///   BlockAverage         image-domain downsampling by the mean of s x s blocks (Eigen backend); adjoint:
///                        replication divided by s^2.
///   bicubic_upsample     Keys' cubic convolution (R. G. Keys, "Cubic convolution interpolation for digital image
///                        processing", IEEE TASSP 29(6), 1981, eq. 15 with a = -1/2), separable, pixel centres
///                        aligned (source coordinate (i + 1/2) / s - 1/2), edges replicated.
///
/// Arrays use reconlab's layout (x, y, coil, frame, batch), x fastest; resampling acts on (x, y) of every plane.
#include <cmath>
#include <string>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/backends/eigen_fftw.hpp"
#include "reconlab/error.hpp"
#include "reconlab/operators.hpp"

namespace reconlab {

/// D = F_l^H C F_h from a high-resolution grid (nx, ny) to the centred low-frequency grid (lx, ly) <= (nx, ny),
/// on backend B (EigenFftw or Torch). Domain dims (nx, ny, c, f, b), range (lx, ly, c, f, b) with any c, f, b
/// (checked: -1 entries of the dims mean "any"). Throws Error for sizes outside 0 < (lx, ly) <= (nx, ny) and
/// arrays of other in-plane sizes. See the file comment for the units.
template <class B>
class KspaceTruncation {
 public:
  using Domain = typename B::Array;
  using Range = typename B::Array;
  KspaceTruncation(Index nx, Index ny, Index lx, Index ly) : in_{nx, ny, -1, -1, -1}, out_{lx, ly, -1, -1, -1} {
    require(lx > 0 && ly > 0 && lx <= nx && ly <= ny,
            "KspaceTruncation: need 0 < (lx, ly) <= (nx, ny), got " + std::to_string(nx) + " x " +
                std::to_string(ny) + " -> " + std::to_string(lx) + " x " + std::to_string(ly));
  }
  /// The truncation by an integer factor s >= 1 dividing nx and ny. Throws Error otherwise.
  static KspaceTruncation by_factor(Index nx, Index ny, Index s) {
    require(s >= 1 && nx % s == 0 && ny % s == 0, "KspaceTruncation: factor " + std::to_string(s) +
                                                      " must be >= 1 and divide " + std::to_string(nx) + " x " +
                                                      std::to_string(ny));
    return KspaceTruncation(nx, ny, nx / s, ny / s);
  }
  Range apply(const Domain& x) const {
    require_dims(name(), "high-resolution image", in_, B::dims(x));
    return B::ifft2c(B::resize_xy(B::fft2c(x), out_[0], out_[1]));
  }
  Domain adjoint(const Range& y) const {
    require_dims(name(), "low-resolution image", out_, B::dims(y));
    return B::ifft2c(B::resize_xy(B::fft2c(y), in_[0], in_[1]));
  }
  Dims domain_dims() const { return in_; }
  Dims range_dims() const { return out_; }
  std::string name() const { return "KspaceTruncation"; }

 private:
  Dims in_, out_;
};

/// Zero-padded k-space (sinc) interpolation of a low-resolution image `low` (lx, ly, c, f, b) to (nx, ny):
/// D^H low scaled by sqrt((nx ny) / (lx ly)), so a constant image keeps its value (intensities in low's units). Throws Error as
/// KspaceTruncation.
inline CArray sinc_upsample(const CArray& low, Index nx, Index ny) {
  const KspaceTruncation<EigenFftw> D(nx, ny, low.dimension(0), low.dimension(1));
  const float c = std::sqrt(float(nx * ny) / float(low.dimension(0) * low.dimension(1)));
  return D.adjoint(low) * cfloat(c);
}

/// Image-domain downsampling by the mean of s x s blocks (Eigen backend): (nx, ny, c, f, b) -> (nx/s, ny/s, c, f,
/// b), s dividing nx and ny; the adjoint replicates each value over its block divided by s^2. Throws Error for a
/// factor that does not divide the size and arrays of other in-plane sizes.
class BlockAverage {
 public:
  using Domain = CArray;
  using Range = CArray;
  BlockAverage(Index nx, Index ny, Index s) : s_(s), in_{nx, ny, -1, -1, -1}, out_{-1, -1, -1, -1, -1} {
    require(s >= 1 && nx > 0 && ny > 0 && nx % s == 0 && ny % s == 0,
            "BlockAverage: factor " + std::to_string(s) + " must be >= 1 and divide " + std::to_string(nx) + " x " +
                std::to_string(ny));
    out_[0] = nx / s, out_[1] = ny / s;
  }
  Range apply(const Domain& x) const {
    require_dims(name(), "high-resolution image", in_, dims_of(x));
    const Dims d = dims_of(x);
    CArray out(out_[0], out_[1], d[2], d[3], d[4]);
    out.setZero();
    const Index planes = d[2] * d[3] * d[4], nx = d[0], ny = d[1], lx = out_[0], ly = out_[1];
    const float w = 1.0f / float(s_ * s_);
    for (Index p = 0; p < planes; ++p)
      for (Index y = 0; y < ny; ++y)
        for (Index x0 = 0; x0 < nx; ++x0)
          out.data()[p * lx * ly + (y / s_) * lx + x0 / s_] += x.data()[p * nx * ny + y * nx + x0] * w;
    return out;
  }
  Domain adjoint(const Range& y) const {
    require_dims(name(), "low-resolution image", out_, dims_of(y));
    const Dims d = dims_of(y);
    const Index nx = in_[0], ny = in_[1], lx = out_[0], ly = out_[1], planes = d[2] * d[3] * d[4];
    CArray out(nx, ny, d[2], d[3], d[4]);
    const float w = 1.0f / float(s_ * s_);
    for (Index p = 0; p < planes; ++p)
      for (Index yy = 0; yy < ny; ++yy)
        for (Index x0 = 0; x0 < nx; ++x0)
          out.data()[p * nx * ny + yy * nx + x0] = y.data()[p * lx * ly + (yy / s_) * lx + x0 / s_] * w;
    return out;
  }
  Dims domain_dims() const { return in_; }
  Dims range_dims() const { return out_; }
  std::string name() const { return "BlockAverage"; }

 private:
  Index s_;
  Dims in_, out_;
};

namespace detail {
/// Keys' cubic convolution kernel with a = -1/2 (Keys 1981, eq. 15): 1.5|t|^3 - 2.5|t|^2 + 1 for |t| <= 1,
/// -0.5|t|^3 + 2.5|t|^2 - 4|t| + 2 for 1 < |t| < 2, 0 beyond.
inline double keys_kernel(double t) {
  t = std::abs(t);
  if (t <= 1) return (1.5 * t - 2.5) * t * t + 1;
  if (t < 2) return ((-0.5 * t + 2.5) * t - 4) * t + 2;
  return 0;
}
/// Resampling weights of one axis from n to m = n s samples: for output i, 4 source indices (edge-replicated)
/// and their Keys weights at the source coordinate (i + 1/2) / s - 1/2 (block centres) or
/// (i - floor(m/2)) / s + floor(n/2) (the centred FFT's grids: output floor(m/2) on source floor(n/2); i / s for
/// even n).
struct CubicTaps {
  std::vector<Index> index;  // 4 per output
  std::vector<double> weight;
};
inline CubicTaps cubic_taps(Index n, Index m, bool block_centres) {
  CubicTaps t;
  const double s = double(m) / double(n);
  for (Index i = 0; i < m; ++i) {
    const double u = block_centres ? (double(i) + 0.5) / s - 0.5
                                   : double(i - m / 2) / s + double(n / 2);
    const Index base = Index(std::floor(u));
    for (Index k = -1; k <= 2; ++k) {
      t.index.push_back(std::clamp<Index>(base + k, 0, n - 1));
      t.weight.push_back(keys_kernel(u - double(base + k)));
    }
  }
  return t;
}
}  // namespace detail

/// Bicubic (Keys 1981, a = -1/2) upsampling of every (x, y) plane of `low` (lx, ly, c, f, b) by the integer factor
/// s >= 1 to (s lx, s ly, c, f, b); separable (x, then y), edges replicated. Alignment: `block_centres` true puts
/// low-resolution pixel i at the centre of its s x s block (source coordinate (i + 1/2) / s - 1/2: the grid of
/// BlockAverage, MATLAB imresize's convention); false puts low-resolution pixel floor(l/2) at high-resolution pixel
/// floor(n/2) (source coordinate (i - floor(n/2)) / s + floor(l/2), i / s for even l: the grid of KspaceTruncation,
/// whose centred FFTs keep the image centre there; odd l shifts by half a low-resolution pixel). Reproduces
/// linear ramps exactly away from the edges (the kernel's second-order accuracy). Complex inputs interpolate the
/// real and imaginary parts. Throws Error for s < 1 or an empty plane.
inline CArray bicubic_upsample(const CArray& low, Index s, bool block_centres = true) {
  const Dims d = dims_of(low);
  require(s >= 1, "bicubic_upsample: factor must be >= 1, got " + std::to_string(s));
  require(d[0] > 0 && d[1] > 0, "bicubic_upsample: empty image " + dims_string(d));
  const Index lx = d[0], ly = d[1], nx = lx * s, ny = ly * s, planes = d[2] * d[3] * d[4];
  const auto tx = detail::cubic_taps(lx, nx, block_centres), ty = detail::cubic_taps(ly, ny, block_centres);
  CArray out(nx, ny, d[2], d[3], d[4]);
  std::vector<std::complex<double>> rows(std::size_t(nx * ly));
  for (Index p = 0; p < planes; ++p) {
    const cfloat* src = low.data() + p * lx * ly;
    for (Index y = 0; y < ly; ++y)
      for (Index x = 0; x < nx; ++x) {
        std::complex<double> v = 0;
        for (int k = 0; k < 4; ++k)
          v += tx.weight[std::size_t(4 * x + k)] * std::complex<double>(src[y * lx + tx.index[std::size_t(4 * x + k)]]);
        rows[std::size_t(y * nx + x)] = v;
      }
    cfloat* dst = out.data() + p * nx * ny;
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) {
        std::complex<double> v = 0;
        for (int k = 0; k < 4; ++k)
          v += ty.weight[std::size_t(4 * y + k)] * rows[std::size_t(ty.index[std::size_t(4 * y + k)] * nx + x)];
        dst[y * nx + x] = cfloat(v);
      }
  }
  return out;
}

}  // namespace reconlab
