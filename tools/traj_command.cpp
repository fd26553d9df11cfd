#include "traj_command.hpp"

#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "reconlab/io/noncartesian.hpp"

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
  io::write_trajectory(a.output, t);
  std::cout << nlohmann::json{{"trajectory", a.golden ? (a.tiny > 0 ? "tiny golden angle" : "golden angle") : "radial"},
                              {"samples", S}, {"spokes", Y}, {"frames", T}, {"output", a.output}}
                   .dump()
            << "\n";
}

}  // namespace reconlab::tool
