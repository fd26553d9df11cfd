// End-to-end tests of the `reconlab` tool as a user runs it: JSON on stdout, one clear error line and a
// non-zero exit on bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../common/run_cli.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/metrics.hpp"

using namespace reconlab;
using reconlab::test_support::run_cli;
using ::testing::HasSubstr;

namespace {

std::string ref() { return shared_dir() + "/reference"; }
std::filesystem::path tmp_dir() {
  auto d = std::filesystem::temp_directory_path() / ("reconlab_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}
bool have_ref() { return std::filesystem::exists(ref() + "/manifest.json"); }

}  // namespace

TEST(Cli, MetricsMatchReferenceJson) {
  if (!have_ref()) GTEST_SKIP() << "no " << ref();
  std::ifstream in(ref() + "/manifest.json");
  const auto m = nlohmann::json::parse(in).at("metrics").at(0);
  auto r = run_cli("metrics --target " + ref() + "/knee0_gt.npy --prediction " + ref() + "/knee0_zero_filled_r4.npy");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"psnr", "ssim", "nmse", "rmse", "data_range"})
    EXPECT_NEAR(j.at(k).get<double>(), m.at(k).get<double>(), 1e-4 * std::abs(m.at(k).get<double>())) << k;
}

TEST(Cli, ZeroFilledReconReproducesReference) {
  if (!have_ref()) GTEST_SKIP() << "no " << ref();
  const auto out = (tmp_dir() / "zf.npy").string();
  auto r = run_cli("recon --method zero-filled --kspace " + ref() + "/knee0_kspace_r4.npy --mask " + ref() +
               "/knee0_mask_r4.npy " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const RArray got = io::read_npy_complex(out).abs();
  const RArray want = io::read_npy_real(ref() + "/knee0_zero_filled_r4.npy");
  EXPECT_NEAR(compute_metrics(want, got).nmse, 0.0, 1e-10);
}

TEST(Cli, MaskReportsRealAccelerationAndMatchesFastmri) {
  if (!have_ref()) GTEST_SKIP() << "no " << ref();
  const auto out = (tmp_dir() / "m.npy").string();
  auto r = run_cli("mask --type random --shape 4,256 --center-fraction 0.08 --acceleration 4 --seed 42 " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("sampled").get<int>(), 69 * 4);  // manifest: RandomMaskFunc c256 s42 samples 69 columns
  EXPECT_NEAR(j.at("acceleration").get<double>(), 256.0 / 69.0, 1e-9);
  const RArray m = io::read_npy_real(out);
  const RArray fm = io::read_npy_real(ref() + "/fastmri_RandomMaskFunc_c256_s42.npy");
  for (Index x = 0; x < 256; ++x)
    for (Index y = 0; y < 4; ++y) ASSERT_EQ(m(x, y, 0, 0, 0), fm.data()[x]) << x;
}

TEST(Cli, RofDenoisesRealImage) {
  if (!have_ref()) GTEST_SKIP() << "no " << ref();
  const auto out = (tmp_dir() / "rof.npy").string();
  auto r = run_cli("rof --weight 0.15 --iterations 3000 --eps 1e-8 " + ref() + "/knee0_rof_input.npy " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const RArray got = io::read_npy_real(out);
  const RArray want = io::read_npy_real(ref() + "/knee0_rof_w0.15.npy");
  EXPECT_LT(std::sqrt(compute_metrics(want, got).nmse), 1e-2);
}

TEST(Cli, BadInputGivesOneClearLineAndNonZeroExit) {
  const auto d = tmp_dir();
  {
    std::ofstream f(d / "garbage.npy");
    f << "not a numpy file at all";
  }
  struct Case {
    std::string args, expect;
  };
  std::vector<Case> cases = {
      {"metrics --target /nonexistent.npy --prediction /nonexistent.npy", "missing"},
      {"metrics --target " + (d / "garbage.npy").string() + " --prediction " + (d / "garbage.npy").string(), "npy"},
      {"mask --type random --shape 12 --acceleration 4 " + (d / "x.npy").string(), "--shape"},
      {"mask --type random --shape 64,64 --acceleration 0.5 " + (d / "x.npy").string(), "acceleration"},
      {"recon --method unet --kspace /nonexistent.npy --mask /nonexistent.npy " + (d / "x.npy").string(), "missing"},
  };
  if (have_ref()) {
    cases.push_back({"recon --method zero-filled --kspace " + ref() + "/knee0_kspace_r4.npy --mask " + ref() +
                         "/fastmri_RandomMaskFunc_c368_s0.npy " + (d / "x.npy").string(),
                     "mask"});
    cases.push_back({"metrics --target " + ref() + "/knee0_gt.npy --prediction " + ref() +
                         "/knee0_mask_r4.npy",
                     "differ"});
  }
  for (const auto& c : cases) {
    auto r = run_cli(c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_THAT(r.out, HasSubstr(c.expect)) << c.args;
    EXPECT_THAT(r.out, HasSubstr("error")) << c.args;
  }
}

TEST(Cli, NanInKspaceIsRejected) {
  const auto d = tmp_dir();
  CArray k(16, 16, 1, 1, 1);
  k.setConstant(cfloat(1, 0));
  k(3, 4, 0, 0, 0) = cfloat(std::nanf(""), 0);
  RArray m(16, 16, 1, 1, 1);
  m.setConstant(1.f);
  io::write_npy((d / "k.npy").string(), k);
  io::write_npy((d / "m.npy").string(), m);
  auto r = run_cli("recon --method zero-filled --kspace " + (d / "k.npy").string() + " --mask " +
               (d / "m.npy").string() + " " + (d / "x.npy").string());
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("non-finite"));
  m.setZero();
  k.setConstant(cfloat(1, 0));
  io::write_npy((d / "k.npy").string(), k);
  io::write_npy((d / "m.npy").string(), m);
  r = run_cli("recon --method zero-filled --kspace " + (d / "k.npy").string() + " --mask " + (d / "m.npy").string() +
          " " + (d / "x.npy").string());
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("empty"));
}
