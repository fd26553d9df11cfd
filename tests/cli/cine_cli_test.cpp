// End-to-end tests of cines in the `reconlab` tool: k-t masks (mask --type kt-*), cine k-space in .npy with --axes
// and in .cfl with frames in BART dim 10, per-frame masks from .npy and .mat, and the errors for wrong layouts.
// Reconstructions are checked against NumPy's FFT run frame by frame (an independent implementation).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../common/run_cli.hpp"
#include "../common/temp_dir.hpp"
#include "reconlab/io/array_file.hpp"

using namespace reconlab;
using reconlab::test_support::run_cli;
using reconlab::test_support::TempDir;
using ::testing::HasSubstr;

namespace {

std::string python_with(const std::string& module) {
  for (std::string py : {"/usr/bin/python3", "python3"})
    if (std::system((py + " -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

/// Runs a Python script (written to dir/name.py) with the folder as its argument; true on exit status 0.
bool run_python(const std::string& py, const TempDir& dir, const std::string& name, const std::string& script) {
  const std::string path = dir / (name + ".py");
  std::ofstream(path) << script;
  return std::system((py + " " + path + " " + dir.path.string()).c_str()) == 0;
}

/// Largest |a - b| over all samples, and the largest |b|.
std::pair<double, double> max_diff(const CArray& a, const CArray& b) {
  double d = 0, m = 0;
  for (Index i = 0; i < a.size(); ++i) {
    d = std::max(d, double(std::abs(a.data()[i] - b.data()[i])));
    m = std::max(m, double(std::abs(b.data()[i])));
  }
  return {d, m};
}

/// Shape of a .npy file, slowest first.
std::vector<Index> npy_shape(const std::string& p) { return io::read_npy(p).shape; }

/// A cine test case written by NumPy: single-coil k-space (T, ny, nx) complex64 in k.npy, multi-coil (C, T, ny, nx)
/// in kc.npy, a per-frame line mask (T, ny, nx) in m.npy and as MATLAB (ny, nx, T) variable 'msk' in m.mat, and the
/// references computed by NumPy frame by frame: zf.npy = fftshift(ifft2(ifftshift(k * m), norm='ortho')) per frame,
/// rss.npy = sqrt(sum over coils |.|^2) of the same for kc.
constexpr int kT = 5, kNy = 24, kNx = 33, kC = 3;
const char* kMakeCine = R"(
import numpy as np, sys, os
d = sys.argv[1]
T, ny, nx, C = 5, 24, 33, 3
g = np.random.default_rng(7)
k = (g.standard_normal((T, ny, nx)) + 1j * g.standard_normal((T, ny, nx))).astype(np.complex64) * 1e-3
kc = (g.standard_normal((C, T, ny, nx)) + 1j * g.standard_normal((C, T, ny, nx))).astype(np.complex64) * 5e3
lines = g.random((T, 1, nx)) < 0.3
lines[:, :, nx // 2 - 2 : nx // 2 + 3] = True
m = np.broadcast_to(lines, (T, ny, nx)).astype(np.float32)
def ifft2c(x):
    return np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(x, axes=(-2, -1)), norm='ortho'), axes=(-2, -1))
zf = np.stack([ifft2c(k[t] * m[t]) for t in range(T)]).astype(np.complex64)
rss = np.sqrt(sum(np.abs(np.stack([ifft2c(kc[c, t] * m[t]) for t in range(T)]))**2 for c in range(C)))
np.save(os.path.join(d, 'k.npy'), k)
np.save(os.path.join(d, 'kc.npy'), kc)
np.save(os.path.join(d, 'm.npy'), m)
np.save(os.path.join(d, 'm3.npy'), m[:3])
np.save(os.path.join(d, 'zf.npy'), zf)
np.save(os.path.join(d, 'rss.npy'), rss.astype(np.float32))
try:
    import scipy.io
    scipy.io.savemat(os.path.join(d, 'm.mat'), {'msk': np.transpose(m, (1, 2, 0)).astype(np.uint8), 'other': 1.0})
except ImportError:
    pass
)";

}  // namespace

TEST(CineCli, KtMasksWriteFramesFirstAndReportTheirAcceleration) {
  TempDir dir("cine_cli");
  for (const std::string type : {"kt-vd", "kt-gaussian"}) {
    const std::string out = dir / (type + ".npy");
    auto r = run_cli("mask --type " + type + " --frames 8 --shape 64,96 --acceleration 5 --center-lines 11 --seed 3 " +
                     out);
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(npy_shape(out), (std::vector<Index>{8, 64, 96})) << type;
    const RArray m = io::read_npy_real(out, "fyx");
    double ones = 0;
    for (Index i = 0; i < m.size(); ++i) ones += m.data()[i];
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_NEAR(j.at("acceleration").get<double>(), double(m.size()) / ones, 1e-12);
    EXPECT_NEAR(j.at("acceleration").get<double>(), 5.0, 0.25) << type;
    EXPECT_EQ(j.at("shape"), nlohmann::json({8, 64, 96}));
    for (Index t = 0; t < 8; ++t)
      for (Index x = 48 - 5; x <= 48 + 5; ++x) EXPECT_EQ(m(x, 0, 0, t, 0), 1.f) << type << " frame " << t;
    // .cfl: frames in BART's TIME_DIM 10, same values.
    const std::string cfl = dir / (type + "_cfl");
    r = run_cli("mask --type " + type + " --frames 8 --shape 64,96 --acceleration 5 --center-lines 11 --seed 3 " +
                cfl);
    ASSERT_EQ(r.status, 0) << r.out;
    const io::CflRaw raw = io::read_cfl_raw(cfl);
    ASSERT_GE(raw.dims.size(), 11u);
    EXPECT_EQ(raw.dims[0], 96);
    EXPECT_EQ(raw.dims[1], 64);
    EXPECT_EQ(raw.dims[10], 8);
    for (Index i = 0; i < m.size(); ++i) ASSERT_EQ(raw.data[std::size_t(i)].real(), m.data()[i]);
  }
  auto r = run_cli("mask --type kt-vd --shape 64,96 --acceleration 5 " + (dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr("needs --frames"));
  r = run_cli("mask --type random --frames 4 --shape 64,96 --acceleration 4 " + (dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr("--frames applies to the k-t mask types"));
  r = run_cli("mask --type kt-gaussian --frames 4 --shape 64,96 --acceleration 12 --center-lines 11 " +
              (dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr("centre lines exceed"));
}

TEST(CineCli, ZeroFilledCineEqualsNumpyFrameByFrame) {
  const std::string py = python_with("numpy");
  if (py.empty()) GTEST_SKIP() << "python3 with numpy is not available";
  TempDir dir("cine_cli");
  ASSERT_TRUE(run_python(py, dir, "make", kMakeCine)) << "numpy script failed";
  const CArray want = io::read_npy_complex(dir / "zf.npy", "fyx");

  // .npy (T, ny, nx) with --axes t,y,x and a per-frame (T, ny, nx) mask -> (T, ny, nx).
  auto r = run_cli("recon --method zero-filled --axes t,y,x --kspace " + (dir / "k.npy") + " --mask " +
                   (dir / "m.npy") + " " + (dir / "out.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("frames"), kT);
  ASSERT_EQ(npy_shape(dir / "out.npy"), (std::vector<Index>{kT, kNy, kNx}));
  const CArray got = io::read_npy_complex(dir / "out.npy", "fyx");
  const auto [d, mx] = max_diff(got, want);
  EXPECT_LT(d, 1e-5 * mx) << "max |ours - numpy| " << d << " of " << mx;
  // The frames really differ (per-frame masks): frame 0 of the output is not frame 1's.
  // (a chip drops the frame axis: reshape back to 5 dims; assigning the rank-4 chip to a CArray was undefined, and
  // make sanitize's Eigen assertions caught it)
  const CArray f0 = got.chip(0, 3).reshape(Dims{kNx, kNy, 1, 1, 1}),
               f1 = got.chip(1, 3).reshape(Dims{kNx, kNy, 1, 1, 1});
  EXPECT_GT(max_diff(f0, f1).first, 0.1 * mx);

  // .cfl with frames in BART dim 10 (k-space and mask): the output is .cfl with frames in dim 10, same values.
  io::write_cfl(dir / "k_cfl", io::read_npy_complex(dir / "k.npy", "fyx"));
  io::write_cfl(dir / "m_cfl", io::read_npy_complex(dir / "m.npy", "fyx"));
  ASSERT_EQ(io::read_cfl_raw(dir / "k_cfl").dims[10], kT);
  r = run_cli("recon --method zero-filled --kspace " + (dir / "k_cfl") + " --mask " + (dir / "m_cfl.cfl") + " " +
              (dir / "out_cfl"));
  ASSERT_EQ(r.status, 0) << r.out;
  const io::CflRaw raw = io::read_cfl_raw(dir / "out_cfl");
  EXPECT_EQ(raw.dims[0], kNx);
  EXPECT_EQ(raw.dims[1], kNy);
  EXPECT_EQ(raw.dims[10], kT);
  const CArray got_cfl = io::read_cfl(dir / "out_cfl");
  EXPECT_LT(max_diff(got_cfl, want).first, 1e-5 * mx);

  // The same per-frame mask from a .mat file (MATLAB ny x nx x T, uint8) gives the same image.
  if (std::filesystem::exists(dir / "m.mat")) {
    r = run_cli("recon --method zero-filled --axes t,y,x --kspace " + (dir / "k.npy") + " --mask " + (dir / "m.mat") +
                " --mask-variable msk " + (dir / "out_mat.npy"));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_LT(max_diff(io::read_npy_complex(dir / "out_mat.npy", "fyx"), want).first, 1e-5 * mx);
    r = run_cli("recon --method zero-filled --axes t,y,x --kspace " + (dir / "k.npy") + " --mask " + (dir / "m.mat") +
                " " + (dir / "out_mat.npy"));
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.out, HasSubstr("--mask-variable"));  // two variables: name one
    r = run_cli("recon --method zero-filled --axes t,y,x --kspace " + (dir / "k.npy") + " --mask " + (dir / "m.mat") +
                " --mask-variable nope " + (dir / "out_mat.npy"));
    EXPECT_EQ(r.status, 1);
    EXPECT_THAT(r.out, HasSubstr("'nope' not found"));
    EXPECT_THAT(r.out, HasSubstr("msk"));
  }
}

TEST(CineCli, MultiCoilCineWithCoilsFirstIsTransposedAndCombinedByRss) {
  const std::string py = python_with("numpy");
  if (py.empty()) GTEST_SKIP() << "python3 with numpy is not available";
  TempDir dir("cine_cli");
  ASSERT_TRUE(run_python(py, dir, "make", kMakeCine)) << "numpy script failed";
  auto r = run_cli("recon --method zero-filled --axes c,t,y,x --kspace " + (dir / "kc.npy") + " --mask " +
                   (dir / "m.npy") + " " + (dir / "out.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  ASSERT_EQ(npy_shape(dir / "out.npy"), (std::vector<Index>{kT, kNy, kNx}));
  const RArray got = io::read_npy_complex(dir / "out.npy", "fyx").abs();
  const RArray want = io::read_npy_real(dir / "rss.npy", "fyx");
  double d = 0, mx = 0;
  for (Index i = 0; i < got.size(); ++i) {
    d = std::max(d, double(std::abs(got.data()[i] - want.data()[i])));
    mx = std::max(mx, double(want.data()[i]));
  }
  EXPECT_LT(d, 1e-5 * mx) << "RSS per frame against numpy";
}

TEST(CineCli, CineMethodsRunAndReportTheirTemporalWeights) {
  const std::string py = python_with("numpy");
  if (py.empty()) GTEST_SKIP() << "python3 with numpy is not available";
  TempDir dir("cine_cli");
  ASSERT_TRUE(run_python(py, dir, "make", kMakeCine)) << "numpy script failed";
  const std::string in = "--axes t,y,x --kspace " + (dir / "k.npy") + " --mask " + (dir / "m.npy") + " ";
  auto r = run_cli("recon --method cs-tv --lambda 1e-3 --lambda-t 2e-3 --iterations 30 " + in + (dir / "tv.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(r.out).at("parameters").at("lambda_t").get<double>(), 2e-3);
  EXPECT_EQ(npy_shape(dir / "tv.npy"), (std::vector<Index>{kT, kNy, kNx}));
  r = run_cli("recon --method view-sharing " + in + (dir / "vs.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(npy_shape(dir / "vs.npy"), (std::vector<Index>{kT, kNy, kNx}));
  r = run_cli("recon --method l+s --lambda 1e-3 --lambda-l 1e-2 --iterations 20 " + in + (dir / "ls.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto p = nlohmann::json::parse(r.out).at("parameters");
  EXPECT_DOUBLE_EQ(p.at("lambda_s").get<double>(), 1e-3);
  EXPECT_DOUBLE_EQ(p.at("lambda_l").get<double>(), 1e-2);
  EXPECT_EQ(npy_shape(dir / "ls.npy"), (std::vector<Index>{kT, kNy, kNx}));
  // Multi-coil k-t TV with given maps (coils, ny, nx): the cine solver with S, output (T, ny, nx).
  CArray maps(kNx, kNy, kC, 1, 1);
  for (Index c = 0; c < kC; ++c)
    for (Index y = 0; y < kNy; ++y)
      for (Index x = 0; x < kNx; ++x)
        maps(x, y, c, 0, 0) = std::polar(0.5f + 0.1f * float(c) + 0.01f * float(x), 0.05f * float(y * (c + 1)));
  io::write_npy(dir / "maps.npy", maps);
  r = run_cli("recon --method cs-tv --lambda 1e-3 --lambda-t 2e-3 --iterations 20 --axes c,t,y,x --kspace " +
              (dir / "kc.npy") + " --mask " + (dir / "m.npy") + " --sens " + (dir / "maps.npy") + " " +
              (dir / "tvc.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(r.out).at("parameters").at("lambda_t").get<double>(), 2e-3);
  EXPECT_EQ(npy_shape(dir / "tvc.npy"), (std::vector<Index>{kT, kNy, kNx}));
  r = run_cli("recon --method zero-filled --lambda-t 1e-3 " + in + (dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr("--lambda-t applies to cs-tv and bart-pics"));
}

TEST(CineCli, WrongAxesAndMismatchedMaskFramesAreClearErrors) {
  const std::string py = python_with("numpy");
  if (py.empty()) GTEST_SKIP() << "python3 with numpy is not available";
  TempDir dir("cine_cli");
  ASSERT_TRUE(run_python(py, dir, "make", kMakeCine)) << "numpy script failed";
  const std::string k = dir / "k.npy", kc = dir / "kc.npy", m = dir / "m.npy", out = dir / "o.npy";
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"--axes t,y --kspace " + k, "must name both y and x"},
      {"--axes t,y,z --kspace " + k, "each axis is one of c (coil), t (frame), y, x"},
      {"--axes t,t,x --kspace " + k, "appears twice"},
      {"--axes t,y,x --kspace " + kc, "names 3 axes but k-space"},
      {"--kspace " + kc, "name them with --axes"},
      {"--axes t,y,x --kspace " + k + " --mask " + (dir / "m3.npy"), "has 3 frames but the k-space has 5"},
      {"--axes t,y,x --kspace " + k + " --mask " + m + " --mask-variable msk", "--mask-variable applies to a .mat"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli("recon --method zero-filled " + c.args + " " + out);
    EXPECT_EQ(r.status, 1) << c.args << ": " << r.out;
    EXPECT_THAT(r.out, HasSubstr(c.expect)) << c.args;
    EXPECT_THAT(r.out, HasSubstr("reconlab: error: ")) << c.args;
  }
  // --axes on a .cfl is refused (BART's dims say where the frames are).
  io::write_cfl(dir / "k_cfl", io::read_npy_complex(k, "fyx"));
  const auto r = run_cli("recon --method zero-filled --axes t,y,x --kspace " + (dir / "k_cfl") + " " + out);
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr("--axes applies to .npy k-space"));
}

// The real ACDC k-t masks through `mask --type acdc`: (30, 184, 256), frame 0 the reference mask (sum 31308 by
// scipy.io.loadmat(...)['sampling_mask_u0'].sum()), frame 1 mask_seq's first frame (sum 2911); they fit the ACDC
// cine (30, 184, 256) as per-frame masks of `recon`.
TEST(CineCli, AcdcMasksFitTheAcdcCine) {
  const std::string dir = data_dir() + "/cine-acdc";
  if (!std::filesystem::exists(dir + "/mask_seq.mat")) GTEST_SKIP() << "shared data absent: " << dir;
  TempDir t("cine_cli");
  auto r = run_cli("mask --type acdc --data " + dir + " " + (t / "acdc.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  ASSERT_EQ(npy_shape(t / "acdc.npy"), (std::vector<Index>{30, 184, 256}));
  const RArray m = io::read_npy_real(t / "acdc.npy", "fyx");
  double s0 = 0, s1 = 0;
  for (Index y = 0; y < 184; ++y)
    for (Index x = 0; x < 256; ++x) {
      s0 += m(x, y, 0, 0, 0);
      s1 += m(x, y, 0, 1, 0);
    }
  EXPECT_EQ(s0, 31308.0);
  EXPECT_EQ(s1, 2911.0);
  r = run_cli("mask --type acdc --shape 10,10 " + (t / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr("takes no --shape"));
  r = run_cli("mask --type random --acceleration 4 " + (t / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr("needs --shape"));
  // As the mask of a zero-filled recon of the ACDC cine's k-space (here all ones: only the layout is checked).
  const std::string cine = dir + "/cine_30x184x256_uint8.npy";
  if (!std::filesystem::exists(cine)) return;
  CArray k(256, 184, 1, 30, 1);
  k.setConstant(cfloat(1.f, 0.f));
  io::write_npy(t / "k.npy", k, {30, 184, 256});
  r = run_cli("recon --method zero-filled --axes t,y,x --kspace " + (t / "k.npy") + " --mask " + (t / "acdc.npy") +
              " " + (t / "zf.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(npy_shape(t / "zf.npy"), npy_shape(cine));
}
