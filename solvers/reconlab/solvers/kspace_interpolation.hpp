#pragma once
/// @file kspace_interpolation.hpp
/// k-space interpolation, the classical baselines seed 004 builds on (its "foundations": linear and spline
/// interpolation of missing lines, radial interpolation, low-pass filtering), as reconlab::Reconstructors:
/// - KspaceLineInterpolationReconstructor: missing Cartesian k-space samples filled by linear or natural
///   cubic-spline interpolation along the phase-encoding axis (GSL's gsl_interp_linear / gsl_interp_cspline),
///   per line, coil, frame, real and imaginary parts separately; outside the outermost sampled positions of a line
///   nothing is extrapolated (zero, as zero-filling).
/// - RadialInterpolationReconstructor: radial samples regridded onto the Cartesian grid by interpolation in polar
///   coordinates (signed radius along the spoke x spoke angle; GSL's gsl_interp2d_bilinear or bicubic), not by
///   Kaiser-Bessel gridding; grid points beyond the spokes' radius are zero.
/// - LowPassZeroFilledReconstructor: the zero-filled image of k-space multiplied by a separable window (Hann,
///   Hamming or Tukey; Harris, Proc. IEEE 66 (1978) 51-83, eqs. for the raised cosine family), trading resolution
///   for fewer ringing / aliasing artefacts.
/// Inputs and outputs as every Reconstructor: centred k-space (nx, ny, coils, frames, 1); the image (nx, ny, 1,
/// frames, 1), root-sum-of-squares over coils (or S^H with maps), complex for one coil.
#include <gsl/gsl_errno.h>
#include <gsl/gsl_interp.h>
#include <gsl/gsl_interp2d.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/solvers/gridding.hpp"

namespace reconlab::solvers {

namespace interp_detail {
/// GSL's default error handler aborts the process; reconlab turns GSL failures into Errors (checked return codes).
inline void quiet_gsl() {
  static const bool once = [] {
    gsl_set_error_handler_off();
    return true;
  }();
  (void)once;
}
/// The image (nx, ny, 1, T, 1) of completed Cartesian k-space (nx, ny, C, T, 1): inverse centred FFT, then
/// gridding.hpp's combine_coil_images.
inline CArray combine(const Acquisition& acq, const CArray& kspace) {
  return combine_coil_images(EigenFftw::ifft2c(kspace), acq.sensitivities);
}
}  // namespace interp_detail

/// Interpolation kinds of KspaceLineInterpolationReconstructor.
enum class LineInterpolation { Linear, CubicSpline };

/// Fills the unsampled k-space of a Cartesian acquisition by 1D interpolation along `axis` (0 = x, 1 = y; -1:
/// the axis along which the mask varies, i.e. the phase-encoding axis of a line mask: a fastMRI column mask
/// varies along x). Each line (fixed index on the other axis), coil and frame is interpolated from its own
/// sampled positions (a mask value > 0 counts as sampled; at least 2 needed, else the line stays as sampled;
/// cubic spline needs 3 and falls back to linear with 2). Returns the completed k-space (nx, ny, coils, frames, 1):
/// sampled values kept, interpolated ones inside [first, last] sampled position, zero outside. Throws Error for a
/// trajectory, a bad axis, or a GSL failure.
inline CArray interpolate_kspace_lines(const Acquisition& acq, LineInterpolation kind, int axis = -1) {
  interp_detail::quiet_gsl();
  validate_acquisition(acq);
  require(acq.cartesian(), "k-space line interpolation needs a Cartesian acquisition (radial: radial-interpolation)");
  require(axis >= -1 && axis <= 1, "k-space line interpolation: axis must be 0 (x), 1 (y) or -1 (auto)");
  const Dims d = dims_of(acq.kspace);
  const Index nx = d[0], ny = d[1], C = d[2], T = d[3];
  const RArray& m = acq.mask();
  const Index mT = m.dimension(3);
  if (axis < 0) {  // the axis along which the mask varies more often
    Index vx = 0, vy = 0;
    for (Index t = 0; t < mT; ++t)
      for (Index y = 0; y < ny; ++y)
        for (Index x = 0; x < nx; ++x) {
          if (x + 1 < nx && (m(x, y, 0, t, 0) > 0) != (m(x + 1, y, 0, t, 0) > 0)) ++vx;
          if (y + 1 < ny && (m(x, y, 0, t, 0) > 0) != (m(x, y + 1, 0, t, 0) > 0)) ++vy;
        }
    axis = vx >= vy ? 0 : 1;
  }
  const Index n = axis == 0 ? nx : ny, lines = axis == 0 ? ny : nx;
  CArray out = EigenFftw::multiply_mask(m, acq.kspace);
  std::vector<double> pos, re, im;
  for (Index t = 0; t < T; ++t)
    for (Index line = 0; line < lines; ++line) {
      auto at = [&](Index i) { return axis == 0 ? std::pair{i, line} : std::pair{line, i}; };
      pos.clear();
      for (Index i = 0; i < n; ++i) {
        const auto [x, y] = at(i);
        if (m(x, y, 0, mT == 1 ? 0 : t, 0) > 0) pos.push_back(double(i));
      }
      if (pos.size() < 2) continue;
      const gsl_interp_type* type =
          kind == LineInterpolation::CubicSpline && pos.size() >= 3 ? gsl_interp_cspline : gsl_interp_linear;
      std::unique_ptr<gsl_interp, void (*)(gsl_interp*)> re_i(gsl_interp_alloc(type, pos.size()), gsl_interp_free);
      std::unique_ptr<gsl_interp, void (*)(gsl_interp*)> im_i(gsl_interp_alloc(type, pos.size()), gsl_interp_free);
      std::unique_ptr<gsl_interp_accel, void (*)(gsl_interp_accel*)> acc(gsl_interp_accel_alloc(), gsl_interp_accel_free);
      require(re_i && im_i && acc, "k-space line interpolation: GSL could not allocate an interpolator");
      for (Index c = 0; c < C; ++c) {
        re.clear(), im.clear();
        for (double p : pos) {
          const auto [x, y] = at(Index(p));
          re.push_back(acq.kspace(x, y, c, t, 0).real()), im.push_back(acq.kspace(x, y, c, t, 0).imag());
        }
        require(gsl_interp_init(re_i.get(), pos.data(), re.data(), pos.size()) == GSL_SUCCESS &&
                    gsl_interp_init(im_i.get(), pos.data(), im.data(), pos.size()) == GSL_SUCCESS,
                "k-space line interpolation: GSL interpolator initialisation failed");
        for (Index i = Index(pos.front()) + 1; i < Index(pos.back()); ++i) {
          const auto [x, y] = at(i);
          if (m(x, y, 0, mT == 1 ? 0 : t, 0) > 0) continue;
          double vr = 0, vi = 0;
          require(gsl_interp_eval_e(re_i.get(), pos.data(), re.data(), double(i), acc.get(), &vr) == GSL_SUCCESS &&
                      gsl_interp_eval_e(im_i.get(), pos.data(), im.data(), double(i), acc.get(), &vi) == GSL_SUCCESS,
                  "k-space line interpolation: GSL evaluation failed");
          out(x, y, c, t, 0) = cfloat(float(vr), float(vi));
        }
      }
    }
  return out;
}

/// Reconstructor "linear-interpolation" / "spline-interpolation": interpolate_kspace_lines, then the inverse
/// centred FFT and the coil combination (see the file comment).
class KspaceLineInterpolationReconstructor : public Reconstructor {
 public:
  explicit KspaceLineInterpolationReconstructor(LineInterpolation kind, int axis = -1) : kind_(kind), axis_(axis) {}
  std::string name() const override {
    return kind_ == LineInterpolation::Linear ? "linear-interpolation" : "spline-interpolation";
  }
  nlohmann::json parameters() const override {
    return {{"interpolation", kind_ == LineInterpolation::Linear ? "GSL linear" : "GSL natural cubic spline"},
            {"axis", axis_ < 0 ? "the mask's varying (phase-encoding) axis" : axis_ == 0 ? "x" : "y"},
            {"outside_sampled_range", "zero"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    return interp_detail::combine(acq, interpolate_kspace_lines(acq, kind_, axis_));
  }

 private:
  LineInterpolation kind_;
  int axis_;
};

/// Window families of LowPassZeroFilledReconstructor.
enum class Window { Hann, Hamming, Tukey };

/// The 1D window of length n centred at n/2 (the centred k-space's DC), value 1 at the centre: with
/// u = (i - n/2) / (n/2) in [-1, 1): Hann 0.5 + 0.5 cos(pi u), Hamming 0.54 + 0.46 cos(pi u), Tukey flat for
/// |u| <= 1 - alpha and 0.5 + 0.5 cos(pi (|u| - 1 + alpha) / alpha) beyond (alpha in (0, 1]; alpha = 1 is Hann).
/// `width` in (0, 1] narrows the window to the central width * n samples (zero outside): the resolution trade-off.
/// Throws Error for width or alpha outside (0, 1] or n < 1.
inline std::vector<double> kspace_window(Index n, Window w, double width = 1.0, double alpha = 0.5) {
  require(n >= 1, "kspace_window: n must be >= 1");
  require(width > 0 && width <= 1, "kspace_window: width must be in (0, 1]");
  require(alpha > 0 && alpha <= 1, "kspace_window: Tukey alpha must be in (0, 1]");
  std::vector<double> v(static_cast<std::size_t>(n), 0.0);
  const double half = 0.5 * double(n) * width;
  for (Index i = 0; i < n; ++i) {
    const double u = (double(i) - double(n / 2)) / half;
    double f = 0;
    if (std::abs(u) <= 1) {
      const double pi = std::numbers::pi;
      switch (w) {
        case Window::Hann: f = 0.5 + 0.5 * std::cos(pi * u); break;
        case Window::Hamming: f = 0.54 + 0.46 * std::cos(pi * u); break;
        case Window::Tukey:
          f = std::abs(u) <= 1 - alpha ? 1.0 : 0.5 + 0.5 * std::cos(pi * (std::abs(u) - 1 + alpha) / alpha);
          break;
      }
    }
    v[std::size_t(i)] = f;
  }
  return v;
}

/// Reconstructor "lowpass-hann" / "lowpass-hamming" / "lowpass-tukey": zero-filled reconstruction of k-space
/// weighted by the separable window kspace_window(nx) x kspace_window(ny).
class LowPassZeroFilledReconstructor : public Reconstructor {
 public:
  explicit LowPassZeroFilledReconstructor(Window w, double width = 1.0, double alpha = 0.5)
      : w_(w), width_(width), alpha_(alpha) {
    kspace_window(1, w, width, alpha);  // validates
  }
  std::string name() const override {
    return w_ == Window::Hann ? "lowpass-hann" : w_ == Window::Hamming ? "lowpass-hamming" : "lowpass-tukey";
  }
  nlohmann::json parameters() const override {
    nlohmann::json j{{"width", width_}, {"separable", true}};
    if (w_ == Window::Tukey) j["alpha"] = alpha_;
    return j;
  }
  CArray reconstruct(const Acquisition& acq) override {
    validate_acquisition(acq);
    require(acq.cartesian(), name() + " needs a Cartesian acquisition (grid a trajectory first)");
    const Dims d = dims_of(acq.kspace);
    const auto wx = kspace_window(d[0], w_, width_, alpha_), wy = kspace_window(d[1], w_, width_, alpha_);
    CArray k = EigenFftw::multiply_mask(acq.mask(), acq.kspace);
    for (Index p = 0; p < d[2] * d[3]; ++p)
      for (Index y = 0; y < d[1]; ++y)
        for (Index x = 0; x < d[0]; ++x) k.data()[(p * d[1] + y) * d[0] + x] *= float(wx[std::size_t(x)] * wy[std::size_t(y)]);
    return interp_detail::combine(acq, k);
  }

 private:
  Window w_;
  double width_, alpha_;
};

/// Regrids radial samples onto the Cartesian k-space grid (nx, ny) by interpolation in polar coordinates: a
/// full-diameter spoke at angle theta holds samples at signed radii s_i (the same on every spoke, as radial
/// trajectories have); a grid point (kx, ky) maps to theta' = atan2(ky, kx) mod pi and s = kx cos theta' + ky sin
/// theta', and is interpolated over the (s, theta) grid of spokes sorted by angle, wrapped by one spoke across pi
/// (theta + pi is the same line with s reversed), with GSL's bilinear or bicubic 2D interpolation. Points with |s|
/// beyond the spokes' extent are zero. Requires every frame's spokes to pass through the centre with one common
/// set of radii (as radial_trajectory / bart traj -r make them). Returns k-space (nx, ny, coils, frames, 1).
/// Throws Error for a Cartesian acquisition, a non-radial trajectory, fewer than 2 spokes or 2 samples, and GSL
/// failures.
inline CArray regrid_radial(const Acquisition& acq, bool bicubic = false) {
  interp_detail::quiet_gsl();
  validate_acquisition(acq);
  require(!acq.cartesian(), "radial interpolation needs a trajectory acquisition");
  const Dims id = acq.resolved_image_dims(), kd = dims_of(acq.kspace);
  const Index nx = id[0], ny = id[1], S = kd[0], Y = kd[1], C = kd[2], T = kd[3];
  require(S >= 2 && Y >= 2, "radial interpolation needs at least 2 samples and 2 spokes");
  const RArray& tr = acq.trajectory().coords;
  const Index tT = tr.dimension(3);
  CArray out(nx, ny, C, T, 1);
  out.setZero();
  for (Index f = 0; f < T; ++f) {
    const Index tf = tT == 1 ? 0 : f;
    // Spoke angles in [0, pi) and signed radii (from spoke 0's direction).
    std::vector<std::pair<double, Index>> angle(static_cast<std::size_t>(Y));
    std::vector<bool> flip(static_cast<std::size_t>(Y), false);
    std::vector<double> s(static_cast<std::size_t>(S), 0.0);
    for (Index j = 0; j < Y; ++j) {
      // the spoke's direction from its first to its last sample
      const double dx = tr(0, S - 1, j, tf, 0) - tr(0, 0, j, tf, 0), dy = tr(1, S - 1, j, tf, 0) - tr(1, 0, j, tf, 0);
      require(std::hypot(dx, dy) > 0, "radial interpolation: spoke " + std::to_string(j) + " has zero length");
      double th = std::atan2(dy, dx);
      bool fl = false;
      if (th < 0) th += std::numbers::pi, fl = true;
      if (th >= std::numbers::pi) th -= std::numbers::pi, fl = !fl;
      angle[std::size_t(j)] = {th, j};
      flip[std::size_t(j)] = fl;
      for (Index i = 0; i < S; ++i) {
        const double r = tr(0, i, j, tf, 0) * std::cos(th) + tr(1, i, j, tf, 0) * std::sin(th);
        const double perp = -tr(0, i, j, tf, 0) * std::sin(th) + tr(1, i, j, tf, 0) * std::cos(th);
        require(std::abs(perp) < 1e-3, "radial interpolation: spoke " + std::to_string(j) +
                                           " does not pass through the k-space centre (not a radial trajectory)");
        const Index ii = fl ? S - 1 - i : i;  // store radii increasing
        if (j == 0) s[std::size_t(ii)] = r;
        else
          require(std::abs(s[std::size_t(ii)] - r) < 1e-3,
                  "radial interpolation: spokes must share their sample radii (spoke " + std::to_string(j) + ")");
      }
    }
    for (Index i = 1; i < S; ++i)
      require(s[std::size_t(i)] > s[std::size_t(i - 1)], "radial interpolation: sample radii must be distinct");
    // Keep the radii whose mirror -r is also a radius (bart traj -r spokes run from -N/2 to N/2 - 1/o: the
    // unmatched end sample is dropped), so the spoke at theta + pi is the same spoke read backwards.
    std::vector<Index> keep;
    for (Index i = 0; i < S; ++i)
      for (Index i2 = 0; i2 < S; ++i2)
        if (std::abs(s[std::size_t(i)] + s[std::size_t(i2)]) < 1e-4) {
          keep.push_back(i);
          break;
        }
    require(keep.size() >= 2, "radial interpolation: the spokes' sample radii are not symmetric about the centre");
    const std::size_t K = keep.size();
    std::vector<double> sk(K);
    for (std::size_t q = 0; q < K; ++q) sk[q] = s[std::size_t(keep[q])];
    std::sort(angle.begin(), angle.end());
    for (std::size_t j = 1; j < angle.size(); ++j)
      require(angle[j].first > angle[j - 1].first, "radial interpolation: two spokes share an angle");
    // (s, theta) grid: Y sorted spokes plus the first one again at theta + pi (read backwards).
    const std::size_t ya = std::size_t(Y) + 1;
    std::vector<double> th(ya), zr(K * ya), zi(K * ya);
    for (Index j = 0; j < Y; ++j) th[std::size_t(j)] = angle[std::size_t(j)].first;
    th[std::size_t(Y)] = angle[0].first + std::numbers::pi;
    const gsl_interp2d_type* type = bicubic ? gsl_interp2d_bicubic : gsl_interp2d_bilinear;
    std::unique_ptr<gsl_interp2d, void (*)(gsl_interp2d*)> re_i(gsl_interp2d_alloc(type, K, ya), gsl_interp2d_free);
    std::unique_ptr<gsl_interp2d, void (*)(gsl_interp2d*)> im_i(gsl_interp2d_alloc(type, K, ya), gsl_interp2d_free);
    std::unique_ptr<gsl_interp_accel, void (*)(gsl_interp_accel*)> xa(gsl_interp_accel_alloc(), gsl_interp_accel_free);
    std::unique_ptr<gsl_interp_accel, void (*)(gsl_interp_accel*)> ya_acc(gsl_interp_accel_alloc(), gsl_interp_accel_free);
    require(re_i && im_i && xa && ya_acc, "radial interpolation: GSL could not allocate an interpolator");
    for (Index c = 0; c < C; ++c) {
      for (std::size_t jj = 0; jj < ya; ++jj) {
        const bool wrapped = jj == std::size_t(Y);
        const Index j = angle[wrapped ? 0 : jj].second;
        for (std::size_t q = 0; q < K; ++q) {
          const Index i = keep[wrapped ? K - 1 - q : q];  // index into the increasing radii
          const cfloat v = acq.kspace(flip[std::size_t(j)] ? S - 1 - i : i, j, c, f, 0);
          gsl_interp2d_set(re_i.get(), zr.data(), q, jj, v.real());
          gsl_interp2d_set(im_i.get(), zi.data(), q, jj, v.imag());
        }
      }
      require(gsl_interp2d_init(re_i.get(), sk.data(), th.data(), zr.data(), K, ya) == GSL_SUCCESS &&
                  gsl_interp2d_init(im_i.get(), sk.data(), th.data(), zi.data(), K, ya) == GSL_SUCCESS,
              "radial interpolation: GSL 2D interpolator initialisation failed");
      for (Index y = 0; y < ny; ++y)
        for (Index x = 0; x < nx; ++x) {
          const double kx = double(x - nx / 2), ky = double(y - ny / 2);
          double t = std::atan2(ky, kx);
          if (t < 0) t += std::numbers::pi;
          if (t >= std::numbers::pi) t -= std::numbers::pi;
          if (t < th[0]) t += std::numbers::pi;  // between the last spoke and the wrapped first one
          const double r = kx * std::cos(t) + ky * std::sin(t);
          if (r < sk.front() || r > sk.back()) continue;
          double vr = 0, vi = 0;
          require(gsl_interp2d_eval_e(re_i.get(), sk.data(), th.data(), zr.data(), r, t, xa.get(), ya_acc.get(), &vr) ==
                          GSL_SUCCESS &&
                      gsl_interp2d_eval_e(im_i.get(), sk.data(), th.data(), zi.data(), r, t, xa.get(), ya_acc.get(),
                                          &vi) == GSL_SUCCESS,
                  "radial interpolation: GSL evaluation failed at (" + std::to_string(kx) + ", " + std::to_string(ky) + ")");
          out(x, y, c, f, 0) = cfloat(float(vr), float(vi));
        }
    }
  }
  return out;
}

/// Reconstructor "radial-interpolation": regrid_radial (bilinear, or bicubic), then the inverse centred FFT and
/// the coil combination. Compare "gridding" (Kaiser-Bessel, density-compensated).
class RadialInterpolationReconstructor : public Reconstructor {
 public:
  explicit RadialInterpolationReconstructor(bool bicubic = false) : bicubic_(bicubic) {}
  std::string name() const override { return "radial-interpolation"; }
  nlohmann::json parameters() const override {
    return {{"interpolation", bicubic_ ? "GSL bicubic in (radius, angle)" : "GSL bilinear in (radius, angle)"},
            {"beyond_spokes", "zero"}};
  }
  CArray reconstruct(const Acquisition& acq) override { return interp_detail::combine(acq, regrid_radial(acq, bicubic_)); }

 private:
  bool bicubic_;
};

}  // namespace reconlab::solvers
