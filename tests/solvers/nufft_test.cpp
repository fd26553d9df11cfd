// The Kaiser-Bessel NUFFT (include/reconlab/nufft.hpp) against the exact non-uniform DFT, its adjoint, its Toeplitz
// normal, and radial trajectories against BART's `traj`.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <vector>

#include "../common/have_bart.hpp"
#include "../common/operator_battery.hpp"
#include "../common/random_data.hpp"
#include "../common/temp_dir.hpp"
#include "reconlab/io/cfl.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/random.hpp"
#include "reconlab/subprocess.hpp"
#include "reconlab/trajectory.hpp"

using namespace reconlab;
using namespace reconlab::test_support;

namespace {

/// Random trajectory (2, S, Y, T, 1), uniform in [-n/2, n/2] per axis.
RArray random_trajectory(Index S, Index Y, Index T, Index nx, Index ny, uint64_t seed) {
  Random rng(seed);
  RArray t(2, S, Y, T, 1);
  for (Index i = 0; i < t.size() / 2; ++i) {
    t.data()[2 * i] = float((rng.uniform_double() - 0.5) * double(nx));
    t.data()[2 * i + 1] = float((rng.uniform_double() - 0.5) * double(ny));
  }
  return t;
}

/// The exact unitary non-uniform DFT in double precision (nufft.hpp's model).
std::vector<std::complex<double>> exact_forward(const CArray& x, const RArray& t) {
  const Index nx = x.dimension(0), ny = x.dimension(1), C = x.dimension(2), T = x.dimension(3);
  const Index S = t.dimension(1), Y = t.dimension(2);
  std::vector<std::complex<double>> y(std::size_t(S * Y * C * T));
  const double norm = 1.0 / std::sqrt(double(nx * ny));
  for (Index f = 0; f < T; ++f)
    for (Index c = 0; c < C; ++c)
      for (Index s = 0; s < S * Y; ++s) {
        const double kx = t.data()[2 * (f * S * Y + s)], ky = t.data()[2 * (f * S * Y + s) + 1];
        std::complex<double> v = 0;
        for (Index yy = 0; yy < ny; ++yy)
          for (Index xx = 0; xx < nx; ++xx) {
            const double ph = -2 * M_PI * (kx * double(xx - nx / 2) / double(nx) + ky * double(yy - ny / 2) / double(ny));
            v += std::complex<double>(x(xx, yy, c, f, 0)) * std::polar(1.0, ph);
          }
        y[std::size_t((f * C + c) * S * Y + s)] = v * norm;
      }
  return y;
}

double rel_err(const CArray& a, const std::vector<std::complex<double>>& b) {
  double n = 0, d = 0;
  for (Index i = 0; i < a.size(); ++i) n += std::norm(std::complex<double>(a.data()[i]) - b[std::size_t(i)]), d += std::norm(b[std::size_t(i)]);
  return std::sqrt(n / d);
}
double rel_err(const CArray& a, const CArray& b) {
  double n = 0, d = 0;
  for (Index i = 0; i < a.size(); ++i) n += std::norm(a.data()[i] - b.data()[i]), d += std::norm(b.data()[i]);
  return std::sqrt(n / d);
}

}  // namespace

TEST(Nufft, MatchesTheExactNonUniformDftPerFrameAndCoil) {
  for (auto [nx, ny] : {std::pair<Index, Index>{16, 12}, {15, 13}}) {
    SCOPED_TRACE(std::to_string(nx) + "x" + std::to_string(ny));
    const RArray t = random_trajectory(20, 7, 2, nx, ny, 3);  // a different trajectory per frame
    const CArray x = random_array({nx, ny, 2, 2, 1}, 4);
    const auto exact = exact_forward(x, t);
    const double e6 = rel_err(Nufft(t, nx, ny, {2.0, 6}).apply(x), exact);
    const double e4 = rel_err(Nufft(t, nx, ny, {1.25, 4}).apply(x), exact);
    std::printf("NUFFT relative error vs exact DFT, %lldx%lld: width 6 / alpha 2: %.2e, width 4 / alpha 1.25: %.2e\n",
                (long long)nx, (long long)ny, e6, e4);
    EXPECT_LT(e6, 1e-3);
    EXPECT_LT(e4, 3e-2);
    // And the adjoint against the exact adjoint DFT (its conjugate transpose), through <A x, y> with the exact A.
    const CArray y = random_array({20, 7, 2, 2, 1}, 5);
    const CArray xa = Nufft(t, nx, ny).adjoint(y);
    std::complex<double> lhs = 0, rhs = 0;
    for (Index i = 0; i < y.size(); ++i) lhs += exact[std::size_t(i)] * std::conj(std::complex<double>(y.data()[i]));
    for (Index i = 0; i < x.size(); ++i) rhs += std::complex<double>(x.data()[i]) * std::conj(std::complex<double>(xa.data()[i]));
    EXPECT_LT(std::abs(lhs - rhs) / std::abs(lhs), 1e-3);
  }
}

TEST(Nufft, OnACartesianTrajectoryItIsTheCentredUnitaryFft) {
  const Index nx = 12, ny = 10;
  RArray t(2, nx, ny, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) t(0, x, y, 0, 0) = float(x - nx / 2), t(1, x, y, 0, 0) = float(y - ny / 2);
  const CArray img = random_array({nx, ny, 1, 1, 1}, 8);
  const CArray k = Nufft(t, nx, ny).apply(img), f = EigenFftw::fft2c(img);
  EXPECT_LT(rel_err(k, f), 1e-4);  // the (S, Y) layout of this trajectory is the (x, y) grid
}

TEST(Nufft, AdjointAndToeplitzNormalAgainstDenseMatrices) {
  const Index nx = 8, ny = 6;
  const RArray t = random_trajectory(9, 5, 2, nx, ny, 11);
  const Nufft A(t, nx, ny);
  const Dims dom{nx, ny, 1, 2, 1}, ran{9, 5, 1, 2, 1};
  run_operator_battery<EigenFftw>(A, random_array(dom, 1), random_array(dom, 2), random_array(ran, 3), 1e-4, false);
  // The Toeplitz normal against A^H A of the exact DFT (dense): entrywise through unit vectors.
  const CArray x = random_array(dom, 6);
  const auto y = exact_forward(x, t);
  CArray yc(9, 5, 1, 2, 1);
  for (Index i = 0; i < yc.size(); ++i) yc.data()[i] = cfloat(y[std::size_t(i)]);
  // A^H of the exact DFT: conjugate phases, in double.
  CArray exact_normal(nx, ny, 1, 2, 1);
  for (Index f = 0; f < 2; ++f)
    for (Index yy = 0; yy < ny; ++yy)
      for (Index xx = 0; xx < nx; ++xx) {
        std::complex<double> v = 0;
        for (Index s = 0; s < 45; ++s) {
          const double kx = t.data()[2 * (f * 45 + s)], ky = t.data()[2 * (f * 45 + s) + 1];
          const double ph = 2 * M_PI * (kx * double(xx - nx / 2) / nx + ky * double(yy - ny / 2) / ny);
          v += y[std::size_t(f * 45 + s)] * std::polar(1.0, ph);
        }
        exact_normal(xx, yy, 0, f, 0) = cfloat(v / std::sqrt(double(nx * ny)));
      }
  EXPECT_LT(rel_err(A.normal(x), exact_normal), 1e-3);
  EXPECT_LT(rel_err(A.adjoint(A.apply(x)), exact_normal), 1e-3);
  // With weights: A^H W A.
  RArray w(9, 5, 1, 2, 1);
  Random rng(4);
  for (Index i = 0; i < w.size(); ++i) w.data()[i] = float(rng.uniform_double());
  const Nufft Aw(t, nx, ny, {}, w);
  CArray wy = A.apply(x);
  for (Index i = 0; i < wy.size(); ++i) wy.data()[i] *= w.data()[i];
  EXPECT_LT(rel_err(Aw.normal(x), A.adjoint(wy)), 1e-3);
  // Scale: c x gives c A x for any c.
  for (float c : {1e-6f, 1e4f}) EXPECT_LT(rel_err(A.apply(x * cfloat(c)), A.apply(x) * cfloat(c)), 1e-6);
}

TEST(Nufft, BadTrajectoriesAndOptionsAreClearErrors) {
  RArray t = random_trajectory(4, 3, 1, 8, 8, 1);
  EXPECT_THROW(Nufft(RArray(3, 4, 3, 1, 1), 8, 8), Error);  // wrong first dimension
  RArray bad = t;
  bad(0, 1, 1, 0, 0) = std::nanf("");
  EXPECT_THROW(Nufft(bad, 8, 8), Error);
  bad = t;
  bad(1, 0, 0, 0, 0) = 4.5f;  // beyond +-N/2
  EXPECT_THROW(Nufft(bad, 8, 8), Error);
  EXPECT_THROW(Nufft(t, 8, 8, {1.1, 6}), Error);
  EXPECT_THROW(Nufft(t, 8, 8, {2.0, 8}), Error);
  const Nufft A(t, 8, 8);
  EXPECT_THROW(A.apply(random_array({8, 6, 1, 1, 1}, 1)), Error);
  EXPECT_THROW(A.adjoint(random_array({4, 4, 1, 1, 1}, 1)), Error);
}

TEST(Trajectory, RadialGoldenAndTinyGoldenEqualBartTraj) {
  if (!have_bart()) GTEST_SKIP() << "bart not installed";
  TempDir dir("traj");
  struct Case {
    std::vector<std::string> args;
    RadialOptions o;
  };
  const std::vector<Case> cases = {
      {{"-x", "16", "-y", "5", "-r"}, {.samples = 16, .spokes = 5}},
      {{"-x", "15", "-y", "4", "-r"}, {.samples = 15, .spokes = 4}},
      {{"-x", "8", "-y", "3", "-r", "-o", "2"}, {.samples = 8, .spokes = 3, .readout_oversampling = 2}},
      {{"-x", "8", "-y", "4", "-t", "2", "-r"}, {.samples = 8, .spokes = 4, .frames = 2, .turns = 2}},
      {{"-x", "8", "-y", "6", "-r", "-G"}, {.samples = 8, .spokes = 6, .order = RadialOrder::golden}},
      {{"-x", "8", "-y", "6", "-r", "-G", "-s", "7"},
       {.samples = 8, .spokes = 6, .order = RadialOrder::tiny_golden, .tiny_index = 7}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{"traj"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const std::string out = (dir.path / "t").string();
    argv.push_back(out);
    SCOPED_TRACE(command_line(argv));
    argv.insert(argv.begin(), solvers::find_bart());
    const ProcessResult r = run_process(argv);
    ASSERT_EQ(r.exit_status, 0) << r.output;
    const io::CflRaw b = io::read_cfl_raw(out);  // (3, X, Y, 1, ..., frames in dim 10)
    const RArray ours = radial_trajectory(c.o);
    const Index X = c.o.samples * c.o.readout_oversampling, Y = c.o.spokes;
    for (Index f = 0; f < c.o.frames; ++f)
      for (Index j = 0; j < Y; ++j)
        for (Index i = 0; i < X; ++i)
          for (Index a = 0; a < 2; ++a)
            EXPECT_NEAR(ours(a, i, j, f, 0), b.data[std::size_t(((f * Y + j) * X + i) * 3 + a)].real(), 1e-4)
                << "coordinate " << a << " sample " << i << " spoke " << j << " frame " << f;
  }
}

TEST(Trajectory, RampDensityIsTheAreaPerSample) {
  const RArray t = radial_trajectory({.samples = 64, .spokes = 50});
  const RArray w = radial_ramp_density(t);
  // The weights sum to the area of the sampled disc (radius 31.5 + 1/2 ring): pi 32^2 within 2 %.
  double sum = 0;
  for (Index i = 0; i < w.size(); ++i) sum += w.data()[i];
  EXPECT_NEAR(sum, M_PI * 32.0 * 32.0, 0.02 * M_PI * 32.0 * 32.0);
  EXPECT_THROW(radial_trajectory({.samples = 1}), Error);
  EXPECT_THROW(radial_trajectory({.order = RadialOrder::tiny_golden, .tiny_index = 1}), Error);
}

// The kernel's I0 series against the standard library's Bessel function, and the closed-form deapodisation against
// Simpson quadrature of the kernel's Fourier integral (independent evaluations of the same quantities).
TEST(Nufft, KernelAndDeapodisationAgainstLibraryBesselAndQuadrature) {
  for (double beta : {2.0, 9.3, 13.9, 19.0})
    for (double d : {0.0, 0.4, 1.3, 2.2, 2.99}) {
      const double t = 2 * d / 6.0;
      const double ref = std::cyl_bessel_i(0.0, beta * std::sqrt(1 - t * t));
      EXPECT_NEAR(detail::kaiser_bessel(d, 6.0, beta), ref, 1e-13 * ref) << beta << " " << d;
    }
  for (const auto& [W, alpha] : {std::pair{6.0, 2.0}, std::pair{4.0, 1.25}}) {
    const Index n = 37, G = detail::oversampled_size(n, alpha);
    const double a = double(G) / double(n);
    const double beta = M_PI * std::sqrt((W / a) * (W / a) * (a - 0.5) * (a - 0.5) - 0.8);
    const auto c = detail::kb_deapodisation(n, G, W, beta);
    for (Index i = 0; i < n; i += 6) {
      const int m = 4000;
      const double h = W / m, r = double(i - n / 2);
      double s = 0;
      for (int q = 0; q <= m; ++q) {
        const double dd = -W / 2 + q * h, tt = 2 * dd / W;
        const double f = std::cyl_bessel_i(0.0, beta * std::sqrt(std::max(0.0, 1 - tt * tt))) *
                         std::cos(2 * M_PI * dd * r / double(G));
        s += f * (q == 0 || q == m ? 1 : (q % 2 ? 4 : 2));
      }
      s *= h / 3;
      EXPECT_NEAR(c[std::size_t(i)], s, 1e-9 * std::abs(s)) << "W " << W << " pixel " << i;
    }
  }
}
