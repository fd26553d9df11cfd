#pragma once
/// @file nufft.hpp
/// Non-uniform FFT (type 2, image -> samples) and its exact adjoint by Kaiser-Bessel gridding, with a Toeplitz-
/// embedded normal operator, on the Eigen/FFTW backend.
///
/// Model (the unitary non-uniform DFT, so that on a Cartesian trajectory it equals reconlab's centred unitary FFT):
///   y(k) = (nx ny)^(-1/2) sum_r x(r) exp(-2 pi i (k_x r_x / nx + k_y r_y / ny)),
/// r the centred pixel index (array index minus floor(n/2)), k in cycles per field of view (BART's trajectory
/// units, |k| <= n/2).
///
/// Method (J. I. Jackson, C. H. Meyer, D. G. Nishimura, A. Macovski, "Selection of a convolution function for Fourier
/// inversion using gridding", IEEE TMI 10, 1991; P. J. Beatty, D. G. Nishimura, J. M. Pauly, "Rapid gridding
/// reconstruction with a minimal oversampling ratio", IEEE TMI 24, 2005):
///   1. deapodise: x(r) / (c_x(r_x) c_y(r_y)) sqrt(G_x G_y / (nx ny)), c the Fourier transform of the kernel
///      (the kernel's exact Fourier transform, W sinh(z) / z, kb_deapodisation);
///   2. zero-pad to the oversampled grid G = even(ceil(alpha n)) (centred) and apply the centred unitary FFT;
///   3. interpolate at g = k G / n + G/2 with the separable Kaiser-Bessel kernel of width W grid points,
///      kb(d) = I_0(beta sqrt(1 - (2 d / W)^2)) for |d| < W/2, beta = pi sqrt((W / a)^2 (a - 1/2)^2 - 0.8) with
///      a = G / n (Beatty et al. 2005, eq. 5); the grid is periodic (the DFT's periodicity).
/// The adjoint is the exact transpose of each step (spread, inverse FFT, crop, deapodise), so <A x, y> = <x, A^H y>
/// to float rounding. Accuracy against the exact non-uniform DFT (tests/core/nufft_test.cpp): see NufftOptions.
///
/// Toeplitz normal (F. T. A. W. Wajer, K. P. Pruessmann, "Major speedup of reconstruction for sensitivity encoding
/// with arbitrary trajectories", ISMRM 2001; J. A. Fessler et al., IEEE TSP 53, 2005): A^H W A x is the convolution
/// of x with h(d) = (nx ny)^-1 sum_k w_k exp(2 pi i k d / n), d in (-n, n); h is computed once per frame by the
/// adjoint NUFFT onto the 2n grid, and the convolution runs as a circulant embedding on the 2n grid (two FFTs).
///
/// Layouts: image (nx, ny, C, T, 1) (any C: coils or 1), samples (S, Y, C, T, 1) for a trajectory of coords dims
/// (2, S, Y, T, 1) (acquisition.hpp's Trajectory: a different trajectory per frame).
///
/// Threads: the FFTs use FFTW's threads and the interpolation the same count (EigenFftw::fft_threads): the forward
/// over samples, the adjoint over (coil, frame) planes; the results are the same bits on any thread count. The
/// interpolator (per sample, W indices and weights per axis) is precomputed at construction. Measured on this
/// 2-core machine (benchmarks/nufft_bench.cpp, 256^2, 8 coils, 64 spokes x 512 samples): forward 16 ms, adjoint
/// 19 ms, Toeplitz normal 25 ms in process, against 98 / 159 ms for `bart nufft` / `bart nufft -a` as processes,
/// at 8.6e-6 relative error against the exact DFT where `bart nufft` has 3.3e-2.
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/backends/eigen_fftw.hpp"
#include "reconlab/error.hpp"

namespace reconlab {

/// Options of the NUFFT.
struct NufftOptions {
  /// Grid oversampling alpha in [1.25, 2] (the grid is even(ceil(alpha n))). Measured against the exact DFT on
  /// random points in float32 (nufft_test): width 6 / alpha 2 gives a relative error below 1e-4, width 4 / alpha
  /// 1.25 about 1e-2.
  double oversampling = 2.0;
  /// Kernel width W in grid points, 4..6 (BART and SigPy use 4 to 6).
  int width = 6;
};

namespace detail {
/// The Kaiser-Bessel kernel kb(d) of width W and shape beta (file comment); 0 for |d| >= W / 2.
inline double kaiser_bessel(double d, double W, double beta) {
  const double t = 2.0 * d / W;
  if (std::abs(t) >= 1.0) return 0.0;
  // I0(x) by its power series sum_k ((x/2)^2)^k / (k!)^2 (Abramowitz and Stegun 9.6.12): all terms positive, so it
  // is accurate to rounding; x <= beta < 20 here, where it converges in < 50 terms (std::cyl_bessel_i took 90% of
  // the set-up time of a 256 x 256, 32768-sample NUFFT).
  const double q = 0.25 * beta * beta * (1.0 - t * t);
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 200 && term > 1e-17 * sum; ++k) {
    term *= q / (double(k) * double(k));
    sum += term;
  }
  return sum;
}
/// Fourier transform of the kernel at centred pixel r of an n-pixel axis on a G-point grid, in closed form:
/// integral of kb(d) exp(-2 pi i d nu) dd over |d| < W / 2 with nu = r / G equals
/// W sinh(z) / z, z = sqrt(beta^2 - (pi W nu)^2) (W sin(|z|) / |z| when beta < pi W |nu|); Jackson et al., IEEE TMI
/// 10 (1991), Table I; Fessler and Sutton, IEEE TSP 51 (2003), eq. (13). (Checked against Simpson quadrature of
/// the kernel in nufft_test.)
inline std::vector<double> kb_deapodisation(Index n, Index G, double W, double beta) {
  std::vector<double> c(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    const double a = M_PI * W * double(i - n / 2) / double(G);
    const double z2 = beta * beta - a * a;
    double v;
    if (std::abs(z2) < 1e-12) v = W;
    else if (z2 > 0) v = W * std::sinh(std::sqrt(z2)) / std::sqrt(z2);
    else v = W * std::sin(std::sqrt(-z2)) / std::sqrt(-z2);
    c[std::size_t(i)] = v;
  }
  return c;
}
/// The even oversampled grid size of n at oversampling alpha.
inline Index oversampled_size(Index n, double alpha) {
  Index G = Index(std::ceil(alpha * double(n)));
  return G + (G % 2);
}
}  // namespace detail

/// Throws Error unless `coords` is a trajectory for an (nx, ny) image: dims (2, S, Y, T, 1) with S, Y, T >= 1,
/// finite, |k_x| <= nx / 2 and |k_y| <= ny / 2 (cycles per FOV). `who` names the caller.
inline void require_trajectory(const RArray& coords, Index nx, Index ny, const std::string& who) {
  const Dims d = dims_of(coords);
  require(d[0] == 2 && d[1] >= 1 && d[2] >= 1 && d[3] >= 1 && d[4] == 1,
          who + ": the trajectory must have dims (2, samples, spokes, frames, 1) (k_x, k_y in cycles per FOV), got " +
              dims_string(d));
  for (Index i = 0; i < coords.size() / 2; ++i) {
    const float kx = coords.data()[2 * i], ky = coords.data()[2 * i + 1];
    require(std::isfinite(kx) && std::isfinite(ky),
            who + ": the trajectory has a non-finite coordinate at sample " + std::to_string(i));
    require(std::abs(kx) <= 0.5f * float(nx) && std::abs(ky) <= 0.5f * float(ny),
            who + ": trajectory sample " + std::to_string(i) + " at (" + std::to_string(kx) + ", " +
                std::to_string(ky) + ") lies outside +-(" + std::to_string(nx / 2) + ", " + std::to_string(ny / 2) +
                ") cycles per FOV for a " + std::to_string(nx) + " x " + std::to_string(ny) + " image");
  }
}

/// `coords` (2, S, Y, 1 or frames, 1) for `frames` frames: as it is when it has that many, else its one frame
/// repeated (a trajectory shared by every frame). Throws Error for another frame count.
inline RArray trajectory_for_frames(const RArray& coords, Index frames) {
  const Index T = coords.dimension(3);
  if (T == frames) return coords;
  require(T == 1, "the trajectory has " + std::to_string(T) + " frames but the data " + std::to_string(frames) +
                      "; give one trajectory per frame or one for all");
  RArray out(2, coords.dimension(1), coords.dimension(2), frames, 1);
  for (Index f = 0; f < frames; ++f) out.chip(f, 3) = coords.chip(0, 3);
  return out;
}

/// y (S, Y, C, T, 1) times w (S, Y, 1, T, 1) per sample, for every coil; the square root of w with `square_root`.
inline void multiply_per_sample(CArray& y, const RArray& w, bool square_root = false) {
  const Index per_frame = y.dimension(0) * y.dimension(1), C = y.dimension(2), T = y.dimension(3);
  require(w.dimension(0) * w.dimension(1) == per_frame && w.dimension(3) == T,
          "multiply_per_sample: weights " + dims_string(dims_of(w)) + " do not fit samples " + dims_string(dims_of(y)));
  for (Index f = 0; f < T; ++f)
    for (Index c = 0; c < C; ++c)
      for (Index s = 0; s < per_frame; ++s) {
        const float v = w.data()[f * per_frame + s];
        y.data()[(f * C + c) * per_frame + s] *= square_root ? std::sqrt(v) : v;
      }
}

/// The NUFFT operator A on an (nx, ny) image for a trajectory (file comment), with optional sample weights w for
/// the normal A^H W A (density compensation; ones without). With `weighted_model` (needs weights) the operator
/// itself is W^(1/2) A (apply scales the samples by sqrt(w), adjoint scales its input first), so that its normal
/// A^H W A is its own A'^H A': the density-weighted least-squares model of CG and CS on trajectories.
/// Domain (nx, ny, C, T, 1) for any C, range (S, Y, C, T, 1). Throws Error for a bad trajectory (require_trajectory), options outside their ranges, weights of other
/// dims than (S, Y, 1, T, 1) or negative, and arrays of other dims.
class Nufft {
 public:
  using Domain = CArray;
  using Range = CArray;

  Nufft(const RArray& coords, Index nx, Index ny, const NufftOptions& o = {},
        std::optional<RArray> weights = std::nullopt, bool weighted_model = false)
      : coords_(coords), nx_(nx), ny_(ny), o_(o), weights_(std::move(weights)), weighted_model_(weighted_model) {
    require(!weighted_model || weights_, "nufft: a weighted model needs sample weights");
    if (weighted_model) sqrt_weights_ = RArray(weights_->sqrt());  // once, not per apply
    require(nx >= 2 && ny >= 2, "nufft: the image must be at least 2 x 2, got " + std::to_string(nx) + " x " +
                                    std::to_string(ny));
    require_trajectory(coords, nx, ny, "nufft");
    require(o.oversampling >= 1.25 && o.oversampling <= 2.0 + 1e-12,
            "nufft: oversampling must be in [1.25, 2], got " + std::to_string(o.oversampling));
    require(o.width >= 4 && o.width <= 6, "nufft: kernel width must be 4, 5 or 6, got " + std::to_string(o.width));
    S_ = coords.dimension(1), Y_ = coords.dimension(2), T_ = coords.dimension(3);
    if (weights_) {
      require(dims_of(*weights_) == (Dims{S_, Y_, 1, T_, 1}),
              "nufft: weights must have dims " + dims_string({S_, Y_, 1, T_, 1}) + ", got " +
                  dims_string(dims_of(*weights_)));
      for (Index i = 0; i < weights_->size(); ++i)
        require(std::isfinite(weights_->data()[i]) && weights_->data()[i] >= 0,
                "nufft: weights must be finite and >= 0");
    }
    gx_ = detail::oversampled_size(nx, o.oversampling), gy_ = detail::oversampled_size(ny, o.oversampling);
    const double W = o.width;
    auto beta_of = [&](Index n, Index G) {
      const double a = double(G) / double(n);
      return M_PI * std::sqrt((W / a) * (W / a) * (a - 0.5) * (a - 0.5) - 0.8);
    };
    const double bx = beta_of(nx, gx_), by = beta_of(ny, gy_);
    const auto cx = detail::kb_deapodisation(nx, gx_, W, bx), cy = detail::kb_deapodisation(ny, gy_, W, by);
    const double scale = std::sqrt(double(gx_ * gy_) / double(nx * ny));
    deapod_.resize(std::size_t(nx * ny));
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) deapod_[std::size_t(y * nx + x)] = float(scale / (cx[std::size_t(x)] * cy[std::size_t(y)]));
    // The interpolator: per sample, W grid indices and weights per axis (separable kernel).
    const Index n_samples = S_ * Y_ * T_, w = o.width;
    ix_.resize(std::size_t(n_samples * w)), iy_.resize(std::size_t(n_samples * w));
    wx_.resize(std::size_t(n_samples * w)), wy_.resize(std::size_t(n_samples * w));
    auto taps = [&](double g, Index G, double beta, Index* idx, float* wt) {
      const Index j0 = Index(std::ceil(g - W / 2));
      for (Index a = 0; a < w; ++a) {
        const Index j = j0 + a;
        idx[a] = ((j % G) + G) % G;
        wt[a] = float(detail::kaiser_bessel(g - double(j), W, beta));
      }
    };
    for (Index s = 0; s < n_samples; ++s) {
      const double gx = double(coords.data()[2 * s]) * double(gx_) / double(nx) + double(gx_ / 2);
      const double gy = double(coords.data()[2 * s + 1]) * double(gy_) / double(ny) + double(gy_ / 2);
      taps(gx, gx_, bx, &ix_[std::size_t(s * w)], &wx_[std::size_t(s * w)]);
      taps(gy, gy_, by, &iy_[std::size_t(s * w)], &wy_[std::size_t(s * w)]);
    }
  }

  /// Type-2 NUFFT of x (nx, ny, C, T, 1) -> samples (S, Y, C, T, 1).
  Range apply(const Domain& x) const {
    const Dims d = dims_of(x);
    require(d[0] == nx_ && d[1] == ny_ && d[3] == T_ && d[4] == 1,
            "nufft: image dims " + dims_string(d) + ", expected (" + std::to_string(nx_) + ", " + std::to_string(ny_) +
                ", coils, " + std::to_string(T_) + ", 1)");
    const Index C = d[2];
    CArray grid(gx_, gy_, C, T_, 1);
    grid.setZero();
    const Index ox = gx_ / 2 - nx_ / 2, oy = gy_ / 2 - ny_ / 2;
    for (Index p = 0; p < C * T_; ++p)
      for (Index y = 0; y < ny_; ++y)
        for (Index xx = 0; xx < nx_; ++xx)
          grid.data()[p * gx_ * gy_ + (y + oy) * gx_ + xx + ox] =
              x.data()[p * nx_ * ny_ + y * nx_ + xx] * deapod_[std::size_t(y * nx_ + xx)];
    const CArray K = EigenFftw::fft2c(grid);
    CArray out(S_, Y_, C, T_, 1);
    const Index w = o_.width, per_frame = S_ * Y_;
    // Interpolation, threaded over all samples of all planes (each output written once: the same bits on any
    // thread count).
    detail::parallel_chunks(C * T_ * per_frame, EigenFftw::fft_threads(), [&](Index begin, Index end) {
      for (Index i = begin; i < end; ++i) {
        const Index s = i % per_frame, plane = i / per_frame, f = plane / C;
        const cfloat* k = K.data() + plane * gx_ * gy_;
        const std::size_t t = std::size_t((f * per_frame + s) * w);
        cfloat v = 0;
        for (Index b = 0; b < w; ++b) {
          const cfloat* row = k + iy_[t + std::size_t(b)] * gx_;
          cfloat r = 0;
          for (Index a = 0; a < w; ++a) r += wx_[t + std::size_t(a)] * row[ix_[t + std::size_t(a)]];
          v += wy_[t + std::size_t(b)] * r;
        }
        out.data()[i] = v;
      }
    });
    if (weighted_model_) multiply_per_sample(out, sqrt_weights_);
    return out;
  }

  /// The exact adjoint: samples (S, Y, C, T, 1) -> image (nx, ny, C, T, 1).
  Domain adjoint(const Range& y) const {
    const Dims d = dims_of(y);
    require(d[0] == S_ && d[1] == Y_ && d[3] == T_ && d[4] == 1,
            "nufft: sample dims " + dims_string(d) + ", expected (" + std::to_string(S_) + ", " + std::to_string(Y_) +
                ", coils, " + std::to_string(T_) + ", 1)");
    const Index C = d[2], w = o_.width, per_frame = S_ * Y_;
    CArray yw;
    if (weighted_model_) yw = y, multiply_per_sample(yw, sqrt_weights_);
    const CArray& yy_in = weighted_model_ ? yw : y;
    CArray grid(gx_, gy_, C, T_, 1);
    grid.setZero();
    // Gridding, threaded over the (coil, frame) planes (each plane's sums in sample order: the same bits on any
    // thread count).
    detail::parallel_chunks(C * T_, EigenFftw::fft_threads(), [&](Index begin, Index end) {
      for (Index plane = begin; plane < end; ++plane) {
        const Index f = plane / C;
        cfloat* k = grid.data() + plane * gx_ * gy_;
        const cfloat* v = yy_in.data() + plane * per_frame;
        for (Index s = 0; s < per_frame; ++s) {
          const std::size_t t = std::size_t((f * per_frame + s) * w);
          for (Index b = 0; b < w; ++b) {
            cfloat* row = k + iy_[t + std::size_t(b)] * gx_;
            const cfloat vb = v[s] * wy_[t + std::size_t(b)];
            for (Index a = 0; a < w; ++a) row[ix_[t + std::size_t(a)]] += wx_[t + std::size_t(a)] * vb;
          }
        }
      }
    });
    const CArray g = EigenFftw::ifft2c(grid);
    CArray out(nx_, ny_, C, T_, 1);
    const Index ox = gx_ / 2 - nx_ / 2, oy = gy_ / 2 - ny_ / 2;
    for (Index p = 0; p < C * T_; ++p)
      for (Index yy = 0; yy < ny_; ++yy)
        for (Index xx = 0; xx < nx_; ++xx)
          out.data()[p * nx_ * ny_ + yy * nx_ + xx] =
              g.data()[p * gx_ * gy_ + (yy + oy) * gx_ + xx + ox] * deapod_[std::size_t(yy * nx_ + xx)];
    return out;
  }

  /// A^H W A x by the Toeplitz embedding (file comment); W the weights given at construction, else ones. The
  /// kernel is computed at the first call (then reused; not thread-safe for the first call).
  Domain normal(const Domain& x) const {
    const Dims d = dims_of(x);
    require(d[0] == nx_ && d[1] == ny_ && d[3] == T_ && d[4] == 1,
            "nufft normal: image dims " + dims_string(d) + " do not fit the operator");
    toeplitz();
    const Index C = d[2], mx = 2 * nx_, my = 2 * ny_;
    CArray pad = EigenFftw::resize_xy(x, mx, my);
    CArray k = EigenFftw::fft2c(pad);
    for (Index f = 0; f < T_; ++f)
      for (Index c = 0; c < C; ++c) {
        cfloat* p = k.data() + (f * C + c) * mx * my;
        const cfloat* h = toeplitz_->data() + f * mx * my;
        for (Index i = 0; i < mx * my; ++i) p[i] *= h[i];
      }
    return EigenFftw::resize_xy(EigenFftw::ifft2c(k), nx_, ny_);
  }

  /// The gridding convolution of sample weights w (S, Y, 1, T, 1): spread w onto the oversampled grid with the
  /// kernel and interpolate back at every sample, (C w)_s = sum_g kb(g - k_s) sum_s' w_s' kb(g - k_s') (per frame;
  /// Pipe and Menon 1999, eq. 6). Throws Error for other dims.
  RArray grid_convolve(const RArray& w) const {
    require(dims_of(w) == (Dims{S_, Y_, 1, T_, 1}),
            "nufft: weights must have dims " + dims_string({S_, Y_, 1, T_, 1}) + ", got " + dims_string(dims_of(w)));
    const Index k = o_.width, per_frame = S_ * Y_;
    std::vector<double> grid(std::size_t(gx_ * gy_));
    RArray out(S_, Y_, 1, T_, 1);
    for (Index f = 0; f < T_; ++f) {
      std::fill(grid.begin(), grid.end(), 0.0);
      for (int pass = 0; pass < 2; ++pass)
        for (Index s = 0; s < per_frame; ++s) {
          const std::size_t t = std::size_t((f * per_frame + s) * k);
          double acc = 0;
          for (Index b = 0; b < k; ++b)
            for (Index a = 0; a < k; ++a) {
              double& g = grid[std::size_t(iy_[t + std::size_t(b)] * gx_ + ix_[t + std::size_t(a)])];
              const double kw = double(wx_[t + std::size_t(a)]) * double(wy_[t + std::size_t(b)]);
              if (pass == 0)
                g += kw * double(w.data()[f * per_frame + s]);
              else
                acc += kw * g;
            }
          if (pass == 1) out.data()[f * per_frame + s] = float(acc);
        }
    }
    return out;
  }

  Dims domain_dims() const { return {nx_, ny_, -1, T_, 1}; }
  Dims range_dims() const { return {S_, Y_, -1, T_, 1}; }
  std::string name() const { return "Nufft"; }
  /// The trajectory, dims (2, S, Y, T, 1).
  const RArray& coords() const { return coords_; }
  /// The oversampled grid (G_x, G_y).
  std::pair<Index, Index> grid_size() const { return {gx_, gy_}; }
  const NufftOptions& options() const { return o_; }

  // ---- The precomputed plan, for other backends (networks/torch_nufft.hpp builds the torch operator from it) ----
  /// Deapodisation times the grid scale sqrt(G_x G_y / (nx ny)) per image pixel, x fastest (nx ny values).
  const std::vector<float>& deapodisation() const { return deapod_; }
  /// The interpolator: for sample s (frame-major: s = f S Y + y S + x) the grid columns ix[s W + a] and rows
  /// iy[s W + b] (periodic, already wrapped into [0, G)) and the kernel values wx[s W + a], wy[s W + b],
  /// a, b = 0..W-1; sample s reads sum_{a,b} wx wy K(ix, iy) of the centred oversampled spectrum K.
  struct Taps {
    const std::vector<Index>& ix;
    const std::vector<Index>& iy;
    const std::vector<float>& wx;
    const std::vector<float>& wy;
  };
  Taps taps() const { return {ix_, iy_, wx_, wy_}; }
  /// The sample weights given at construction (S, Y, 1, T, 1), if any.
  const std::optional<RArray>& weights() const { return weights_; }
  /// True when the operator is W^(1/2) A (see the class comment).
  bool weighted_model() const { return weighted_model_; }
  /// The Toeplitz kernel of normal(): (2 nx, 2 ny, 1, T, 1), the centred spectrum the padded image is multiplied
  /// by. Computed at the first call (not thread-safe for the first call).
  const CArray& toeplitz() const {
    if (!toeplitz_) toeplitz_ = std::make_shared<CArray>(toeplitz_kernel());
    return *toeplitz_;
  }

 private:
  /// sqrt(4 nx ny) * fft2c(h) per frame on the 2n grid, h = 2 / sqrt(nx ny) * A_2n^H w (A_2n: the NUFFT of the
  /// (2 nx, 2 ny) image with the trajectory doubled, so its phases are exp(2 pi i k d / n)).
  CArray toeplitz_kernel() const {
    RArray c2 = coords_ * 2.0f;
    Nufft big(c2, 2 * nx_, 2 * ny_, o_);
    RArray ones(S_, Y_, 1, T_, 1);
    ones.setConstant(1.0f);
    const RArray& w = weights_ ? *weights_ : ones;
    const CArray h = big.adjoint(w.cast<cfloat>());
    const double N = double(nx_ * ny_);
    return EigenFftw::fft2c(h) * cfloat(float(2.0 / std::sqrt(N) * std::sqrt(4.0 * N)));
  }

  RArray coords_;
  Index nx_, ny_;
  NufftOptions o_;
  std::optional<RArray> weights_;
  bool weighted_model_ = false;
  RArray sqrt_weights_;  ///< sqrt(w), when weighted_model_
  Index S_ = 0, Y_ = 0, T_ = 0, gx_ = 0, gy_ = 0;
  std::vector<float> deapod_;
  std::vector<Index> ix_, iy_;
  std::vector<float> wx_, wy_;
  mutable std::shared_ptr<CArray> toeplitz_;
};


/// Pipe and Menon's iterative density compensation (J. G. Pipe, P. Menon, "Sampling density compensation in MRI:
/// rationale and an iterative numerical solution", MRM 41, 1999, eq. 9): w_0 = 1, w_{i+1} = w_i / (C w_i) with C the
/// gridding convolution of `A` (Nufft::grid_convolve), until max |C w - 1| <= tolerance or `max_iterations`.
/// Scaled so that a fully sampled Cartesian grid gets weight 1 per sample (the weights are then the k-space area
/// per sample in cycles per FOV squared, and A^H (w y) approximates the inverse DFT). Returns (S, Y, 1, T, 1).
/// Throws Error for max_iterations < 1 or tolerance <= 0.
inline RArray pipe_menon_density(const Nufft& A, int max_iterations = 30, double tolerance = 1e-3) {
  require(max_iterations >= 1 && tolerance > 0, "pipe_menon_density: needs max_iterations >= 1 and tolerance > 0");
  const Dims rd = A.range_dims();
  RArray w(rd[0], rd[1], 1, rd[3], 1);
  w.setConstant(1.0f);
  for (int it = 0; it < max_iterations; ++it) {
    const RArray c = A.grid_convolve(w);
    double worst = 0;
    for (Index i = 0; i < w.size(); ++i) {
      worst = std::max(worst, std::abs(double(c.data()[i]) - 1.0));
      if (c.data()[i] > 0) w.data()[i] /= c.data()[i];
    }
    if (worst <= tolerance) break;
  }
  // The Cartesian reference: C 1 at the centre of a fully sampled 16 x 16 grid with the same kernel and
  // oversampling (its fixed point is 1 / that value; the ideal Cartesian weight is 1).
  const Index n = 16;
  RArray cart(2, n, n, 1, 1);
  for (Index y = 0; y < n; ++y)
    for (Index x = 0; x < n; ++x) cart(0, x, y, 0, 0) = float(x - n / 2), cart(1, x, y, 0, 0) = float(y - n / 2);
  RArray ones(n, n, 1, 1, 1);
  ones.setConstant(1.0f);
  const float ref = Nufft(cart, n, n, A.options()).grid_convolve(ones)(n / 2, n / 2, 0, 0, 0);
  return w * ref;
}

}  // namespace reconlab
