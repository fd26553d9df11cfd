// Tests of data-parallel training (networks/distributed.hpp, the trainer's process group, `reconlab train`):
// each epoch's shards are disjoint and cover it; two processes on the loopback address end with the weights of one
// process trained on the combined batch (and not with those of one process on a rank's half batch); a two-process
// run resumes on two processes and is refused on one; a rank that never comes or is killed makes the other fail
// with a clear error within its timeout instead of hanging.
#include <gtest/gtest.h>

#include "../common/temp_dir.hpp"
#include "../common/training_files.hpp"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "reconlab/networks/distributed.hpp"
#include "reconlab/networks/trainer.hpp"
#include "reconlab/networks/unet.hpp"
#include "reconlab/subprocess.hpp"

namespace fs = std::filesystem;
namespace nw = reconlab::networks;
using reconlab::test_support::TempDir;

namespace {

/// A denoising set: n smooth 32 x 32 images and noisy copies, in `dir` as x.npy / y.npy, and the U-Net's
/// model.json (no dropout, instance norm: no per-rank batch statistics).
void write_training_files(const fs::path& dir, int64_t n) {
  torch::manual_seed(11);
  auto coarse = torch::rand({n, 1, 4, 4});
  auto clean = torch::nn::functional::interpolate(
      coarse, torch::nn::functional::InterpolateFuncOptions()
                  .size(std::vector<int64_t>{32, 32})
                  .mode(torch::kBilinear)
                  .align_corners(false));
  reconlab::test_support::save_npy_f32(dir / "x.npy", clean + 0.1 * torch::randn_like(clean));
  reconlab::test_support::save_npy_f32(dir / "y.npy", clean);
  reconlab::test_support::write_tiny_unet_json(dir / "unet.json");
}

std::vector<std::string> train_command(const fs::path& dir, const fs::path& out, int epochs, int batch_size) {
  return {RECONLAB_CLI,  "train",       "--model",   (dir / "unet.json").string(), "--inputs",
          (dir / "x.npy").string(), "--targets", (dir / "y.npy").string(), "--epochs", std::to_string(epochs),
          "--batch-size", std::to_string(batch_size), "--lr", "3e-3", "--seed", "5", "--threads", "1",
          out.string()};
}

reconlab::ProcessResult run(std::vector<std::string> argv, const std::vector<std::string>& extra = {}) {
  argv.insert(argv.end(), extra.begin(), extra.end());
  return reconlab::run_process(argv);
}

/// max |a - b| over all parameters, divided by max |a|.
double relative_difference(nw::Unet& a, nw::Unet& b) {
  auto pa = a->parameters(), pb = b->parameters();
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    diff = std::max(diff, (pa[i] - pb[i]).abs().max().item<double>());
    scale = std::max(scale, pa[i].abs().max().item<double>());
  }
  return diff / scale;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(Distributed, ShardsAreDisjointAndCoverEveryEpoch) {
  for (int64_t n : {1, 2, 5, 10, 23})
    for (int64_t batch : {1, 2, 3, 4, 7})
      for (int world : {1, 2, 3, 4}) {
        std::vector<int> seen(static_cast<std::size_t>(n), 0);
        for (int64_t b0 = 0; b0 < n; b0 += batch) {
          const int64_t b1 = std::min(b0 + batch, n);
          int64_t smallest = b1 - b0, largest = 0, next = b0;
          for (int r = 0; r < world; ++r) {
            const auto [s0, s1] = nw::shard_range(b0, b1, r, world);
            EXPECT_EQ(s0, next) << "ranks' parts follow each other";  // contiguous, in rank order
            for (int64_t i = s0; i < s1; ++i) ++seen[static_cast<std::size_t>(i)];
            smallest = std::min(smallest, s1 - s0);
            largest = std::max(largest, s1 - s0);
            next = s1;
          }
          EXPECT_EQ(next, b1);
          EXPECT_LE(largest - smallest, 1) << "n " << n << " batch " << batch << " world " << world;
        }
        for (int64_t i = 0; i < n; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], 1) << "sample " << i;
      }
  EXPECT_THROW(nw::shard_range(0, 4, 2, 2), reconlab::Error);
  EXPECT_THROW(nw::shard_range(4, 0, 0, 2), reconlab::Error);
  EXPECT_THROW(nw::parse_master("localhost"), reconlab::Error);
  EXPECT_THROW(nw::parse_master("localhost:70000"), reconlab::Error);
  EXPECT_THROW(nw::parse_master(":29500"), reconlab::Error);
  EXPECT_EQ(nw::parse_master("10.0.0.2:1234").second, 1234);
}

TEST(Distributed, TwoProcessesMatchOneProcessOnTheCombinedBatch) {
  TempDir dir("distributed");
  write_training_files(dir.path, 10);  // batches 4, 4, 2: the last one split 1 + 1
  const auto one = run(train_command(dir.path, dir.path / "one", 3, 4));
  ASSERT_EQ(one.exit_status, 0) << one.output;
  const auto two = run(train_command(dir.path, dir.path / "two", 3, 4), {"--nproc", "2"});
  ASSERT_EQ(two.exit_status, 0) << two.output;
  EXPECT_NE(two.output.find("\"world_size\":2"), std::string::npos) << two.output;
  // The same model trained by one process on each rank's half batch: the weights an all-reduce that did not
  // combine the ranks' gradients correctly would approach.
  const auto half = run(train_command(dir.path, dir.path / "half", 3, 2));
  ASSERT_EQ(half.exit_status, 0) << half.output;

  auto w_one = reconlab::test_support::load_tiny_unet(dir.path / "one" / "final.pt");
  auto w_two = reconlab::test_support::load_tiny_unet(dir.path / "two" / "final.pt");
  auto w_half = reconlab::test_support::load_tiny_unet(dir.path / "half" / "final.pt");
  const double d_two = relative_difference(w_one, w_two), d_half = relative_difference(w_one, w_half);
  EXPECT_LT(d_two, 1e-4) << "2 processes vs 1 process on the combined batch";
  EXPECT_GT(d_half, 100 * d_two) << "half batches give other weights (" << d_half << ")";
  EXPECT_GT(d_half, 1e-3);

  // Rank 0 alone wrote the files; the losses per epoch agree with one process's.
  for (const char* f : {"checkpoint.pt", "loss.csv", "final.pt", "model.json"})
    EXPECT_TRUE(fs::exists(dir.path / "two" / f)) << f;
  std::ifstream a(dir.path / "one" / "loss.csv"), b(dir.path / "two" / "loss.csv");
  std::string la, lb;
  std::getline(a, la), std::getline(b, lb);
  for (int e = 0; e < 3; ++e) {
    ASSERT_TRUE(std::getline(a, la) && std::getline(b, lb));
    const double ta = std::stod(la.substr(la.find(',') + 1)), tb = std::stod(lb.substr(lb.find(',') + 1));
    EXPECT_NEAR(ta, tb, 1e-5 * ta) << "epoch " << e + 1;
  }
}

TEST(Distributed, ResumesOnTheSameWorldSizeOnly) {
  TempDir dir("distributed_resume");
  write_training_files(dir.path, 8);
  const auto straight = run(train_command(dir.path, dir.path / "straight", 3, 4), {"--nproc", "2"});
  ASSERT_EQ(straight.exit_status, 0) << straight.output;
  const auto first = run(train_command(dir.path, dir.path / "resumed", 1, 4), {"--nproc", "2"});
  ASSERT_EQ(first.exit_status, 0) << first.output;
  // The checkpoint of two processes is refused by one.
  const auto single = run(train_command(dir.path, dir.path / "resumed", 3, 4));
  EXPECT_NE(single.exit_status, 0);
  EXPECT_NE(single.output.find("world size 2"), std::string::npos) << single.output;
  const auto rest = run(train_command(dir.path, dir.path / "resumed", 3, 4), {"--nproc", "2"});
  ASSERT_EQ(rest.exit_status, 0) << rest.output;
  EXPECT_NE(rest.output.find("\"resumed\":true"), std::string::npos) << rest.output;
  auto a = reconlab::test_support::load_tiny_unet(dir.path / "straight" / "final.pt");
  auto b = reconlab::test_support::load_tiny_unet(dir.path / "resumed" / "final.pt");
  EXPECT_LT(relative_difference(a, b), 1e-6);
}

TEST(Distributed, BatchesSmallerThanTheWorldAreRefused) {
  TempDir dir("distributed_batch");
  write_training_files(dir.path, 9);  // batch 4: the last batch has 1 sample for 2 ranks
  const auto r = run(train_command(dir.path, dir.path / "out", 1, 4), {"--nproc", "2"});
  EXPECT_NE(r.exit_status, 0);
  EXPECT_NE(r.output.find("every batch needs at least 2 samples"), std::string::npos) << r.output;
}

TEST(Distributed, ARankThatNeverComesFailsTheOthers) {
  TempDir dir("distributed_absent");
  write_training_files(dir.path, 8);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run(train_command(dir.path, dir.path / "out", 1, 4),
                     {"--world-size", "2", "--rank", "0", "--master", "127.0.0.1:29533", "--timeout", "3"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(r.exit_status, 0);
  EXPECT_NE(r.output.find("could not join the group"), std::string::npos) << r.output;
  EXPECT_LT(seconds, 60.0);
}

TEST(Distributed, AKilledRankFailsTheOthers) {
  TempDir dir("distributed_killed");
  write_training_files(dir.path, 8);
  const auto base = train_command(dir.path, dir.path / "out", 100000, 4);
  const std::vector<std::string> group{"--world-size", "2", "--master", "127.0.0.1:29534", "--timeout", "20"};
  auto rank_args = [&](int r) {
    auto a = base;
    a.insert(a.end(), group.begin(), group.end());
    a.insert(a.end(), {"--rank", std::to_string(r)});
    return a;
  };
  reconlab::ProcessResult rank0;
  std::thread t([&] {
    reconlab::ProcessOptions po;
    po.output_file = dir.path / "rank0.log";
    rank0 = reconlab::run_process(rank_args(0), po);
  });
  const auto rank1 = reconlab::start_process(rank_args(1));
  // Both train (rank 0 has written a checkpoint), then rank 1 dies.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(dir.path / "out" / "checkpoint.pt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(dir.path / "out" / "checkpoint.pt"));
  const auto killed_at = std::chrono::steady_clock::now();
  ::kill(rank1.pid, SIGKILL);
  EXPECT_EQ(reconlab::wait_process(rank1), 128 + SIGKILL);
  t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_NE(rank0.exit_status, 0);
  const std::string log = read_text(dir.path / "rank0.log");
  EXPECT_NE(log.find("distributed: rank 0 of 2"), std::string::npos) << log;
  EXPECT_LT(seconds, 60.0) << "rank 0 must fail within its 20 s timeout, not hang";
  // What rank 0 wrote stays readable.
  auto w = reconlab::test_support::load_tiny_unet(dir.path / "out" / "checkpoint.pt");
  EXPECT_GT(w->parameters().size(), 0u);
}
