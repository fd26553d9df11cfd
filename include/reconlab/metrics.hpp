#pragma once
/// @file metrics.hpp
/// Image quality metrics with the definitions fastMRI reports with: PSNR and SSIM as scikit-image 0.19.3
/// (skimage.metrics.peak_signal_noise_ratio / structural_similarity), NMSE and RMSE as fastMRI
/// (fastmri/evaluate.py). All accumulation is in double; inputs are float magnitude images.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"

namespace reconlab {

/// Quality of a prediction against a target (one 2D image).
struct Metrics {
  /// 10 log10(data_range^2 / MSE) in dB; +inf when the images are identical (MSE = 0), as skimage.
  double psnr;
  /// Mean structural similarity, in [-1, 1]; 1 for identical images.
  double ssim;
  /// ||t - p||^2 / ||t||^2 (>= 0; scale invariant: scaling both images by c > 0 leaves it unchanged);
  /// +inf when the target is all zeros and the prediction is not, 0 when both are.
  double nmse;
  /// sqrt(mean((t - p)^2)), in the images' units (>= 0).
  double rmse;
  /// The data range used by PSNR and SSIM (> 0): the given one, else max(target).
  double data_range;
};

namespace detail {

/// scipy.ndimage.uniform_filter1d index for mode='reflect' (half-sample symmetric: d c b a | a b c d | d c b a).
inline Index reflect_index(Index i, Index n) {
  const Index period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

/// 7x7 (win x win) mean filter with scipy's 'reflect' boundary, separable: along x, then along y (as
/// scipy.ndimage.uniform_filter, which filters axis by axis). in/out are row-major-in-x (index y*nx + x).
inline std::vector<double> uniform_filter_reflect(const std::vector<double>& in, Index nx, Index ny, Index win) {
  const Index lo = win / 2;  // scipy origin 0: window [i - win//2, i - win//2 + win)
  std::vector<double> tmp(in.size()), out(in.size());
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) {
      double s = 0;
      for (Index k = 0; k < win; ++k) s += in[y * nx + reflect_index(x - lo + k, nx)];
      tmp[y * nx + x] = s / double(win);
    }
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) {
      double s = 0;
      for (Index k = 0; k < win; ++k) s += tmp[reflect_index(y - lo + k, ny) * nx + x];
      out[y * nx + x] = s / double(win);
    }
  return out;
}

inline void check_metric_pair(const RArray& target, const RArray& prediction) {
  require(target.size() > 0, "compute_metrics: empty target image");
  require(dims_of(target) == dims_of(prediction), "compute_metrics: target dims " + dims_string(dims_of(target)) +
                                                      " and prediction dims " + dims_string(dims_of(prediction)) +
                                                      " differ");
  require_finite(target, "compute_metrics: target");
  require_finite(prediction, "compute_metrics: prediction");
}

/// Metrics of one (nx, ny) slice given as pointers to nx*ny floats, x fastest.
inline Metrics metrics_2d(const float* t, const float* p, Index nx, Index ny, std::optional<double> data_range) {
  constexpr Index win = 7;
  require(nx >= win && ny >= win, "compute_metrics: SSIM needs an image of at least 7 x 7, got " +
                                      std::to_string(nx) + " x " + std::to_string(ny));
  const Index n = nx * ny;
  double range;
  if (data_range) {
    range = *data_range;
  } else {
    range = -std::numeric_limits<double>::infinity();
    for (Index i = 0; i < n; ++i) range = std::max(range, double(t[i]));
  }
  require(std::isfinite(range) && range > 0.0,
          "compute_metrics: data_range must be finite and > 0 (default max(target)), got " + std::to_string(range));

  Metrics m{};
  m.data_range = range;
  double se = 0, tt = 0;
  for (Index i = 0; i < n; ++i) {
    const double d = double(t[i]) - double(p[i]);
    se += d * d;
    tt += double(t[i]) * double(t[i]);
  }
  const double mse = se / double(n);
  m.rmse = std::sqrt(mse);
  m.psnr = mse == 0.0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(range * range / mse);
  m.nmse = tt > 0.0 ? se / tt : (se == 0.0 ? 0.0 : std::numeric_limits<double>::infinity());

  // SSIM (skimage 0.19.3 structural_similarity, gaussian_weights=False, use_sample_covariance=True).
  std::vector<double> a(n), b(n), aa(n), bb(n), ab(n);
  for (Index i = 0; i < n; ++i) {
    a[i] = t[i];
    b[i] = p[i];
    aa[i] = a[i] * a[i];
    bb[i] = b[i] * b[i];
    ab[i] = a[i] * b[i];
  }
  const auto ux = uniform_filter_reflect(a, nx, ny, win), uy = uniform_filter_reflect(b, nx, ny, win);
  const auto uxx = uniform_filter_reflect(aa, nx, ny, win), uyy = uniform_filter_reflect(bb, nx, ny, win);
  const auto uxy = uniform_filter_reflect(ab, nx, ny, win);
  const double np_ = double(win * win), cov_norm = np_ / (np_ - 1.0);
  const double c1 = (0.01 * range) * (0.01 * range), c2 = (0.03 * range) * (0.03 * range);
  const Index pad = (win - 1) / 2;
  double sum = 0;
  for (Index y = pad; y < ny - pad; ++y)
    for (Index x = pad; x < nx - pad; ++x) {
      const Index i = y * nx + x;
      const double vx = cov_norm * (uxx[i] - ux[i] * ux[i]);
      const double vy = cov_norm * (uyy[i] - uy[i] * uy[i]);
      const double vxy = cov_norm * (uxy[i] - ux[i] * uy[i]);
      const double a1 = 2 * ux[i] * uy[i] + c1, a2 = 2 * vxy + c2;
      const double b1 = ux[i] * ux[i] + uy[i] * uy[i] + c1, b2 = vx + vy + c2;
      sum += (a1 * a2) / (b1 * b2);
    }
  m.ssim = sum / double((nx - 2 * pad) * (ny - 2 * pad));
  return m;
}

}  // namespace detail

/// PSNR, SSIM, NMSE, RMSE and the data range of `prediction` against `target`, both one 2D image with dims
/// (nx, ny, 1, 1, 1) (NumPy (ny, nx)), any real units.
///
/// Definitions (scikit-image 0.19.3 and fastMRI fastmri/evaluate.py; double accumulation throughout):
/// - data_range R = the given value, else max(target);
/// - PSNR = 10 log10(R^2 / MSE), MSE = mean((t - p)^2) (skimage peak_signal_noise_ratio); +inf when MSE = 0;
/// - SSIM = skimage structural_similarity(win_size=7, K1=0.01, K2=0.03, gaussian_weights=False,
///   use_sample_covariance=True, data_range=R) (Wang et al., IEEE TIP 13:600, 2004): local means, variances and
///   covariance from a 7x7 uniform filter (scipy.ndimage.uniform_filter, mode='reflect', half-sample symmetric),
///   covariances scaled by 49/48, C1 = (0.01 R)^2, C2 = (0.03 R)^2, SSIM map averaged over the image with a
///   3-pixel border cropped;
/// - NMSE = ||t - p||^2 / ||t||^2; RMSE = sqrt(MSE).
/// For stacks (coil/frame/batch > 1) use compute_metrics_per_slice.
/// @throws Error when the dims differ, an image is empty or not 2D, holds NaN/Inf, is smaller than 7 x 7, or the
/// data range is not > 0 (e.g. an all-zero target with no data_range given).
inline Metrics compute_metrics(const RArray& target, const RArray& prediction,
                               std::optional<double> data_range = {}) {
  detail::check_metric_pair(target, prediction);
  const Dims d = dims_of(target);
  require(d[2] == 1 && d[3] == 1 && d[4] == 1,
          "compute_metrics: expects one 2D image (nx, ny, 1, 1, 1), got " + dims_string(d) +
              "; use compute_metrics_per_slice for stacks");
  return detail::metrics_2d(target.data(), prediction.data(), d[0], d[1], data_range);
}

/// compute_metrics on every 2D slice of (nx, ny, coil, frame, batch) arrays, in memory order (coil fastest, then
/// frame, then batch): element c + nc*(f + nf*b). Each slice uses the given data_range, else its own max(target).
/// (fastMRI's volume evaluation uses the volume max for every slice: pass it as data_range to reproduce that.)
/// @throws Error as compute_metrics, for any slice.
inline std::vector<Metrics> compute_metrics_per_slice(const RArray& target, const RArray& prediction,
                                                      std::optional<double> data_range = {}) {
  detail::check_metric_pair(target, prediction);
  const Dims d = dims_of(target);
  const Index plane = d[0] * d[1], slices = d[2] * d[3] * d[4];
  std::vector<Metrics> out;
  out.reserve(static_cast<std::size_t>(slices));
  for (Index s = 0; s < slices; ++s)
    out.push_back(
        detail::metrics_2d(target.data() + s * plane, prediction.data() + s * plane, d[0], d[1], data_range));
  return out;
}

}  // namespace reconlab
