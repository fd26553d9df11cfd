// `reconlab traj` as a user runs it, against `bart traj` on the same options.
#include <gtest/gtest.h>

#include <cmath>

#include "../common/run_cli.hpp"
#include "../common/temp_dir.hpp"
#include "reconlab/io/cfl.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/subprocess.hpp"

using namespace reconlab;
using namespace reconlab::test_support;


TEST(TrajCli, WritesWhatBartTrajWrites) {
  if (!bart_on_path()) GTEST_SKIP() << "bart not installed";
  TempDir dir("traj_cli");
  for (const std::string opts : {"-x 32 -y 7", "-x 16 -y 4 -t 3", "-x 16 -y 5 -o 2", "-x 16 -y 9 -G",
                                 "-x 16 -y 9 -G -s 5"}) {
    SCOPED_TRACE(opts);
    const std::string ours = (dir.path / "ours").string(), theirs = (dir.path / "theirs").string();
    const auto r = run_cli("traj " + opts + " " + ours);
    ASSERT_EQ(r.status, 0) << r.out;
    std::vector<std::string> argv{"bart", "traj", "-r"};
    std::istringstream in(opts);
    for (std::string w; in >> w;) argv.push_back(w);
    argv.push_back(theirs);
    ASSERT_EQ(run_process(argv).exit_status, 0);
    const io::CflRaw a = io::read_cfl_raw(ours), b = io::read_cfl_raw(theirs);
    ASSERT_EQ(a.data.size(), b.data.size());
    long prod_a = 1, prod_b = 1;
    for (long d : a.dims) prod_a *= d;
    for (long d : b.dims) prod_b *= d;
    ASSERT_EQ(prod_a, prod_b);
    for (std::size_t i = 0; i < a.data.size(); ++i)
      ASSERT_NEAR(std::abs(a.data[i] - b.data[i]), 0.0, 1e-4) << "element " << i;
  }
}

TEST(TrajCli, NpyOutputAndBadOptions) {
  TempDir dir("traj_cli_npy");
  const std::string p = (dir.path / "t.npy").string();
  const auto r = run_cli("traj -x 8 -y 3 " + p);
  ASSERT_EQ(r.status, 0) << r.out;
  const io::NpyArray a = io::read_npy(p);
  EXPECT_EQ(a.shape, (std::vector<Index>{1, 3, 8, 3}));
  EXPECT_NE(run_cli("traj -x 1 -y 3 " + p).status, 0);
  const auto bad = run_cli("traj -x 8 -y 3 -s 3 " + p);
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("--tiny needs --golden"), std::string::npos) << bad.out;
}
