// End-to-end tests of the `reconlab` tool as a user runs it: JSON on stdout, one clear error line and a
// non-zero exit on bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "../common/run_cli.hpp"
#include "reconlab/backends/eigen_fftw.hpp"
#include "reconlab/io/nifti.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/io/png.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/random.hpp"

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
  auto r = run_cli("rof --weight 0.15 " + ref() + "/knee0_rof_input.npy " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"converged\":true"), std::string::npos) << r.out;
  const RArray got = io::read_npy_real(out);
  const RArray want = io::read_npy_real(ref() + "/knee0_rof_w0.15.npy");
  EXPECT_LT(std::sqrt(compute_metrics(want, got).nmse), 1e-2);
}

// Issue 7: a real image in scanner units of 1e-5 (weight scaled with it) must reach the same minimiser, scaled:
// the tool stops on the duality gap, not on an iteration count that suits images of max ~1.
TEST(Cli, RofReachesTheMinimiserOnAnImageScaledTo1e5) {
  if (!have_ref()) GTEST_SKIP() << "no " << ref();
  const RArray f = io::read_npy_real(ref() + "/knee0_rof_input.npy");
  const auto in = (tmp_dir() / "rof_small.npy").string(), out = (tmp_dir() / "rof_small_out.npy").string();
  io::write_npy(in, RArray(f * 1e-5f));
  auto r = run_cli("rof --weight 1.5e-6 " + in + " " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"converged\":true"), std::string::npos) << r.out;
  const RArray got = io::read_npy_real(out);
  const RArray want = io::read_npy_real(ref() + "/knee0_rof_w0.15.npy");
  EXPECT_LT(std::sqrt(compute_metrics(RArray(want * 1e-5f), got, 1e-5 * 1.0).nmse), 1e-2);
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
#ifdef RECONLAB_WITH_NETWORKS
      {"recon --method unet --kspace /nonexistent.npy --mask /nonexistent.npy " + (d / "x.npy").string(), "missing"},
#else  // a CLI built without LibTorch refuses network methods by name
      {"recon --method unet --kspace /nonexistent.npy --mask /nonexistent.npy " + (d / "x.npy").string(), "unet not in"},
#endif
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

namespace {

/// A .npy file (format 1.0) with header dict `dict` (given verbatim, so it may hold any bytes) and raw data.
void write_raw_npy(const std::filesystem::path& p, const std::string& dict, const std::string& data = "") {
  std::string h = dict;
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::ofstream out(p, std::ios::binary);
  out << "\x93NUMPY" << char(1) << char(0) << char(h.size() & 0xff) << char(h.size() >> 8) << h << data;
}

/// Checks the CLI error contract: exit 1 and exactly one line "reconlab: error: ..." (stdout + stderr together),
/// holding only printable ASCII.
void expect_one_error_line(const reconlab::test_support::CliRun& r, const std::string& args) {
  EXPECT_EQ(r.status, 1) << args << "\n" << r.out;
  EXPECT_EQ(r.out.rfind("reconlab: error: ", 0), 0u) << args << "\n" << r.out;
  ASSERT_FALSE(r.out.empty()) << args;
  EXPECT_EQ(r.out.back(), '\n') << args;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << "\n" << r.out;
  for (std::size_t i = 0; i + 1 < r.out.size(); ++i) {
    const auto c = static_cast<unsigned char>(r.out[i]);
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << args << ": byte " << int(c) << " at " << i << " in " << r.out;
  }
}

/// Real 64 x 64 test image with negative values (min about -0.7, max about 1.3) and a noisy copy (N(0, 0.1^2)).
std::pair<RArray, RArray> signed_pair() {
  RArray t(64, 64, 1, 1, 1), p(64, 64, 1, 1, 1);
  Random rng(11);
  for (Index y = 0; y < 64; ++y)
    for (Index x = 0; x < 64; ++x) {
      t(x, y, 0, 0, 0) = float(std::sin(x / 5.0) * std::cos(y / 7.0) + 0.3);
      p(x, y, 0, 0, 0) = t(x, y, 0, 0, 0) + float(rng.normal(0.0, 0.1));
    }
  return {t, p};
}

/// PSNR by its definition, 10 log10(range^2 / MSE) with range = max(target), in double.
double psnr_by_hand(const RArray& t, const RArray& p) {
  double se = 0, mx = -1e300;
  for (Index i = 0; i < t.size(); ++i) {
    const double d = double(t.data()[i]) - double(p.data()[i]);
    se += d * d;
    mx = std::max(mx, double(t.data()[i]));
  }
  return 10.0 * std::log10(mx * mx / (se / double(t.size())));
}

std::string python_with_skimage() {
  for (std::string py : {"/usr/bin/python3", "python3"}) {
    const std::string cmd = py + " -c 'import skimage.metrics' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

}  // namespace

// A real image with negative values is measured as given (the magnitude would change it): PSNR from its definition.
TEST(Cli, MetricsMeasureRealImagesWithNegativesAsGiven) {
  const auto d = tmp_dir();
  const auto [t, p] = signed_pair();
  io::write_npy((d / "t.npy").string(), t);
  io::write_npy((d / "p.npy").string(), p);
  auto r = run_cli("metrics --target " + (d / "t.npy").string() + " --prediction " + (d / "p.npy").string());
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  const double want = psnr_by_hand(t, p);
  EXPECT_NEAR(j.at("psnr").get<double>(), want, 1e-9 * want);
  RArray ta = t.abs(), pa = p.abs();
  EXPECT_GT(std::abs(want - psnr_by_hand(ta, pa)), 0.1);  // the magnitude would give another answer
  float mx = t.data()[0];
  for (Index i = 0; i < t.size(); ++i) mx = std::max(mx, t.data()[i]);
  EXPECT_NEAR(j.at("data_range").get<double>(), mx, 1e-12);

  // Complex inputs are measured by magnitude: t and p with phases.
  CArray tc(64, 64, 1, 1, 1), pc(64, 64, 1, 1, 1);
  for (Index i = 0; i < t.size(); ++i) {
    tc.data()[i] = std::polar(std::abs(t.data()[i]), 0.01f * float(i));
    pc.data()[i] = std::polar(std::abs(p.data()[i]), -0.02f * float(i));
  }
  io::write_npy((d / "tc.npy").string(), tc);
  io::write_npy((d / "pc.npy").string(), pc);
  r = run_cli("metrics --target " + (d / "tc.npy").string() + " --prediction " + (d / "pc.npy").string());
  ASSERT_EQ(r.status, 0) << r.out;
  RArray tca = tc.abs(), pca = pc.abs();
  const double want_c = psnr_by_hand(tca, pca);
  EXPECT_NEAR(nlohmann::json::parse(r.out).at("psnr").get<double>(), want_c, 1e-9 * want_c);
}

// The same images measured by scikit-image itself (Debian python3-skimage 0.19.3), in float64.
TEST(Cli, MetricsOfRealImageWithNegativesMatchScikitImage) {
  const std::string py = python_with_skimage();
  if (py.empty()) GTEST_SKIP() << "python3 with scikit-image is not available (apt-get install python3-skimage)";
  const auto d = tmp_dir();
  const auto [t, p] = signed_pair();
  io::write_npy((d / "st.npy").string(), t);
  io::write_npy((d / "sp.npy").string(), p);
  const std::string script =
      "import json, sys, numpy as np\n"
      "from skimage.metrics import peak_signal_noise_ratio, structural_similarity\n"
      "t = np.load(sys.argv[1]).astype(np.float64); p = np.load(sys.argv[2]).astype(np.float64)\n"
      "r = t.max()\n"
      "print(json.dumps({'psnr': peak_signal_noise_ratio(t, p, data_range=r), "
      "'ssim': structural_similarity(t, p, data_range=r)}))\n";
  {
    std::ofstream out(d / "sk.py");
    out << script;
  }
  const std::string cmd = py + " " + (d / "sk.py").string() + " " + (d / "st.npy").string() + " " +
                          (d / "sp.npy").string();
  std::string ref_out;
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), f)) ref_out += buf.data();
  ASSERT_EQ(pclose(f), 0) << ref_out;
  const auto want = nlohmann::json::parse(ref_out);
  auto r = run_cli("metrics --target " + (d / "st.npy").string() + " --prediction " + (d / "sp.npy").string());
  ASSERT_EQ(r.status, 0) << r.out;
  const auto got = nlohmann::json::parse(r.out);
  EXPECT_NEAR(got.at("psnr").get<double>(), want.at("psnr").get<double>(), 1e-9 * want.at("psnr").get<double>());
  EXPECT_NEAR(got.at("ssim").get<double>(), want.at("ssim").get<double>(), 1e-9);
}

// Mask values are checked before anything is binarised: the error names the file, the value and its index.
TEST(Cli, MaskValuesOtherThanZeroAndOneAreRejected) {
  const auto d = tmp_dir();
  CArray k(16, 12, 1, 1, 1);
  Random rng(3);
  for (Index i = 0; i < k.size(); ++i) k.data()[i] = rng.complex_normal();
  const std::string kp = (d / "mk.npy").string();
  io::write_npy(kp, k);
  auto plane = [](float fill) {
    RArray m(16, 12, 1, 1, 1);
    m.setConstant(fill);
    return m;
  };
  struct Case {
    std::string name;
    RArray mask;
    std::vector<std::string> expect;
  };
  std::vector<Case> cases;
  {
    RArray m = plane(1.f);  // a -1/1 mask: -1 at (y, x) = (2, 7) first
    m(7, 2, 0, 0, 0) = -1.f;
    m(9, 5, 0, 0, 0) = -1.f;
    cases.push_back({"neg.npy", m, {"value -1 at index (2, 7)", "negative"}});
  }
  {
    RArray m = plane(0.f);  // a 0/2 mask
    m(9, 5, 0, 0, 0) = 2.f;
    cases.push_back({"two.npy", m, {"value 2 at index (5, 9)", "only 0 and 1"}});
  }
  {
    RArray m = plane(1.f);
    m(1, 1, 0, 0, 0) = std::nanf("");
    cases.push_back({"nan.npy", m, {"value nan at index (1, 1)", "non-finite"}});
  }
  {
    RArray m = plane(0.f);
    m(4, 3, 0, 0, 0) = std::numeric_limits<float>::infinity();
    cases.push_back({"inf.npy", m, {"value inf at index (3, 4)", "non-finite"}});
  }
  {
    RArray m(16, 1, 1, 1, 1);  // a column mask (nx) with a weight
    m.setConstant(1.f);
    m(4, 0, 0, 0, 0) = 0.5f;
    cases.push_back({"col.npy", m, {"value 0.5 at index (4)"}});
  }
  for (const auto& c : cases) {
    const std::string mp = (d / c.name).string();
    io::write_npy(mp, c.mask);
    const std::string args = "recon --method zero-filled --kspace " + kp + " --mask " + mp + " " +
                             (d / "mx.npy").string();
    const auto r = run_cli(args);
    expect_one_error_line(r, args);
    EXPECT_THAT(r.out, HasSubstr("mask " + mp + ": value")) << args;
    for (const auto& e : c.expect) EXPECT_THAT(r.out, HasSubstr(e)) << args;
  }
  // The k-space itself given as the mask: complex values are rejected.
  const std::string args =
      "recon --method zero-filled --kspace " + kp + " --mask " + kp + " " + (d / "mx.npy").string();
  auto r = run_cli(args);
  expect_one_error_line(r, args);
  EXPECT_THAT(r.out, HasSubstr("mask " + kp + ": value ("));
  EXPECT_THAT(r.out, HasSubstr("j) at index (0, 0)"));
  EXPECT_THAT(r.out, HasSubstr("complex k-space"));

  // Valid 0/1 masks still work: float32, and complex64 with zero imaginary part; the result is A^H y.
  RArray ok = plane(0.f);
  for (Index x = 0; x < 16; x += 2)
    for (Index y = 0; y < 12; ++y) ok(x, y, 0, 0, 0) = 1.f;
  io::write_npy((d / "ok.npy").string(), ok);
  io::write_npy((d / "okc.npy").string(), to_complex(ok));
  for (const char* name : {"ok.npy", "okc.npy"}) {
    r = run_cli("recon --method zero-filled --kspace " + kp + " --mask " + (d / name).string() + " " +
                (d / "mx.npy").string());
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NEAR(nlohmann::json::parse(r.out).at("acceleration").get<double>(), 2.0, 1e-12) << name;
  }
}

// Argument errors: one line "reconlab: error: <CLI11's message>", exit 1; --help still prints help and exits 0.
TEST(Cli, ArgumentErrorsGiveOneLineAndExitOne) {
  const auto d = tmp_dir();
  const std::string k = (d / "k.npy").string(), o = (d / "o.npy").string();
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"", "subcommand"},
      {"frobnicate", "unknown subcommand 'frobnicate'"},
      {"recon --method no-such-method --kspace " + k + " " + o, "no-such-method"},
      {"mask --type bogus --shape 8,8 " + o, "bogus"},
      {"recon --kspace " + k + " " + o, "--method"},
      {"recon --method cs-tv --lambda abc --kspace " + k + " " + o, "abc"},
      {"rof --weight 0.1 " + k, "OUT"},
      {"metrics --target " + k + " --prediction " + k + " --no-such-flag", "no-such-flag"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli(c.args);
    expect_one_error_line(r, c.args);
    EXPECT_THAT(r.out, HasSubstr(c.expect)) << c.args;
  }
  for (const std::string args : {"--help", "recon --help", "mask -h"}) {
    const auto r = run_cli(args);
    EXPECT_EQ(r.status, 0) << args << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("Usage")) << args;
  }
}

// An empty image (shape (0, 64)) is rejected by every subcommand that reads one.
TEST(Cli, EmptyImagesAreRejected) {
  const auto d = tmp_dir();
  const std::string e = (d / "empty.npy").string(), ec = (d / "emptyc.npy").string();
  write_raw_npy(e, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 64), }");
  write_raw_npy(ec, "{'descr': '<c8', 'fortran_order': False, 'shape': (0, 64), }");
  for (const std::string& args : {"rof --weight 0.1 " + e + " " + (d / "eo.npy").string(),
                                 "metrics --target " + e + " --prediction " + e,
                                 "recon --method zero-filled --kspace " + ec + " " + (d / "eo.npy").string()}) {
    const auto r = run_cli(args);
    expect_one_error_line(r, args);
    EXPECT_THAT(r.out, HasSubstr("empty (shape (0, 64))")) << args;
  }
  EXPECT_FALSE(std::filesystem::exists(d / "eo.npy"));
}

// Bytes echoed from a corrupt header are printed escaped, on one line.
TEST(Cli, HeaderBytesInErrorsAreEscaped) {
  const auto d = tmp_dir();
  const std::string p = (d / "ctl.npy").string();
  write_raw_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 8), 'ev\x07il\x1b[2J\n\xff': 1, }",
                std::string(8 * 8 * 4, '\0'));
  const std::string args = "rof --weight 0.1 " + p + " " + (d / "co.npy").string();
  auto r = run_cli(args);
  expect_one_error_line(r, args);
  EXPECT_THAT(r.out, HasSubstr("unexpected key 'ev\\x07il\\x1b[2J\\x0a\\xff'"));
  // The same escaping in the library's own message (for callers other than the tool).
  try {
    io::read_npy(p);
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_THAT(err.what(), HasSubstr("'ev\\x07il\\x1b[2J\\x0a\\xff'"));
  }
  // A BART header with a control character in its sizes.
  {
    std::ofstream h(d / "ctl.hdr");
    h << "# Dimensions\n8 8\x07 1 1\n";
    std::ofstream c(d / "ctl.cfl", std::ios::binary);
    c << std::string(8 * 8 * 8, '\0');
  }
  const std::string args2 = "rof --weight 0.1 " + (d / "ctl.cfl").string() + " " + (d / "co.npy").string();
  r = run_cli(args2);
  expect_one_error_line(r, args2);
  EXPECT_THAT(r.out, HasSubstr("size '8\\x07' is not a positive integer"));
}

// Super-resolution from the command line (recon --upscale): the real knee slice's centre quarter of k-space in each
// direction is a low-resolution scan; zero-padding must put exactly that k-space back in the centre of the
// 4x larger grid (checked with the centred unitary FFT, the transform the reference zero-filled test pins to
// fastMRI's), TV-SR must reproduce the data and beat zero-padding against the truth.
TEST(Cli, SuperResolutionFromALowResolutionKneeScan) {
  if (!have_ref()) GTEST_SKIP() << "no " << ref();
  const RArray gt = io::read_npy_real(ref() + "/knee0_gt.npy");  // dims (256, 320, 1, 1, 1)
  const Index nx = gt.dimension(0), ny = gt.dimension(1), s = 4, lx = nx / s, ly = ny / s;
  const CArray K = EigenFftw::fft2c(gt.cast<cfloat>());
  CArray low(lx, ly, 1, 1, 1);
  for (Index y = 0; y < ly; ++y)
    for (Index x = 0; x < lx; ++x) low(x, y, 0, 0, 0) = K(x + nx / 2 - lx / 2, y + ny / 2 - ly / 2, 0, 0, 0);
  const auto dir = tmp_dir();
  io::write_npy((dir / "low_k.npy").string(), low, {ly, lx});
  auto err = [&](const CArray& rec) {
    double e = 0, r = 0;
    for (Index i = 0; i < rec.size(); ++i) e += std::norm(std::abs(rec.data()[i]) - gt.data()[i]), r += std::norm(gt.data()[i]);
    return std::sqrt(e / r);
  };
  auto data_error = [&](const CArray& rec) {  // the centre of the reconstruction's k-space against the scan
    const CArray R = EigenFftw::fft2c(rec);
    double e = 0, r = 0;
    for (Index y = 0; y < ly; ++y)
      for (Index x = 0; x < lx; ++x)
        e += std::norm(R(x + nx / 2 - lx / 2, y + ny / 2 - ly / 2, 0, 0, 0) - low(x, y, 0, 0, 0)),
            r += std::norm(low(x, y, 0, 0, 0));
    return std::sqrt(e / r);
  };
  const std::string base = "recon --upscale 4 --kspace " + (dir / "low_k.npy").string();
  auto zp = run_cli(base + " --method zero-padding " + (dir / "zp.npy").string());
  ASSERT_EQ(zp.status, 0) << zp.out;
  const CArray zpi = io::read_npy_complex((dir / "zp.npy").string());
  ASSERT_EQ(dims_of(zpi), (Dims{nx, ny, 1, 1, 1}));
  EXPECT_LT(data_error(zpi), 1e-5);
  double outside = 0;  // nothing outside the scanned centre
  const CArray Z = EigenFftw::fft2c(zpi);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x)
      if (std::abs(x - nx / 2) > lx / 2 || std::abs(y - ny / 2) > ly / 2) outside = std::max<double>(outside, std::abs(Z(x, y, 0, 0, 0)));
  EXPECT_LT(outside, 1e-3 * std::abs(low(lx / 2, ly / 2, 0, 0, 0)));

  auto tv = run_cli(base + " --method tv-sr --lambda 0.002 " + (dir / "tv.npy").string());
  ASSERT_EQ(tv.status, 0) << tv.out;
  const CArray tvi = io::read_npy_complex((dir / "tv.npy").string());
  std::printf("knee 4x: zero-padding %.4f, tv-sr %.4f relative error; tv-sr data error %.4f\n", err(zpi), err(tvi),
              data_error(tvi));
  EXPECT_LT(data_error(tvi), 0.05);
  EXPECT_LT(err(tvi), err(zpi));
  auto bc = run_cli(base + " --method bicubic " + (dir / "bc.npy").string());
  ASSERT_EQ(bc.status, 0) << bc.out;

  // Bad use: one clear line.
  auto no_factor = run_cli("recon --method bicubic --kspace " + (dir / "low_k.npy").string() + " " + (dir / "x.npy").string());
  EXPECT_EQ(no_factor.status, 1);
  EXPECT_THAT(no_factor.out, HasSubstr("give --upscale"));
  auto bad_model = run_cli(base + " --low-resolution nearest --method bicubic " + (dir / "x.npy").string());
  EXPECT_EQ(bad_model.status, 1);
  EXPECT_THAT(bad_model.out, HasSubstr("kspace-truncation, block-average"));
}

// Super-resolution of a low-resolution image file (--image). Bicubic interpolation reproduces a linear ramp
// exactly where its four taps lie inside (Keys 1981); with block averages the low-resolution pixel i sits at the
// centre of its block, high-resolution coordinate s i + (s - 1) / 2, so pixel X reads the ramp at (X - 0.5) / 2
// for s = 2. The PNG's values (0..255) come back in the same units. Zero-padding of a constant from a
// k-space-truncation .npy keeps the constant (1e-6 scanner units). A multi-slice NIfTI file and --image without
// --upscale are refused with one line.
TEST(Cli, SuperResolutionFromALowResolutionImageFile) {
  const auto dir = tmp_dir();
  const Index lx = 16, ly = 12;
  RArray ramp(lx, ly, 1, 1, 1);
  for (Index y = 0; y < ly; ++y)
    for (Index x = 0; x < lx; ++x) ramp(x, y, 0, 0, 0) = float(10 * x + 3 * y + 20);
  io::write_png((dir / "ramp.png").string(), ramp, 0.0f, 255.0f);
  auto bc = run_cli("recon --method bicubic --upscale 2 --low-resolution block-average --image " +
                    (dir / "ramp.png").string() + " " + (dir / "bc.npy").string());
  ASSERT_EQ(bc.status, 0) << bc.out;
  const CArray up = io::read_npy_complex((dir / "bc.npy").string());
  ASSERT_EQ(dims_of(up), (Dims{2 * lx, 2 * ly, 1, 1, 1}));
  double worst = 0;
  for (Index Y = 4; Y < 2 * ly - 4; ++Y)
    for (Index X = 4; X < 2 * lx - 4; ++X) {
      const double u = (double(X) - 0.5) / 2, v = (double(Y) - 0.5) / 2;
      worst = std::max(worst, std::abs(std::abs(up(X, Y, 0, 0, 0)) - (10 * u + 3 * v + 20)));
    }
  EXPECT_LT(worst, 1e-3);

  RArray flat(lx, ly, 1, 1, 1);
  flat.setConstant(3e-6f);
  io::write_npy((dir / "flat.npy").string(), flat);
  auto zp = run_cli("recon --method zero-padding --upscale 4 --image " + (dir / "flat.npy").string() + " " +
                    (dir / "zp.npy").string());
  ASSERT_EQ(zp.status, 0) << zp.out;
  const CArray z = io::read_npy_complex((dir / "zp.npy").string());
  ASSERT_EQ(dims_of(z), (Dims{4 * lx, 4 * ly, 1, 1, 1}));
  for (Index i = 0; i < z.size(); i += 37) EXPECT_NEAR(std::abs(z.data()[i]), 3e-6, 3e-11);

  RArray vol(lx, ly, 1, 1, 3);
  vol.setConstant(1.0f);
  io::write_nifti((dir / "vol.nii").string(), vol);
  auto multi = run_cli("recon --method bicubic --upscale 2 --image " + (dir / "vol.nii").string() + " " +
                       (dir / "x.npy").string());
  EXPECT_EQ(multi.status, 1);
  EXPECT_THAT(multi.out, HasSubstr("holds 3 slices"));
  auto no_factor = run_cli("recon --method bicubic --image " + (dir / "ramp.png").string() + " " +
                           (dir / "x.npy").string());
  EXPECT_EQ(no_factor.status, 1);
  EXPECT_THAT(no_factor.out, HasSubstr("give --upscale S"));
}
