#include "nufft_command.hpp"

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "reconlab/io/array_file.hpp"
#include "reconlab/io/noncartesian.hpp"
#include "reconlab/solvers/cg_sense.hpp"

namespace reconlab::tool {

CLI::App* add_nufft_command(CLI::App& app, NufftArgs& a) {
  auto* cmd = app.add_subcommand("nufft", "non-uniform FFT on a trajectory (as bart nufft): forward, adjoint, inverse");
  cmd->add_flag("-a,--adjoint", a.adjoint, "adjoint NUFFT: samples -> image (bart nufft -a)");
  cmd->add_flag("-i,--inverse", a.inverse,
                "inverse NUFFT: argmin ||A x - y||^2 + lambda ||x||^2 by CG on the Toeplitz normal (bart nufft -i)");
  cmd->add_option("-d,--shape", a.shape,
                  "NY,NX image grid for --adjoint / --inverse (default: 2 ceil(max |k|) per axis, as bart estdims)");
  cmd->add_option("--width", a.nufft.width, "Kaiser-Bessel kernel width, 4 to 6")->capture_default_str();
  cmd->add_option("--oversampling", a.nufft.oversampling, "grid oversampling, 1.25 to 2")->capture_default_str();
  cmd->add_option("--iterations", a.iterations, "--inverse: CG iteration cap")->capture_default_str();
  cmd->add_option("--tolerance", a.tolerance, "--inverse: stop at relative residual ||r|| / ||A^H y||")
      ->capture_default_str();
  cmd->add_option("-l,--lambda", a.lambda, "--inverse: l2 (Tikhonov) weight (bart nufft -l)")->capture_default_str();
  cmd->add_option("traj", a.traj, "trajectory: BART [3, samples, spokes, ..., frames in dim 10] or .npy (frames, "
                                  "spokes, samples, 3), cycles per FOV")
      ->required();
  cmd->add_option("input", a.input, "image (forward) or samples (adjoint, inverse): .cfl/.hdr or .npy")->required();
  cmd->add_option("output", a.output, "samples (forward) or image: .cfl/.hdr or .npy")->required();
  return cmd;
}

namespace {
std::pair<Index, Index> parse_ny_nx(const std::string& s) {
  std::stringstream ss(s);
  std::string a, b, extra;
  auto num = [&](const std::string& t) -> Index {
    try {
      std::size_t used = 0;
      const long long v = std::stoll(t, &used);
      if (used == t.size() && v >= 2) return Index(v);
    } catch (...) {
    }
    throw Error("nufft: --shape must be NY,NX with integers >= 2, got '" + s + "'");
  };
  if (!std::getline(ss, a, ',') || !std::getline(ss, b, ',') || std::getline(ss, extra, ','))
    throw Error("nufft: --shape must be NY,NX, got '" + s + "'");
  const Index ny = num(a), nx = num(b);
  return {nx, ny};
}
}  // namespace

void run_nufft_command(const NufftArgs& a) {
  require(!(a.adjoint && a.inverse), "nufft: --adjoint and --inverse exclude each other");
  require(a.iterations >= 1, "nufft: --iterations must be >= 1");
  require(a.tolerance >= 0 && a.lambda >= 0, "nufft: --tolerance and --lambda must be >= 0");
  RArray coords = io::read_trajectory(a.traj);
  nlohmann::json info{{"operation", a.adjoint ? "adjoint" : a.inverse ? "inverse" : "forward"}};
  if (!a.adjoint && !a.inverse) {
    require(a.shape.empty(), "nufft: --shape applies to --adjoint and --inverse (the forward takes the image's size)");
    const CArray x = io::read_array(a.input);
    const Dims d = dims_of(x);
    require(d[4] == 1, "nufft: the image has a batch dim " + std::to_string(d[4]) + "; expected (nx, ny, coils, frames)");
    coords = trajectory_for_frames(coords, d[3]);
    const Nufft A(coords, d[0], d[1], a.nufft);
    const CArray y = A.apply(x);
    io::write_noncartesian(a.output, y);
    info["image"] = {d[1], d[0]}, info["samples"] = dims_string(dims_of(y));
  } else {
    const CArray y = io::read_noncartesian(a.input);
    const Dims d = dims_of(y);
    require(coords.dimension(1) == d[0] && coords.dimension(2) == d[1],
            "nufft: the samples " + dims_string(d) + " do not fit the trajectory's " +
                std::to_string(coords.dimension(1)) + " samples x " + std::to_string(coords.dimension(2)) + " spokes");
    coords = trajectory_for_frames(coords, d[3]);
    const auto [nx, ny] = a.shape.empty() ? io::estimate_image_dims(coords) : parse_ny_nx(a.shape);
    const Nufft A(coords, nx, ny, a.nufft);
    CArray x;
    if (a.adjoint) {
      x = A.adjoint(y);
    } else {
      solvers::SolverStatus st;
      x = solvers::cg_least_squares<EigenFftw>(
          A, y, {.iterations = a.iterations, .lambda = a.lambda, .tolerance = a.tolerance}, &st);
      info["iterations"] = st.iterations, info["converged"] = st.converged;
      info["relative_residual"] = st.objective.empty() ? 0.0 : st.objective.back();
      info["lambda"] = a.lambda;
    }
    io::write_array(a.output, x);
    info["image"] = {ny, nx}, info["samples"] = dims_string(d);
  }
  info["width"] = a.nufft.width, info["oversampling"] = a.nufft.oversampling, info["output"] = a.output;
  std::cout << info.dump() << "\n";
}

}  // namespace reconlab::tool
