// `reconlab train`: the options and the --nproc launcher; the training itself runs in the networks module
// (unet_method.cpp's reconlab_train), loaded on first use like the network methods of `recon`.
#include "train_command.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "methods.hpp"
#include "reconlab/error.hpp"
#include "reconlab/subprocess.hpp"

namespace reconlab::tool {

CLI::App* add_train_command(CLI::App& app, TrainArgs& a) {
  auto* cmd = app.add_subcommand(
      "train", "train a registry network (model.json) on .npy arrays, in one process or data-parallel over several "
               "(c10d / Gloo)");
  cmd->add_option("--model", a.model,
                  "model.json: {\"architecture\": NAME, \"input\": CONVENTION, options...} as studies write it")
      ->required();
  cmd->add_option("--inputs", a.inputs, "training inputs, .npy float32 (N, C, H, W)")->required();
  cmd->add_option("--targets", a.targets, "training targets, .npy float32 (N, C', H', W') (N as --inputs)")
      ->required();
  cmd->add_option("--val-inputs", a.val_inputs, "validation inputs (same layout; optional)");
  cmd->add_option("--val-targets", a.val_targets, "validation targets (with --val-inputs)");
  cmd->add_option("--epochs", a.epochs, "epochs")->check(CLI::Range(0, 1000000))->capture_default_str();
  cmd->add_option("--batch-size", a.batch_size, "samples per optimisation step (over all processes)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--lr", a.learning_rate, "learning rate of Adam")->capture_default_str();
  cmd->add_option("--loss", a.loss, "l1 | l2 | ssim | a mix such as 0.84*ssim+0.16*l1")->capture_default_str();
  cmd->add_option("--schedule", a.schedule, "constant | step | exponential | cosine | warmup-cosine")
      ->capture_default_str();
  cmd->add_option("--seed", a.seed, "seed of the initial weights and the data order")->capture_default_str();
  cmd->add_option("--threads", a.threads, "LibTorch threads per process (0: all cores)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  cmd->add_flag("--select-best", a.select_best, "final weights from the epoch with the lowest validation loss");
  cmd->add_option("--world-size", a.world_size, "processes in the data-parallel run")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--rank", a.rank, "this process's rank, 0..world-size-1 (rank 0 writes the files)")
      ->check(CLI::Range(0, 4095))
      ->capture_default_str();
  cmd->add_option("--master", a.master, "HOST:PORT of rank 0's rendezvous (TCPStore)")->capture_default_str();
  cmd->add_option("--timeout", a.timeout, "seconds the rendezvous and each collective wait for the other ranks")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto* nproc = cmd->add_option("--nproc", a.nproc,
                                "start N local processes (ranks 0..N-1 on 127.0.0.1, a free port) and wait for them")
                    ->check(CLI::Range(1, 256));
  cmd->get_option("--world-size")->excludes(nproc);
  cmd->get_option("--rank")->excludes(nproc);
  cmd->get_option("--master")->excludes(nproc);
  cmd->add_option("OUT", a.out, "output folder: model.json, checkpoint.pt, loss.csv, final.pt")->required();
  return cmd;
}

namespace {

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released).
int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  require(fd >= 0, std::string("train --nproc: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int err = errno;
  ::close(fd);
  require(ok, std::string("train --nproc: cannot find a free port: ") + std::strerror(err));
  return ntohs(addr.sin_port);
}

}  // namespace

void run_train_command(const TrainArgs& a) {
  if (a.nproc == 0) {
    require(a.rank < a.world_size, "--rank must be < --world-size (" + std::to_string(a.world_size) + "), got " +
                                       std::to_string(a.rank));
    run_network_training(a);
    return;
  }
  // The launcher: this command line without --nproc, once per rank.
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  require(!ec, "train --nproc: cannot find this executable (/proc/self/exe): " + ec.message());
  std::vector<std::string> base{exe.string()};
  for (std::size_t i = 1; i < a.argv.size(); ++i) {
    const std::string& s = a.argv[i];
    if (s == "--nproc") {
      ++i;  // its value
      continue;
    }
    if (s.rfind("--nproc=", 0) == 0) continue;
    base.push_back(s);
  }
  const std::string master = "127.0.0.1:" + std::to_string(free_local_port());
  std::vector<StartedProcess> ranks;
  for (int r = 0; r < a.nproc; ++r) {
    auto argv = base;
    argv.insert(argv.end(), {"--world-size", std::to_string(a.nproc), "--rank", std::to_string(r), "--master", master});
    ranks.push_back(start_process(argv));
  }
  std::string failed;
  for (int r = 0; r < a.nproc; ++r) {
    const int status = wait_process(ranks[static_cast<std::size_t>(r)]);
    if (status != 0 && failed.empty())
      failed = "rank " + std::to_string(r) + " of " + std::to_string(a.nproc) + " exited with status " +
               std::to_string(status);
  }
  require(failed.empty(), "train --nproc: " + failed + " (its error is above)");
}

}  // namespace reconlab::tool
