#include "traj_command.hpp"

#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "reconlab/io/cfl.hpp"
#include "reconlab/io/npy.hpp"

namespace reconlab::tool {

CLI::App* add_traj_command(CLI::App& app, TrajArgs& a) {
  auto* cmd = app.add_subcommand("traj", "radial / golden-angle k-space trajectories (as bart traj -r)");
  cmd->add_option("-x,--samples", a.radial.samples, "readout samples per spoke before oversampling (bart -x)")
      ->capture_default_str();
  cmd->add_option("-y,--spokes", a.radial.spokes, "spokes per frame (bart -y)")->capture_default_str();
  cmd->add_option("--frames", a.radial.frames, "frames (bart -t for turns; golden angles continue across frames)")
      ->capture_default_str();
  cmd->add_option("-t,--turns", a.radial.turns, "frames with interleaved spokes (bart -t), uniform order")
      ->capture_default_str();
  cmd->add_option("-o,--oversampling", a.radial.readout_oversampling, "readout oversampling (bart -o)")
      ->capture_default_str();
  cmd->add_flag("-G,--golden", a.golden, "golden-angle increments, 111.246 degrees (bart -G)");
  cmd->add_option("-s,--tiny", a.tiny, "tiny golden angle of index m >= 2, with --golden (bart -s)");
  cmd->add_option("output", a.output, "output .cfl/.hdr base name, or a .npy file")->required();
  return cmd;
}

void run_traj_command(const TrajArgs& a) {
  RadialOptions o = a.radial;
  require(a.tiny == 0 || a.golden, "traj: --tiny needs --golden (as bart traj -s needs -G)");
  if (a.golden) {
    o.order = a.tiny > 0 ? RadialOrder::tiny_golden : RadialOrder::golden;
    if (a.tiny > 0) o.tiny_index = a.tiny;
  }
  // BART's -t both interleaves and counts frames; here --turns without --frames gives that many frames.
  if (!a.golden && o.turns > 1 && o.frames == 1) o.frames = o.turns;
  const RArray t = radial_trajectory(o);
  const Index S = t.dimension(1), Y = t.dimension(2), T = t.dimension(3);
  const bool npy = a.output.size() > 4 && a.output.substr(a.output.size() - 4) == ".npy";
  if (npy) {
    RArray out(3, S, Y, T, 1);
    out.setZero();
    for (Index i = 0; i < t.size() / 2; ++i) out.data()[3 * i] = t.data()[2 * i], out.data()[3 * i + 1] = t.data()[2 * i + 1];
    io::write_npy(a.output, out, {T, Y, S, 3});
  } else {
    std::vector<cfloat> data(std::size_t(3 * S * Y * T));
    for (Index i = 0; i < t.size() / 2; ++i)
      data[std::size_t(3 * i)] = t.data()[2 * i], data[std::size_t(3 * i + 1)] = t.data()[2 * i + 1];
    io::write_cfl_raw(a.output, {3, long(S), long(Y), 1, 1, 1, 1, 1, 1, 1, long(T)}, data);
  }
  std::cout << nlohmann::json{{"trajectory", a.golden ? (a.tiny > 0 ? "tiny golden angle" : "golden angle") : "radial"},
                              {"samples", S}, {"spokes", Y}, {"frames", T}, {"output", a.output}}
                   .dump()
            << "\n";
}

}  // namespace reconlab::tool
