// `reconlab nufft` and `reconlab recon --traj` as a user runs them, against BART on the same files: the forward
// and adjoint NUFFT against `bart nufft -s` (BART's exact non-uniform DFT), the image grid against `bart estdims`,
// and reconstructions of real 8-coil brain k-space sampled radially.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../common/random_data.hpp"
#include "../common/run_cli.hpp"
#include "../common/temp_dir.hpp"
#include "reconlab/io/cfl.hpp"
#include <map>
#include "reconlab/io/noncartesian.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/sense.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/subprocess.hpp"
#include "reconlab/resampling.hpp"
#include "reconlab/study/cine_data.hpp"
#include "reconlab/trajectory.hpp"

using namespace reconlab;
using namespace reconlab::test_support;

namespace {

int bart(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"bart"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv).exit_status;
}

/// Relative L2 difference of two BART datasets' samples (same count required).
double rel_diff_cfl(const std::string& a, const std::string& b, double scale_b = 1.0) {
  const io::CflRaw x = io::read_cfl_raw(a), y = io::read_cfl_raw(b);
  EXPECT_EQ(x.data.size(), y.data.size());
  double e = 0, n = 0;
  for (std::size_t i = 0; i < std::min(x.data.size(), y.data.size()); ++i) {
    const std::complex<double> yb = std::complex<double>(y.data[i]) * scale_b;
    e += std::norm(std::complex<double>(x.data[i]) - yb), n += std::norm(yb);
  }
  return std::sqrt(e / n);
}

std::string p(const TempDir& d, const std::string& name) { return (d.path / name).string(); }

/// The last JSON line a command printed.
nlohmann::json last_json(const std::string& out) {
  std::istringstream in(out);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') last = line;
  return nlohmann::json::parse(last);
}

}  // namespace

// BART's `nufft -s` is the exact DFT without normalisation; reconlab's NUFFT is the unitary one (= fft2c on a
// Cartesian grid), so they differ by 1/sqrt(nx ny). A non-square image, oversampled readout. (Odd sizes: BART's
// DFT puts the image centre at n/2, half a pixel from fft2c's floor(n/2) that reconlab follows, so they differ by
// a phase ramp; nufft_test checks odd sizes against an exact DFT with fft2c's centre.)
TEST(NufftCli, ForwardAndAdjointEqualBartsExactDft) {
  if (!bart_on_path()) GTEST_SKIP() << "bart not installed";
  TempDir dir("nufft_cli");
  ASSERT_EQ(bart({"traj", "-r", "-x", "32", "-y", "13", "-o", "2", p(dir, "traj")}), 0);
  io::write_cfl(p(dir, "img"), random_array({36, 32, 1, 1, 1}, 11));
  const double unitary = 1.0 / std::sqrt(36.0 * 32.0);

  auto r = run_cli("nufft " + p(dir, "traj") + " " + p(dir, "img") + " " + p(dir, "ours"));
  ASSERT_EQ(r.status, 0) << r.out;
  ASSERT_EQ(bart({"nufft", "-s", p(dir, "traj"), p(dir, "img"), p(dir, "dft")}), 0);
  ASSERT_EQ(bart({"nufft", p(dir, "traj"), p(dir, "img"), p(dir, "bart")}), 0);
  const double ours = rel_diff_cfl(p(dir, "ours"), p(dir, "dft"), unitary);
  const double theirs = rel_diff_cfl(p(dir, "bart"), p(dir, "dft"), unitary);
  EXPECT_LT(ours, 1e-4) << "forward, width 6 / oversampling 2";
  EXPECT_LT(theirs, 0.1) << "bart nufft itself";
  std::cout << "forward relative error against the exact DFT: reconlab " << ours << ", bart nufft " << theirs << "\n";

  // Adjoint of the same samples onto the 36 x 32 grid.
  r = run_cli("nufft --adjoint --shape 32,36 " + p(dir, "traj") + " " + p(dir, "dft") + " " + p(dir, "ours_adj"));
  ASSERT_EQ(r.status, 0) << r.out;
  ASSERT_EQ(bart({"nufft", "-a", "-s", "-d", "36:32:1", p(dir, "traj"), p(dir, "dft"), p(dir, "dft_adj")}), 0);
  EXPECT_LT(rel_diff_cfl(p(dir, "ours_adj"), p(dir, "dft_adj"), unitary), 1e-4) << "adjoint";

  // Width 4 / oversampling 1.25 is looser, as documented.
  r = run_cli("nufft --width 4 --oversampling 1.25 " + p(dir, "traj") + " " + p(dir, "img") + " " + p(dir, "loose"));
  ASSERT_EQ(r.status, 0) << r.out;
  const double loose = rel_diff_cfl(p(dir, "loose"), p(dir, "dft"), unitary);
  EXPECT_LT(loose, 2e-2);
  EXPECT_GT(loose, ours);
  std::cout << "width 4 / oversampling 1.25: " << loose << "\n";
}

TEST(NufftCli, ImageGridEstimateEqualsBartEstdims) {
  if (!bart_on_path()) GTEST_SKIP() << "bart not installed";
  TempDir dir("nufft_cli_estdims");
  ASSERT_EQ(bart({"traj", "-r", "-x", "24", "-y", "5", p(dir, "t")}), 0);
  for (const std::string s : {"1", "0.690625", "0.6875", "0.83"}) {
    SCOPED_TRACE(s);
    ASSERT_EQ(bart({"scale", s, p(dir, "t"), p(dir, "ts")}), 0);
    const ProcessResult est = run_process({"bart", "estdims", p(dir, "ts")});
    ASSERT_EQ(est.exit_status, 0);
    std::istringstream in(est.output);
    long bx = 0, by = 0;
    in >> bx >> by;
    const RArray c = io::read_trajectory(p(dir, "ts"));
    const auto [nx, ny] = io::estimate_image_dims(c);
    EXPECT_EQ(nx, bx);
    EXPECT_EQ(ny, by);
  }
}

// The inverse NUFFT (CG on the Toeplitz normal) recovers an image from samples of BART's exact DFT on a
// Nyquist-sampled radial trajectory (pi/2 N spokes), and from .npy files as well. The image is smooth (a radial
// trajectory leaves the corners of k-space beyond |k| = N/2 unsampled, where a sharp phantom has energy).
TEST(NufftCli, InverseRecoversTheImageFromExactSamples) {
  if (!bart_on_path()) GTEST_SKIP() << "bart not installed";
  TempDir dir("nufft_cli_inverse");
  const Index n = 32;
  ASSERT_EQ(bart({"traj", "-r", "-x", "32", "-y", "51", "-o", "2", p(dir, "traj")}), 0);
  CArray truth(n, n, 1, 1, 1);
  for (Index y = 0; y < n; ++y)
    for (Index x = 0; x < n; ++x) {
      const double u = double(x - n / 2) / n, v = double(y - n / 2) / n;
      truth(x, y, 0, 0, 0) = cfloat(float(std::exp(-(u * u + 2 * v * v) / 0.05) * (1 + 0.3 * std::cos(6 * u))),
                                    float(0.2 * std::exp(-((u - 0.1) * (u - 0.1) + v * v) / 0.02)));
    }
  io::write_cfl(p(dir, "truth"), truth);
  ASSERT_EQ(bart({"nufft", "-s", p(dir, "traj"), p(dir, "truth"), p(dir, "y_raw")}), 0);
  ASSERT_EQ(bart({"scale", std::to_string(1.0 / double(n)), p(dir, "y_raw"), p(dir, "y")}), 0);
  auto r = run_cli("nufft --inverse --iterations 200 --tolerance 1e-5 " + p(dir, "traj") + " " + p(dir, "y") + " " +
                   p(dir, "x"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = last_json(r.out);
  EXPECT_EQ(j["image"], nlohmann::json({32, 32}));
  const double err = rel_diff_cfl(p(dir, "x"), p(dir, "truth"));
  EXPECT_LT(err, 1e-2) << r.out;
  // The adjoint alone (no density compensation) is far from the image: the inverse does the work.
  ASSERT_EQ(run_cli("nufft --adjoint " + p(dir, "traj") + " " + p(dir, "y") + " " + p(dir, "adj")).status, 0);
  EXPECT_GT(rel_diff_cfl(p(dir, "adj"), p(dir, "truth")), 10 * err);

  // .npy in and out: the same numbers.
  io::write_trajectory(p(dir, "traj.npy"), io::read_trajectory(p(dir, "traj")));
  io::write_noncartesian(p(dir, "y.npy"), io::read_noncartesian(p(dir, "y")));
  r = run_cli("nufft --inverse --iterations 200 --tolerance 1e-5 " + p(dir, "traj.npy") + " " + p(dir, "y.npy") +
              " " + p(dir, "x.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  const CArray xn = io::read_npy_complex(p(dir, "x.npy")), xc = io::read_cfl(p(dir, "x"));
  EXPECT_LT(rel_diff(xn, xc), 1e-6);
}

TEST(NufftCli, BadInputGivesOneClearError) {
  TempDir dir("nufft_cli_bad");
  RadialOptions o;
  o.samples = 8, o.spokes = 3;
  RArray c = radial_trajectory(o);
  io::write_trajectory(p(dir, "t.npy"), c);
  io::write_npy(p(dir, "img.npy"), random_array({8, 8, 1, 1, 1}, 1));
  auto r = run_cli("nufft --adjoint --inverse " + p(dir, "t.npy") + " " + p(dir, "img.npy") + " " + p(dir, "o.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("exclude each other"), std::string::npos) << r.out;
  // Samples that do not fit the trajectory.
  io::write_noncartesian(p(dir, "y.npy"), random_array({8, 4, 1, 1, 1}, 2));
  r = run_cli("nufft --adjoint " + p(dir, "t.npy") + " " + p(dir, "y.npy") + " " + p(dir, "o.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("do not fit the trajectory"), std::string::npos) << r.out;
  // A NaN coordinate.
  c.data()[5] = std::nanf("");
  io::write_trajectory(p(dir, "nan.npy"), c);
  r = run_cli("nufft " + p(dir, "nan.npy") + " " + p(dir, "img.npy") + " " + p(dir, "o.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("not finite"), std::string::npos) << r.out;
  // A trajectory outside the image grid.
  r = run_cli("nufft --adjoint --shape 4,4 " + p(dir, "t.npy") + " " + p(dir, "y.npy") + " " + p(dir, "o.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(std::filesystem::exists(p(dir, "o.npy")));
  // A 3D trajectory (kz != 0).
  RArray t3(3, 8, 3, 1, 1);
  t3.setZero();
  t3.data()[2] = 1.0f;
  io::write_npy(p(dir, "t3.npy"), t3, {1, 3, 8, 3});
  r = run_cli("nufft " + p(dir, "t3.npy") + " " + p(dir, "img.npy") + " " + p(dir, "o.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("only 2D"), std::string::npos) << r.out;
}

// Real 8-coil brain k-space (shared/data/brain8ch), reduced to a 120 x 96 full-FOV grid, sampled on radial
// trajectories (readout oversampled 2x): every --traj method runs from the command line; CG-SENSE, CS-TV and
// BART pics beat gridding, and gridding improves with more spokes.
TEST(ReconTrajCli, RealBrainRadialMultiCoil) {
  const std::string data = data_dir() + "/brain8ch/brain_clean";
  if (!std::filesystem::exists(data + ".cfl")) GTEST_SKIP() << "no " << data;
  TempDir dir("recon_traj_cli");
  const CArray k_full = io::read_cfl(data, 2);
  const Index nx = 120, ny = 96;
  const CArray coil = EigenFftw::ifft2c(EigenFftw::resize_xy(k_full, nx, ny));
  const RArray truth = rss(coil);
  auto error_of = [&](const std::string& file) {
    const CArray x = io::read_npy_complex(file);
    EXPECT_EQ(x.dimension(0), nx);
    EXPECT_EQ(x.dimension(1), ny);
    // Magnitudes, after the least-squares scale (coil combinations differ by a smooth real profile at most).
    double num = 0, den = 0;
    for (Index i = 0; i < truth.size(); ++i) num += std::abs(x.data()[i]) * truth.data()[i], den += std::norm(x.data()[i]);
    const double s = num / den;
    double e = 0, t = 0;
    for (Index i = 0; i < truth.size(); ++i) {
      e += std::pow(s * std::abs(x.data()[i]) - truth.data()[i], 2);
      t += std::pow(truth.data()[i], 2);
    }
    return std::sqrt(e / t);
  };
  std::map<std::string, double> err;
  for (Index spokes : {40, 80}) {
    RadialOptions o;
    o.samples = 96, o.spokes = spokes, o.readout_oversampling = 2;
    const RArray traj = radial_trajectory(o);
    const CArray y = Nufft(traj, nx, ny).apply(coil);
    const std::string tag = std::to_string(spokes);
    io::write_trajectory(p(dir, "traj" + tag + ".npy"), traj);
    io::write_noncartesian(p(dir, "y" + tag + ".npy"), y);
    std::vector<std::string> methods{"gridding", "cg-sense --iterations 10", "radial-interpolation"};
    if (spokes == 40) {
      methods.push_back("cs-tv --lambda 0.002 --iterations 200");
      if (bart_on_path()) methods.push_back("bart-pics --lambda 0.002 --iterations 50");
    }
    for (const std::string& m : methods) {
      const std::string name = m.substr(0, m.find(' '));
      const std::string out = p(dir, name + tag + ".npy");
      const auto r = run_cli("recon --method " + m + " --shape " + std::to_string(ny) + "," + std::to_string(nx) +
                             " --traj " + p(dir, "traj" + tag + ".npy") + " --kspace " + p(dir, "y" + tag + ".npy") +
                             " " + out);
      ASSERT_EQ(r.status, 0) << m << ": " << r.out;
      err[name + tag] = error_of(out);
      std::cout << name << " " << spokes << " spokes: relative error " << err[name + tag] << "\n";
    }
  }
  EXPECT_LT(err["gridding80"], err["gridding40"]);
  EXPECT_LT(err["radial-interpolation80"], err["radial-interpolation40"]);
  EXPECT_LT(err["cg-sense40"], err["gridding40"]);
  EXPECT_LT(err["cs-tv40"], err["gridding40"]);
  if (err.count("bart-pics40")) {
    EXPECT_LT(err["bart-pics40"], err["gridding40"]);
  }
  // A Cartesian-only method is refused with --traj.
  const auto bad = run_cli("recon --method grappa --traj " + p(dir, "traj40.npy") + " --kspace " +
                           p(dir, "y40.npy") + " " + p(dir, "g.npy"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("with a trajectory (--traj) use gridding"), std::string::npos) << bad.out;
}

// A real cine (8 frames of the ACDC cine, central 128^2 block-averaged to 64^2, smooth phase) on a continuous
// golden-angle radial acquisition of 6 spokes per frame (R = 17): gridding, the sliding window and k-t TV from the
// command line; the sliding window and k-t TV beat gridding, and --lambda-t is refused where it means nothing.
TEST(ReconTrajCli, GoldenAngleRadialCine) {
  if (!std::filesystem::exists(data_dir() + "/cine-acdc/cine_30x184x256_uint8.npy")) GTEST_SKIP() << "no shared data";
  TempDir dir("recon_traj_cine");
  const RArray c = study::load_acdc_cine(data_dir());
  Eigen::array<Index, 5> off{64, 28, 0, 0, 0}, ext{128, 128, 1, 8, 1};
  const RArray sq = c.slice(off, ext);
  const RArray truth = study::normalised_cine(RArray(BlockAverage(128, 128, 2).apply(to_complex(sq)).real()));
  const CArray img = study::cine_with_smooth_phase(truth, 3);
  const RArray traj = radial_trajectory({.samples = 64, .spokes = 6, .frames = 8, .order = RadialOrder::golden,
                                         .readout_oversampling = 2});
  io::write_trajectory(p(dir, "traj.npy"), traj);
  io::write_noncartesian(p(dir, "y.npy"), Nufft(traj, 64, 64).apply(img));
  std::map<std::string, double> err;
  for (const std::string m : {"gridding", "view-sharing --sliding-window 3", "cs-tv --lambda 0.003 --lambda-t 0.01"}) {
    const std::string name = m.substr(0, m.find(' '));
    const auto r = run_cli("recon --method " + m + " --shape 64,64 --traj " + p(dir, "traj.npy") + " --kspace " +
                           p(dir, "y.npy") + " " + p(dir, name + ".npy"));
    ASSERT_EQ(r.status, 0) << m << ": " << r.out;
    EXPECT_EQ(last_json(r.out)["frames"], 8);
    const CArray x = io::read_npy_complex(p(dir, name + ".npy"), "fyx");
    ASSERT_EQ(dims_of(x), (Dims{64, 64, 1, 8, 1}));
    double e = 0, t = 0;
    for (Index i = 0; i < x.size(); ++i) e += std::pow(std::abs(x.data()[i]) - truth.data()[i], 2), t += std::pow(truth.data()[i], 2);
    err[name] = std::sqrt(e / t);
    std::cout << m << ": relative error " << err[name] << "\n";
  }
  EXPECT_LT(err["view-sharing"], 0.8 * err["gridding"]);
  EXPECT_LT(err["cs-tv"], err["view-sharing"]);
  const auto bad = run_cli("recon --method gridding --lambda-t 0.01 --shape 64,64 --traj " + p(dir, "traj.npy") +
                           " --kspace " + p(dir, "y.npy") + " " + p(dir, "bad.npy"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("--lambda-t applies to cs-tv and bart-pics"), std::string::npos) << bad.out;
}

// The Cartesian interpolation baselines from the command line keep the acquired samples (the k-space of their
// single-coil complex output equals the input where the mask is 1) and fill the gaps between them.
TEST(ReconInterpolationCli, LineInterpolationKeepsTheSamples) {
  TempDir dir("recon_interp_cli");
  const Index nx = 24, ny = 20;
  CArray k = random_array({nx, ny, 1, 1, 1}, 5);
  RArray col(nx, 1, 1, 1, 1);
  col.setZero();
  for (Index x = 0; x < nx; x += 3) col(x, 0, 0, 0, 0) = 1;
  col(nx / 2, 0, 0, 0, 0) = 1;
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) k(x, y, 0, 0, 0) *= col(x, 0, 0, 0, 0);
  io::write_npy(p(dir, "k.npy"), k);
  io::write_npy(p(dir, "m.npy"), col, {nx});
  for (const std::string m : {"linear-interpolation", "spline-interpolation", "lowpass-hann --window-width 0.5"}) {
    SCOPED_TRACE(m);
    const auto r = run_cli("recon --method " + m + " --kspace " + p(dir, "k.npy") + " --mask " + p(dir, "m.npy") + " " +
                           p(dir, "x.npy"));
    ASSERT_EQ(r.status, 0) << r.out;
    const CArray kx = EigenFftw::fft2c(io::read_npy_complex(p(dir, "x.npy")));
    Index filled = 0;
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) {
        if (m.rfind("lowpass", 0) == 0) continue;
        if (col(x, 0, 0, 0, 0) > 0) EXPECT_NEAR(std::abs(kx(x, y, 0, 0, 0) - k(x, y, 0, 0, 0)), 0.0, 1e-4);
        else if (x > 0 && x < nx - 3 && std::abs(kx(x, y, 0, 0, 0)) > 1e-3) ++filled;
      }
    if (m.rfind("lowpass", 0) != 0) {
      EXPECT_GT(filled, (nx / 2) * ny);
    }
  }
  const auto bad = run_cli("recon --method gridding --kspace " + p(dir, "k.npy") + " " + p(dir, "x.npy"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("give --traj"), std::string::npos) << bad.out;
}
