// The NUFFT against BART's (issue 9): forward, adjoint and normal on a 256 x 256 image with 8 coils and 64 radial
// spokes x 512 samples (bart traj -r -x 256 -y 64 -o 2), width 6 / oversampling 2 for both (BART's defaults).
// Each benchmark times, back to back in one run:
//   - reconlab's operator in process (the NUFFT built once: what a solver pays per call), and
//   - `reconlab nufft` and `bart nufft` as whole processes on the same .cfl files (start-up, planning and file
//     I/O included: what a user of either command line pays),
// and reports the ratios reconlab / BART and the relative error of each against the exact non-uniform DFT on
// two spokes of coil 0 (in double precision; BART's DFT convention and ours agree for even sizes). BART has no
// command for the normal operator alone: the normal row compares reconlab's Toeplitz A^H A with bart's forward
// followed by its adjoint (two processes).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <complex>
#include <filesystem>
#include <string>
#include <vector>

#include "reconlab/io/cfl.hpp"
#include "reconlab/io/noncartesian.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/bart.hpp"
#include "reconlab/subprocess.hpp"
#include "reconlab/trajectory.hpp"

using namespace reconlab;

namespace {

constexpr Index kN = 256, kCoils = 8, kSpokes = 64, kReadout = 256;

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Setup {
  solvers::TempDir dir;
  RArray traj;
  CArray image;
  std::string bart, cli;
  Setup() {
    RadialOptions o;
    o.samples = kReadout, o.spokes = kSpokes, o.readout_oversampling = 2;
    traj = radial_trajectory(o);
    Random rng(7);
    image = CArray(kN, kN, kCoils, 1, 1);
    for (Index i = 0; i < image.size(); ++i) image.data()[i] = rng.complex_normal();
    io::write_trajectory(path("traj"), traj);
    io::write_cfl(path("img"), image);
    bart = solvers::find_bart();
    cli = std::string(RECONLAB_BINARY_DIR) + "/tools/reconlab";
  }
  std::string path(const std::string& n) const { return dir.path() + "/" + n; }
  /// Seconds one process takes; throws when it fails.
  double run(const std::vector<std::string>& argv) const {
    const auto t0 = std::chrono::steady_clock::now();
    const ProcessResult r = run_process(argv);
    const double s = since(t0);
    require(r.exit_status == 0, "benchmark: " + command_line(argv) + " failed: " + r.output);
    return s;
  }
};

Setup& setup() {
  static Setup s;
  return s;
}

/// Relative error of samples y (S, Y, C, 1, 1) of `image` on `traj` against the exact unitary non-uniform DFT,
/// on spokes 0 and 1 of coil 0 (double precision).
double forward_error(const CArray& y, const RArray& traj, const CArray& image) {
  const Index S = traj.dimension(1);
  double e = 0, n = 0;
  const double scale = 1.0 / double(kN);
  for (Index j = 0; j < 2; ++j)
    for (Index s = 0; s < S; ++s) {
      const double kx = traj(0, s, j, 0, 0), ky = traj(1, s, j, 0, 0);
      std::complex<double> acc = 0;
      for (Index yy = 0; yy < kN; ++yy) {
        const std::complex<double> py = std::polar(1.0, -2 * M_PI * ky * double(yy - kN / 2) / double(kN));
        for (Index x = 0; x < kN; ++x)
          acc += std::complex<double>(image(x, yy, 0, 0, 0)) * py *
                 std::polar(1.0, -2 * M_PI * kx * double(x - kN / 2) / double(kN));
      }
      acc *= scale;
      e += std::norm(std::complex<double>(y(s, j, 0, 0, 0)) - acc), n += std::norm(acc);
    }
  return std::sqrt(e / n);
}

}  // namespace

static void BM_NufftForwardVsBart(benchmark::State& state) {
  Setup& s = setup();
  const Nufft A(s.traj, kN, kN);
  double ours = 0, ours_cli = 0, theirs = 0;
  CArray y;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    y = A.apply(s.image);
    ours = since(t0);
    ours_cli = s.run({s.cli, "nufft", s.path("traj"), s.path("img"), s.path("ours")});
    theirs = s.run({s.bart, "nufft", s.path("traj"), s.path("img"), s.path("bart")});
    state.SetIterationTime(ours);
  }
  state.counters["reconlab_s"] = ours;
  state.counters["reconlab_cli_s"] = ours_cli;
  state.counters["bart_cli_s"] = theirs;
  state.counters["cli_ratio"] = ours_cli / theirs;
  state.counters["reconlab_err"] = forward_error(y, s.traj, s.image);
  const CArray yb = io::read_noncartesian(s.path("bart"));
  state.counters["bart_err"] = forward_error(yb, s.traj, s.image);
}

static void BM_NufftAdjointVsBart(benchmark::State& state) {
  Setup& s = setup();
  const Nufft A(s.traj, kN, kN);
  const CArray y = A.apply(s.image);
  io::write_noncartesian(s.path("y"), y);
  double ours = 0, ours_cli = 0, theirs = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    CArray x = A.adjoint(y);
    benchmark::DoNotOptimize(x.data());
    ours = since(t0);
    ours_cli = s.run({s.cli, "nufft", "--adjoint", "--shape", "256,256", s.path("traj"), s.path("y"), s.path("ours_a")});
    theirs = s.run({s.bart, "nufft", "-a", "-d", "256:256:1", s.path("traj"), s.path("y"), s.path("bart_a")});
    state.SetIterationTime(ours);
  }
  state.counters["reconlab_s"] = ours;
  state.counters["reconlab_cli_s"] = ours_cli;
  state.counters["bart_cli_s"] = theirs;
  state.counters["cli_ratio"] = ours_cli / theirs;
}

static void BM_NufftNormalVsBartForwardAdjoint(benchmark::State& state) {
  Setup& s = setup();
  const Nufft A(s.traj, kN, kN);
  CArray warm = A.normal(s.image);  // the Toeplitz kernel is computed at the first call
  double ours = 0, ours_fa = 0, theirs = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    CArray x = A.normal(s.image);
    benchmark::DoNotOptimize(x.data());
    ours = since(t0);
    t0 = std::chrono::steady_clock::now();
    CArray x2 = A.adjoint(A.apply(s.image));
    benchmark::DoNotOptimize(x2.data());
    ours_fa = since(t0);
    theirs = s.run({s.bart, "nufft", s.path("traj"), s.path("img"), s.path("bart_f")}) +
             s.run({s.bart, "nufft", "-a", "-d", "256:256:1", s.path("traj"), s.path("bart_f"), s.path("bart_n")});
    state.SetIterationTime(ours);
  }
  state.counters["reconlab_toeplitz_s"] = ours;
  state.counters["reconlab_forward_adjoint_s"] = ours_fa;
  state.counters["bart_cli_forward_adjoint_s"] = theirs;
}

BENCHMARK(BM_NufftForwardVsBart)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_NufftAdjointVsBart)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_NufftNormalVsBartForwardAdjoint)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

BENCHMARK_MAIN();
