#pragma once
/// @file train_command.hpp
/// `reconlab train`: trains a registry network (networks/registry.hpp; any "architecture" whose model.json input is
/// an image-domain or packed k-space tensor) on arrays in .npy files through the one trainer (trainer.hpp), in one
/// process or data-parallel over several (distributed.hpp: --world-size/--rank/--master per process, or --nproc N
/// to start N local processes). Writes model.json, checkpoint.pt, loss.csv and final.pt into OUT, so that
/// `reconlab recon --method NAME --weights OUT/final.pt` uses the result and an interrupted run resumes.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace reconlab::tool {

/// The parsed options of `reconlab train` (see add_train_command for their meaning).
struct TrainArgs {
  std::string model;                       ///< model.json (architecture, options, input convention)
  std::string inputs, targets;             ///< .npy float32 (N, C, H, W) and (N, C', H', W')
  std::string val_inputs, val_targets;     ///< optional validation arrays, same layouts
  std::string out;                         ///< output folder
  int epochs = 10;
  int batch_size = 4;
  double learning_rate = 1e-3;
  std::string loss = "l1";
  std::string schedule = "constant";
  uint64_t seed = 0;
  int threads = 0;
  bool select_best = false;
  int world_size = 1;
  int rank = 0;
  std::string master = "127.0.0.1:29500";
  double timeout = 120.0;
  int nproc = 0;                           ///< > 0: start this many local processes (the launcher)
  std::vector<std::string> argv;           ///< the command line, for the launcher
};

/// Adds the `train` subcommand to `app`, filling `args` when parsed.
CLI::App* add_train_command(CLI::App& app, TrainArgs& args);

/// Runs `reconlab train`: with --nproc N, starts N copies of this executable with --world-size N, --rank 0..N-1 and
/// --master 127.0.0.1:PORT (a free port) and waits for them, throwing Error naming the first rank that failed;
/// otherwise trains in this process through the networks module. Throws Error for invalid options, unreadable
/// arrays, a model.json the registry refuses, and everything networks::train throws.
void run_train_command(const TrainArgs& args);

}  // namespace reconlab::tool
