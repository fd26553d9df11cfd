// The fastMRI raw-data reader (reconlab/io/fastmri.hpp) on files written by h5py (Debian python3-h5py) in the
// layout of the fastMRI dataset (data/mri_data.py of the fastMRI repository): single-coil with reconstruction_esc,
// multi-coil with reconstruction_rss, a test file with its mask and attributes, the ISMRMRD header's matrix sizes,
// and the errors for truncated and malformed files. The expected values are the formula the Python script used.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <map>
#include <nlohmann/json.hpp>

#include "../common/run_cli.hpp"
#include "../common/temp_dir.hpp"
#include "reconlab/io/cfl.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/io/fastmri.hpp"
#include "reconlab/operators.hpp"

using namespace reconlab;
using reconlab::test_support::TempDir;
using reconlab::test_support::run_cli;

namespace {

std::string python_with_h5py() {
  for (std::string py : {"/usr/bin/python3", "python3"})
    if (std::system((py + " -c 'import h5py, numpy' >/dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

void run_python(const std::string& py, const std::string& script, const std::filesystem::path& dir) {
  const auto file = dir / "make.py";
  std::ofstream(file) << script;
  ASSERT_EQ(std::system((py + " " + file.string()).c_str()), 0) << script;
}

/// An ISMRMRD header with encoded (640, 368) and reconstruction (320, 320) matrices, as fastMRI's knee files have.
const char* kHeader =
    "<?xml version=\"1.0\"?><ismrmrdHeader xmlns=\"http://www.ismrm.org/ISMRMRD\"><experimentalConditions>"
    "<H1resonanceFrequency_Hz>63500000</H1resonanceFrequency_Hz></experimentalConditions><encoding><encodedSpace>"
    "<matrixSize><x>640</x><y>368</y><z>1</z></matrixSize><fieldOfView_mm><x>280</x><y>160</y><z>4.5</z>"
    "</fieldOfView_mm></encodedSpace><reconSpace><matrixSize><x>320</x><y>320</y><z>1</z></matrixSize>"
    "<fieldOfView_mm><x>140</x><y>140</y><z>3</z></fieldOfView_mm></reconSpace><trajectory>cartesian</trajectory>"
    "<encodingLimits></encodingLimits></encoding></ismrmrdHeader>";

}  // namespace

TEST(FastmriIo, ReadsSingleAndMultiCoilFilesWrittenByH5py) {
  const std::string py = python_with_h5py();
  if (py.empty()) GTEST_SKIP() << "python3 with h5py is not available (apt-get install python3-h5py)";
  TempDir dir("fastmri_io");
  // kspace[s, (c,) h, w] = (s + 1) * (w + 10 h) + 1j (c - h), complex64; reconstructions (s, 4, 5) = s + 0.5 w.
  run_python(py,
             "import h5py, numpy as np\n"
             "hdr = '''" + std::string(kHeader) + "'''\n"
             "s, h, w = np.meshgrid(np.arange(2), np.arange(6), np.arange(8), indexing='ij')\n"
             "k1 = ((s + 1.0) * (w + 10 * h) + 1j * (0 - h)).astype(np.complex64)\n"
             "rec = (np.arange(2)[:, None, None] + 0.5 * np.arange(5)[None, None, :] + 0 * np.zeros((2, 4, 5))).astype(np.float32)\n"
             "with h5py.File('" + (dir / "single.h5") + "', 'w') as f:\n"
             "  f['kspace'] = k1\n"
             "  f['reconstruction_esc'] = rec\n"
             "  f['ismrmrd_header'] = hdr\n"
             "  f.attrs['acquisition'] = 'CORPD_FBK'\n"
             "  f.attrs['max'] = 0.25\n"
             "  f.attrs['norm'] = 3.5\n"
             "  f.attrs['patient_id'] = 'abc'\n"
             "s, c, h, w = np.meshgrid(np.arange(2), np.arange(3), np.arange(6), np.arange(8), indexing='ij')\n"
             "k4 = ((s + 1.0) * (w + 10 * h) + 1j * (c - h)).astype(np.complex64)\n"
             "with h5py.File('" + (dir / "multi.h5") + "', 'w') as f:\n"
             "  f['kspace'] = k4\n"
             "  f['reconstruction_rss'] = rec\n"
             "  f['ismrmrd_header'] = hdr\n"
             "k4[:, :, :, [0, 3, 4, 6]] = 0\n"
             "with h5py.File('" + (dir / "test.h5") + "', 'w') as f:\n"
             "  f['kspace'] = k4\n"
             "  f['mask'] = np.array([0, 1, 1, 0, 0, 1, 0, 1], dtype=bool)\n"
             "  f.attrs['acceleration'] = 2\n"
             "  f.attrs['num_low_frequency'] = 2\n",
             dir.path);
  const io::FastmriFile s = io::read_fastmri((dir / "single.h5"));
  ASSERT_EQ(dims_of(s.kspace), (Dims{8, 6, 1, 1, 2}));
  EXPECT_EQ(s.kspace(3, 2, 0, 0, 1), cfloat(2.0f * (3 + 20), -2.0f));
  EXPECT_EQ(s.kspace(7, 5, 0, 0, 0), cfloat(57.0f, -5.0f));
  ASSERT_TRUE(s.reconstruction_esc.has_value());
  EXPECT_FALSE(s.reconstruction_rss.has_value());
  EXPECT_EQ(dims_of(*s.reconstruction_esc), (Dims{5, 4, 1, 1, 2}));
  EXPECT_FLOAT_EQ((*s.reconstruction_esc)(4, 1, 0, 0, 1), 1.0f + 2.0f);
  EXPECT_EQ(s.encoded_nx, 640);
  EXPECT_EQ(s.encoded_ny, 368);
  EXPECT_EQ(s.recon_nx, 320);
  EXPECT_EQ(s.recon_ny, 320);
  EXPECT_EQ(s.acquisition, "CORPD_FBK");
  EXPECT_EQ(s.patient_id, "abc");
  EXPECT_DOUBLE_EQ(s.max.value(), 0.25);
  EXPECT_DOUBLE_EQ(s.norm.value(), 3.5);
  EXPECT_FALSE(s.acceleration.has_value());
  // A fully sampled slice: every column has data, so the mask is all ones.
  const Acquisition a = io::fastmri_slice(s, 1);
  EXPECT_EQ(dims_of(a.kspace), (Dims{8, 6, 1, 1, 1}));
  Eigen::Tensor<float, 0> ms = a.mask().sum();
  EXPECT_EQ(ms(), 48.0f);

  const io::FastmriFile m = io::read_fastmri((dir / "multi.h5"));
  ASSERT_EQ(dims_of(m.kspace), (Dims{8, 6, 3, 1, 2}));
  EXPECT_EQ(m.kspace(5, 4, 2, 0, 1), cfloat(2.0f * (5 + 40), 2.0f - 4.0f));
  EXPECT_EQ(m.coils(), 3);
  EXPECT_TRUE(m.reconstruction_rss.has_value());

  // A test file: the stored mask (columns 1, 2, 5, 7), acceleration attributes, no header.
  const io::FastmriFile t = io::read_fastmri((dir / "test.h5"));
  ASSERT_TRUE(t.mask.has_value());
  EXPECT_EQ(t.recon_nx, 0);
  EXPECT_DOUBLE_EQ(t.acceleration.value(), 2.0);
  EXPECT_DOUBLE_EQ(t.num_low_frequency.value(), 2.0);
  const Acquisition ta = io::fastmri_slice(t, 0);
  for (Index x = 0; x < 8; ++x)
    for (Index y = 0; y < 6; ++y) EXPECT_EQ(ta.mask()(x, y, 0, 0, 0), (x == 1 || x == 2 || x == 5 || x == 7) ? 1.f : 0.f);
  // Without the stored mask, the non-zero columns are the same pattern.
  io::FastmriFile no_mask = t;
  no_mask.mask.reset();
  const Eigen::Tensor<float, 0> diff = (io::fastmri_slice(no_mask, 0).mask() - ta.mask()).abs().sum();
  EXPECT_EQ(diff(), 0.0f);
  EXPECT_THROW(io::fastmri_slice(t, 2), Error);
}

TEST(FastmriIo, RefusesTruncatedAndMalformedFilesWithOneClearError) {
  const std::string py = python_with_h5py();
  if (py.empty()) GTEST_SKIP() << "python3 with h5py is not available (apt-get install python3-h5py)";
  TempDir dir("fastmri_bad");
  auto p = [&](const std::string& n) { return dir / n; };
  run_python(py,
             "import h5py, numpy as np\n"
             "k = np.ones((2, 6, 8), np.complex64)\n"
             "with h5py.File('" + p("good.h5") + "', 'w') as f: f['kspace'] = k\n"
             "with h5py.File('" + p("real.h5") + "', 'w') as f: f['kspace'] = np.ones((2, 6, 8), np.float32)\n"
             "with h5py.File('" + p("c128.h5") + "', 'w') as f: f['kspace'] = np.ones((2, 6, 8), np.complex128)\n"
             "with h5py.File('" + p("rank2.h5") + "', 'w') as f: f['kspace'] = np.ones((6, 8), np.complex64)\n"
             "with h5py.File('" + p("nokspace.h5") + "', 'w') as f: f['image'] = np.ones((6, 8), np.float32)\n"
             "with h5py.File('" + p("badmask.h5") + "', 'w') as f:\n"
             "  f['kspace'] = k\n"
             "  f['mask'] = np.ones(7, bool)\n"
             "with h5py.File('" + p("badrec.h5") + "', 'w') as f:\n"
             "  f['kspace'] = k\n"
             "  f['reconstruction_rss'] = np.ones((3, 4, 4), np.float32)\n"
             "with h5py.File('" + p("badxml.h5") + "', 'w') as f:\n"
             "  f['kspace'] = k\n"
             "  f['ismrmrd_header'] = '<ismrmrdHeader><encoding>'\n"
             "open('" + p("text.h5") + "', 'w').write('not hdf5')\n",
             dir.path);
  ASSERT_NO_THROW(io::read_fastmri(p("good.h5")));
  // A truncated copy of the good file.
  {
    std::ifstream in(p("good.h5"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(p("cut.h5"), std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"missing.h5", "missing file"},  {"text.h5", "not an HDF5 file"},
      {"cut.h5", "corrupt"},           {"real.h5", "must be complex64"},
      {"c128.h5", "must be complex64"}, {"rank2.h5", "(slices, H, W)"},
      {"nokspace.h5", "no 'kspace'"},  {"badmask.h5", "mask must be (8,)"},
      {"badrec.h5", "3 slices"},       {"badxml.h5", "not valid ISMRMRD XML"}};
  for (const auto& [file, what] : cases) {
    try {
      io::read_fastmri(p(file));
      ADD_FAILURE() << file << ": no error";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(what), std::string::npos) << file << ": " << msg;
      EXPECT_NE(msg.find(file), std::string::npos) << file << ": the message names the file: " << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << file << ": one line: " << msg;
    }
  }
}

// A new user's path on a fastMRI-layout single-coil file made from the real knee slices (shared/data/knee; the
// k-space by NumPy's orthonormal centred FFT, columns kept every 4th plus 20 centre columns, the mask stored as in
// fastMRI's test files, the reconstruction size 256 x 256 in the ISMRMRD header): `reconlab recon` writes fastMRI
// reconstruction files, `reconlab eval` scores them, and its numbers equal fastMRI's evaluate.py formulas computed
// by scikit-image on the same files.
TEST(FastmriCli, ReconAndEvalMatchScikitImageOnTheKneeSlices) {
  const std::string py = python_with_h5py();
  if (py.empty()) GTEST_SKIP() << "python3 with h5py is not available";
  const std::string knee = data_dir() + "/knee/knee_complex_2x320x256.npy";
  if (!std::filesystem::exists(knee)) GTEST_SKIP() << "no shared data";
  if (std::system((py + " -c 'import skimage' >/dev/null 2>&1").c_str()) != 0) GTEST_SKIP() << "no scikit-image";
  TempDir dir("fastmri_cli");
  for (const char* sub : {"in", "target", "zf", "cs"}) std::filesystem::create_directories(dir.path / sub);
  std::string hdr = kHeader;
  hdr.replace(hdr.find("<x>320</x><y>320</y>"), 20, "<x>256</x><y>256</y>");
  run_python(py,
             "import h5py, numpy as np\n"
             "img = np.load('" + knee + "').astype(np.complex64)\n"
             "k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(img, axes=(-2, -1)), norm='ortho'), axes=(-2, -1))\n"
             "mask = np.zeros(img.shape[-1], bool)\n"
             "mask[::4] = True\n"
             "mask[118:138] = True\n"
             "with h5py.File('" + (dir / "in/vol.h5") + "', 'w') as f:\n"
             "  f['kspace'] = (k * mask).astype(np.complex64)\n"
             "  f['mask'] = mask\n"
             "  f['ismrmrd_header'] = '''" + hdr + "'''\n"
             "with h5py.File('" + (dir / "target/vol.h5") + "', 'w') as f:\n"
             "  f['kspace'] = k.astype(np.complex64)\n"
             "  f['reconstruction_esc'] = np.abs(img)[:, 32:288, :].astype(np.float32)\n",
             dir.path);
  for (const std::string m : {"zero-filled", "cs-tv"}) {
    const auto r = run_cli("recon --method " + m + " --kspace " + (dir / "in/vol.h5") + " " +
                           (dir / ((m == "cs-tv" ? "cs" : "zf") + std::string("/vol.h5"))));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("\"slices\":2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"cropped_to\":[256,256]"), std::string::npos) << r.out;
  }
  std::map<std::string, double> psnr;
  for (const std::string sub : {"zf", "cs"}) {
    const auto r = run_cli("eval --target-dir " + (dir / "target") + " --prediction-dir " + (dir / sub));
    ASSERT_EQ(r.status, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
    ASSERT_EQ(j["volumes"].size(), 1u);
    // fastMRI's evaluate.py, by scikit-image, on the same files.
    run_python(py,
               "import h5py, json, numpy as np\n"
               "from skimage.metrics import peak_signal_noise_ratio, structural_similarity\n"
               "gt = h5py.File('" + (dir / "target/vol.h5") + "')['reconstruction_esc'][()]\n"
               "pr = h5py.File('" + (dir / (sub + "/vol.h5")) + "')['reconstruction'][()]\n"
               "w = gt.shape[-1]\n"
               "def crop(a):\n"
               "  h0 = (a.shape[-2] - w) // 2; w0 = (a.shape[-1] - w) // 2\n"
               "  return a[:, h0:h0 + w, w0:w0 + w]\n"
               "gt, pr = crop(gt), crop(pr)\n"
               "m = gt.max()\n"
               "out = {'nmse': float(np.linalg.norm(gt - pr) ** 2 / np.linalg.norm(gt) ** 2),\n"
               "       'psnr': float(peak_signal_noise_ratio(gt, pr, data_range=m)),\n"
               "       'ssim': float(np.mean([structural_similarity(gt[s], pr[s], data_range=m) for s in range(gt.shape[0])]))}\n"
               "json.dump(out, open('" + (dir / (sub + ".json")) + "', 'w'))\n",
               dir.path);
    std::ifstream in(dir / (sub + ".json"));
    const auto ref = nlohmann::json::parse(in);
    const auto& v = j["volumes"][0];
    std::printf("%s: psnr %.4f (skimage %.4f), ssim %.5f (%.5f), nmse %.6f (%.6f)\n", sub.c_str(),
                v["psnr"].get<double>(), ref["psnr"].get<double>(), v["ssim"].get<double>(), ref["ssim"].get<double>(),
                v["nmse"].get<double>(), ref["nmse"].get<double>());
    EXPECT_NEAR(v["psnr"].get<double>(), ref["psnr"].get<double>(), 1e-3);
    EXPECT_NEAR(v["ssim"].get<double>(), ref["ssim"].get<double>(), 1e-4);
    // evaluate.py's NMSE is np.linalg.norm on float32 arrays (float32 accumulation, ~1e-5 relative); ours is double.
    EXPECT_NEAR(v["nmse"].get<double>(), ref["nmse"].get<double>(), 1e-4 * ref["nmse"].get<double>());
    psnr[sub] = v["psnr"].get<double>();
  }
  EXPECT_GT(psnr["cs"], psnr["zf"]);
  // NIfTI output (magnitudes, slices along k) read back by an independent parser of the NIfTI-1 header (gzip,
  // struct, NumPy) against the complex array output of the same reconstruction.
  ASSERT_EQ(run_cli("recon --method zero-filled --kspace " + (dir / "in/vol.h5") + " " + (dir / "zf.nii.gz")).status, 0);
  ASSERT_EQ(run_cli("recon --method zero-filled --kspace " + (dir / "in/vol.h5") + " " + (dir / "zf.npy")).status, 0);
  run_python(py,
             "import gzip, struct, numpy as np\n"
             "b = gzip.open('" + (dir / "zf.nii.gz") + "').read()\n"
             "assert struct.unpack('<i', b[:4])[0] == 348 and b[344:348] == b'n+1\\x00'\n"
             "dim = struct.unpack('<8h', b[40:56]); dt = struct.unpack('<h', b[70:72])[0]\n"
             "off = int(struct.unpack('<f', b[108:112])[0])\n"
             "assert dim[:4] == (3, 256, 320, 2) and dt == 16, (dim, dt)\n"
             "v = np.frombuffer(b[off:], '<f4').reshape(2, 320, 256)\n"
             "ref = np.abs(np.load('" + (dir / "zf.npy") + "')).reshape(2, 320, 256)\n"
             "assert np.abs(v - ref).max() <= 1e-6 * ref.max(), np.abs(v - ref).max()\n",
             dir.path);
  // One slice as an array; options that do not apply to a fastMRI file are refused.
  auto r = run_cli("recon --method zero-filled --slice 1 --kspace " + (dir / "in/vol.h5") + " " + (dir / "one.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(dims_of(io::read_npy_complex(dir / "one.npy")), (Dims{256, 320, 1, 1, 1}));
  r = run_cli("recon --method zero-filled --mask m.npy --kspace " + (dir / "in/vol.h5") + " " + (dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("carries its own layout and mask"), std::string::npos) << r.out;
  r = run_cli("eval --target-dir " + (dir / "target") + " --prediction-dir " + (dir / "in"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("no 'reconstruction' dataset"), std::string::npos) << r.out;
}

// Multi-coil: the real 8-coil brain k-space (shared/data brain8ch) as a one-slice fastMRI multi-coil file with
// every 3rd column plus 16 centre columns: zero-filled (RSS) and CG-SENSE (maps from the ACS columns) from the
// command line, scored against the fully sampled RSS stored as reconstruction_rss; CG-SENSE beats zero-filled.
TEST(FastmriCli, MultiCoilBrainZeroFilledAndCgSense) {
  const std::string py = python_with_h5py();
  if (py.empty()) GTEST_SKIP() << "python3 with h5py is not available";
  const std::string b8 = data_dir() + "/brain8ch/brain_clean";
  if (!std::filesystem::exists(b8 + ".cfl")) GTEST_SKIP() << "no shared data";
  TempDir dir("fastmri_mc");
  for (const char* sub : {"in", "target", "zf", "cg"}) std::filesystem::create_directories(dir.path / sub);
  const CArray k = io::read_cfl(b8, 2);  // (nx, ny, 8, 1, 1)
  io::write_npy(dir / "k.npy", k, {k.dimension(2), k.dimension(1), k.dimension(0)});
  run_python(py,
             "import h5py, numpy as np\n"
             "k = np.load('" + (dir / "k.npy") + "').astype(np.complex64)[None]\n"
             "img = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k, axes=(-2, -1)), norm='ortho'), axes=(-2, -1))\n"
             "rss = np.sqrt((np.abs(img) ** 2).sum(1)).astype(np.float32)\n"
             "W = k.shape[-1]\n"
             "mask = np.zeros(W, bool)\n"
             "mask[::3] = True\n"
             "mask[W // 2 - 8:W // 2 + 8] = True\n"
             "with h5py.File('" + (dir / "in/b.h5") + "', 'w') as f:\n"
             "  f['kspace'] = (k * mask).astype(np.complex64)\n"
             "  f['mask'] = mask\n"
             "with h5py.File('" + (dir / "target/b.h5") + "', 'w') as f:\n"
             "  f['kspace'] = k\n"
             "  f['reconstruction_rss'] = rss\n",
             dir.path);
  std::map<std::string, double> psnr;
  for (const std::string m : {"zero-filled", "cg-sense"}) {
    const std::string sub = m == "cg-sense" ? "cg" : "zf";
    auto r = run_cli("recon --method " + m + " --estimate-maps lowres --kspace " + (dir / "in/b.h5") + " " +
                     (dir / (sub + "/b.h5")));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("\"coils\":8"), std::string::npos) << r.out;
    r = run_cli("eval --target-dir " + (dir / "target") + " --prediction-dir " + (dir / sub));
    ASSERT_EQ(r.status, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
    EXPECT_EQ(j["volumes"][0]["key"], "reconstruction_rss");
    psnr[m] = j["psnr"]["mean"].get<double>();
    std::printf("%s: PSNR %.2f dB, SSIM %.4f\n", m.c_str(), psnr[m], j["ssim"]["mean"].get<double>());
  }
  EXPECT_GT(psnr["cg-sense"], psnr["zero-filled"] + 3.0);
}
