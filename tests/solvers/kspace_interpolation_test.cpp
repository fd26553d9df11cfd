// k-space interpolation baselines (solvers/reconlab/solvers/kspace_interpolation.hpp): line interpolation against
// SciPy's splines, windows against scipy.signal.windows, radial regridding against an analytic k-space, and the
// methods on a real knee slice.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../common/random_data.hpp"
#include "../common/temp_dir.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/solvers/gridding.hpp"
#include "reconlab/solvers/kspace_interpolation.hpp"
#include "reconlab/solvers/reconstructors.hpp"
#include "reconlab/subprocess.hpp"
#include "reconlab/trajectory.hpp"

using namespace reconlab;
using namespace reconlab::test_support;

namespace {
bool have_scipy() {
  try {
    return run_process({"/usr/bin/python3", "-c", "import scipy.interpolate, scipy.signal"}).exit_status == 0;
  } catch (const std::exception&) {
    return false;
  }
}
/// The first knee slice (256 x 320 complex), as in radial_test.
CArray knee(Index n) {
  const CArray all = io::read_npy_complex(data_dir() + "/knee/knee_complex_2x320x256.npy", "byx");
  const CArray one = all.chip(0, 4).reshape(Dims{256, 320, 1, 1, 1});
  return EigenFftw::resize_xy(one, n, n);
}
double rel_mag(const CArray& a, const CArray& b) {
  double e = 0, n = 0;
  for (Index i = 0; i < a.size(); ++i) e += std::pow(std::abs(a.data()[i]) - std::abs(b.data()[i]), 2), n += std::norm(b.data()[i]);
  return std::sqrt(e / n);
}
}  // namespace

// Linear interpolation is exact on k-space that is linear along the phase-encoding axis; the natural cubic spline
// equals SciPy's CubicSpline(bc_type="natural") on random data, sample for sample.
TEST(KspaceInterpolation, LinesMatchSciPyAndLinearDataIsExact) {
  const Index nx = 17, ny = 6;
  RArray mask(nx, ny, 1, 1, 1);
  mask.setZero();
  for (Index x : {1, 2, 5, 6, 9, 13, 15})
    for (Index y = 0; y < ny; ++y) mask(x, y, 0, 0, 0) = 1;  // a column mask: varies along x
  Acquisition acq;
  acq.kspace = random_array({nx, ny, 2, 1, 1}, 3);
  acq.sampling = mask;
  // Linear along x: exact.
  CArray lin = acq.kspace;
  for (Index c = 0; c < 2; ++c)
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) lin(x, y, c, 0, 0) = cfloat(0.5f * x - y + c, 2.0f - 0.25f * x);
  Acquisition a2 = acq;
  a2.kspace = lin;
  const CArray lf = solvers::interpolate_kspace_lines(a2, solvers::LineInterpolation::Linear);
  for (Index c = 0; c < 2; ++c)
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) {
        const bool inside = x >= 1 && x <= 15;
        EXPECT_NEAR(std::abs(lf(x, y, c, 0, 0) - (inside ? lin(x, y, c, 0, 0) : cfloat(0))), 0.0, 1e-5) << x << "," << y;
      }
  if (!have_scipy()) GTEST_SKIP() << "python3-scipy not installed";
  TempDir dir("kspace_interp");
  const std::string in = (dir.path / "k.npy").string(), out = (dir.path / "ref.npy").string();
  io::write_npy(in, acq.kspace, {2, ny, nx});
  const std::string script =
      "import numpy as np\nfrom scipy.interpolate import CubicSpline\n"
      "k = np.load('" + in + "')\nxs = np.array([1, 2, 5, 6, 9, 13, 15])\nout = np.zeros_like(k)\n"
      "out[..., xs] = k[..., xs]\nfor c in range(k.shape[0]):\n  for y in range(k.shape[1]):\n"
      "    s = CubicSpline(xs, k[c, y, xs], bc_type='natural')\n"
      "    for x in range(2, 15):\n      if x not in xs: out[c, y, x] = s(x)\nnp.save('" + out + "', out.astype(np.complex64))\n";
  ASSERT_EQ(run_process({"/usr/bin/python3", "-c", script}).exit_status, 0);
  const CArray ref = io::read_npy_complex(out);
  const CArray ours = solvers::interpolate_kspace_lines(acq, solvers::LineInterpolation::CubicSpline);
  ASSERT_EQ(ref.size(), ours.size());
  for (Index i = 0; i < ref.size(); ++i) EXPECT_NEAR(std::abs(ours.data()[i] - ref.data()[i]), 0.0, 1e-5) << i;
}

// Windows equal SciPy's periodic (sym=False) windows for even n, whose centre sample n/2 is the centred k-space's DC.
TEST(KspaceInterpolation, WindowsMatchSciPy) {
  if (!have_scipy()) GTEST_SKIP() << "python3-scipy not installed";
  for (Index n : {16, 15}) {
    const ProcessResult r = run_process(
        {"/usr/bin/python3", "-c",
         "from scipy.signal import windows as w\nn=" + std::to_string(n) +
             "\nfor v in (w.hann(n, sym=False), w.hamming(n, sym=False), w.tukey(n, 0.5, sym=False)):\n"
             "  print(' '.join('%.12f' % x for x in v))\n"});
    ASSERT_EQ(r.exit_status, 0) << r.output;
    std::istringstream in(r.output);
    for (auto kind : {solvers::Window::Hann, solvers::Window::Hamming, solvers::Window::Tukey}) {
      const auto ours = solvers::kspace_window(n, kind, 1.0, 0.5);
      for (Index i = 0; i < n; ++i) {
        double ref = 0;
        in >> ref;
        if (n % 2 == 0) {
          EXPECT_NEAR(ours[std::size_t(i)], ref, 1e-9) << n << " " << i;
        }
      }
      // Odd n: SciPy's periodic window peaks between samples; ours peaks at the DC sample floor(n/2) and is
      // symmetric about it (k = -7..7 for n = 15).
      if (n % 2 == 1) {
        EXPECT_DOUBLE_EQ(ours[std::size_t(n / 2)], 1.0);
        for (Index i = 1; i <= n / 2; ++i) EXPECT_NEAR(ours[std::size_t(n / 2 - i)], ours[std::size_t(n / 2 + i)], 1e-12);
      }
    }
  }
  EXPECT_THROW(solvers::kspace_window(8, solvers::Window::Tukey, 1.0, 0.0), Error);
  EXPECT_THROW(solvers::kspace_window(8, solvers::Window::Hann, 1.5), Error);
}

// Radial regridding of an analytic k-space (a smooth function of (kx, ky), sampled on the spokes) reproduces it on
// the Cartesian grid inside the spokes' radius; bicubic is closer than bilinear; more spokes, closer still.
TEST(KspaceInterpolation, RadialRegriddingReproducesSmoothKspace) {
  const Index n = 48;
  auto f = [](double kx, double ky) {
    return cfloat(float(std::exp(-(kx * kx + ky * ky) / 200.0) * (1 + 0.02 * kx)), float(0.01 * ky));
  };
  double prev = 1e9;
  for (Index spokes : {25, 75}) {
    const RArray t = radial_trajectory({.samples = n, .spokes = spokes, .readout_oversampling = 2});
    Acquisition acq;
    acq.kspace = CArray(t.dimension(1), spokes, 1, 1, 1);
    for (Index j = 0; j < spokes; ++j)
      for (Index s = 0; s < t.dimension(1); ++s) acq.kspace(s, j, 0, 0, 0) = f(t(0, s, j, 0, 0), t(1, s, j, 0, 0));
    acq.sampling = Trajectory{t, std::nullopt};
    acq.image_dims = {n, n, 1, 1, 1};
    double err[2];
    for (int bicubic = 0; bicubic < 2; ++bicubic) {
      const CArray g = solvers::regrid_radial(acq, bicubic);
      double e = 0, nn = 0;
      for (Index y = 0; y < n; ++y)
        for (Index x = 0; x < n; ++x) {
          const double kx = double(x - n / 2), ky = double(y - n / 2);
          if (std::hypot(kx, ky) > n / 2 - 1) continue;
          e += std::norm(g(x, y, 0, 0, 0) - f(kx, ky)), nn += std::norm(f(kx, ky));
        }
      err[bicubic] = std::sqrt(e / nn);
    }
    std::printf("radial regridding, %lld spokes: bilinear %.2e, bicubic %.2e\n", (long long)spokes, err[0], err[1]);
    EXPECT_LT(err[1], err[0]);
    EXPECT_LT(err[0], prev);
    prev = err[0];
  }
  EXPECT_LT(prev, 1e-2);
  // Not radial: refused.
  Acquisition bad;
  RArray t(2, 4, 3, 1, 1);
  t.setConstant(1.0f);
  t(0, 0, 0, 0, 0) = 2.0f;
  bad.kspace = CArray(4, 3, 1, 1, 1);
  bad.kspace.setZero();
  bad.sampling = Trajectory{t, std::nullopt};
  bad.image_dims = {8, 8, 1, 1, 1};
  EXPECT_THROW(solvers::regrid_radial(bad), Error);
}

// On a real knee slice: the interpolation methods and the low-pass windows against zero-filled and gridding.
// Measured, not tuned; the assertions are the properties (errors fall with more data; a Hann window trades
// error for less ringing only when the data are truncated).
TEST(KspaceInterpolation, RealKneeLinesAndRadial) {
  if (!std::filesystem::exists(data_dir() + "/knee/knee_complex_2x320x256.npy")) GTEST_SKIP() << "no shared data";
  const Index n = 128;
  const CArray x = knee(n);
  const CArray k = EigenFftw::fft2c(x);
  double prev_lin = 1e9, prev_spl = 1e9;
  for (double R : {4.0, 2.0}) {
    Acquisition acq;
    acq.kspace = k;
    acq.sampling = equispaced_column_mask(n, n, 0.08, R, 0).mask;
    const double zf = rel_mag(solvers::ZeroFilledReconstructor().reconstruct(acq), x);
    const double lin = rel_mag(solvers::KspaceLineInterpolationReconstructor(solvers::LineInterpolation::Linear).reconstruct(acq), x);
    const double spl = rel_mag(solvers::KspaceLineInterpolationReconstructor(solvers::LineInterpolation::CubicSpline).reconstruct(acq), x);
    const double hann = rel_mag(solvers::LowPassZeroFilledReconstructor(solvers::Window::Hann).reconstruct(acq), x);
    std::printf("knee %lldx%lld, equispaced R %.0f: zero-filled %.4f, linear %.4f, spline %.4f, Hann zero-filled %.4f\n",
                (long long)n, (long long)n, R, zf, lin, spl, hann);
    EXPECT_LT(lin, prev_lin);
    EXPECT_LT(spl, prev_spl);
    prev_lin = lin, prev_spl = spl;
    // Measured: interpolating missing lines of a real knee's k-space is worse than zero-filling them (k-space of an
    // object that fills the field of view oscillates at the line spacing), the observation seed 004's networks
    // start from; the assertion keeps the finding visible.
    EXPECT_GT(lin, zf);
  }
  double prev_ri = 1e9;
  for (Index spokes : {50, 201}) {
    const RArray t = radial_trajectory({.samples = n, .spokes = spokes, .readout_oversampling = 2});
    Acquisition acq;
    acq.kspace = Nufft(t, n, n).apply(x);
    acq.sampling = Trajectory{t, std::nullopt};
    acq.image_dims = {n, n, 1, 1, 1};
    const double ri = rel_mag(solvers::RadialInterpolationReconstructor(false).reconstruct(acq), x);
    const double rc = rel_mag(solvers::RadialInterpolationReconstructor(true).reconstruct(acq), x);
    const double gr = rel_mag(solvers::GriddingReconstructor().reconstruct(acq), x);
    std::printf("knee %lldx%lld, %lld spokes: radial interpolation bilinear %.4f, bicubic %.4f, gridding %.4f\n",
                (long long)n, (long long)n, (long long)spokes, ri, rc, gr);
    EXPECT_LT(ri, prev_ri);
    EXPECT_LT(rc, ri);  // bicubic in (radius, angle) beats bilinear (measured 0.22 / 0.28 at 50 spokes)
    prev_ri = ri;
  }
}
