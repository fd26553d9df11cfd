// Issue 12: `reconlab train` killed with SIGKILL at 10 random (seeded) moments loses nothing: after every kill the
// checkpoint (when one was written) loads and loss.csv has one row per epoch it holds, and the run finished by
// restarting the same command ends with weights bitwise equal to those of an uninterrupted run.
#include <gtest/gtest.h>

#include "../common/temp_dir.hpp"
#include "../common/training_files.hpp"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "reconlab/networks/trainer.hpp"
#include "reconlab/networks/unet.hpp"
#include "reconlab/subprocess.hpp"

namespace fs = std::filesystem;
namespace nw = reconlab::networks;
using reconlab::test_support::TempDir;
using reconlab::test_support::count_lines;

TEST(TrainKill, TenKillsLoseNothing) {
  TempDir dir("train_kill");
  torch::manual_seed(3);
  auto clean = torch::rand({12, 1, 32, 32});
  reconlab::test_support::save_npy_f32(dir.path / "x.npy", clean + 0.1 * torch::randn_like(clean));
  reconlab::test_support::save_npy_f32(dir.path / "y.npy", clean);
  reconlab::test_support::write_tiny_unet_json(dir.path / "unet.json");
  const int epochs = 300;  // about 8 s of training: the kills land in start-up, in epochs and in checkpoint writes
  auto command = [&](const fs::path& out) {
    return std::vector<std::string>{RECONLAB_CLI, "train", "--model", (dir.path / "unet.json").string(), "--inputs",
                                    (dir.path / "x.npy").string(), "--targets", (dir.path / "y.npy").string(),
                                    "--epochs", std::to_string(epochs), "--batch-size", "4", "--seed", "9",
                                    "--threads", "1", out.string()};
  };
  const auto straight = reconlab::run_process(command(dir.path / "straight"));
  ASSERT_EQ(straight.exit_status, 0) << straight.output;

  const fs::path out = dir.path / "killed";
  std::mt19937_64 rng(2026);
  std::uniform_int_distribution<int> delay_ms(150, 1500);
  int kills = 0;
  for (int k = 0; k < 10; ++k) {
    const auto p = reconlab::start_process(command(out));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    const bool was_running = ::kill(p.pid, SIGKILL) == 0;
    const int status = reconlab::wait_process(p);
    if (was_running && status == 128 + SIGKILL) ++kills;
    if (fs::exists(out / "checkpoint.pt")) {
      EXPECT_NO_THROW(reconlab::test_support::load_tiny_unet(out / "checkpoint.pt")) << "after kill " << k + 1;
      ASSERT_TRUE(fs::exists(out / "loss.csv"));
      const int rows = count_lines(out / "loss.csv") - 1;
      EXPECT_GE(rows, 1);
      EXPECT_LE(rows, epochs);
    }
    if (fs::exists(out / "final.pt")) break;  // the run finished before this kill
  }
  EXPECT_GE(kills, 5) << "most kills must land while training";
  const auto finish = reconlab::run_process(command(out));
  ASSERT_EQ(finish.exit_status, 0) << finish.output;
  EXPECT_EQ(count_lines(out / "loss.csv"), epochs + 1);

  auto a = reconlab::test_support::load_tiny_unet(dir.path / "straight" / "final.pt");
  auto b = reconlab::test_support::load_tiny_unet(out / "final.pt");
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}
