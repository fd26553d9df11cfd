// The ISMRMRD reader (reconlab/io/ismrmrd.hpp) on files made by ISMRMRD's own generator
// (ismrmrd_generate_cartesian_shepp_logan, Debian ismrmrd-tools): the fully sampled file's k-space, inverse Fourier
// transformed, equals the coil images the generator stores beside it (read by h5py); the accelerated file with a
// calibration region gives the generator's line pattern, and CG-SENSE on it beats zero-filled against those coil
// images; broken files give one clear error.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "../common/run_cli.hpp"
#include "../common/temp_dir.hpp"
#include "reconlab/io/ismrmrd.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/operators.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"
#include "reconlab/solvers/reconstructors.hpp"

using namespace reconlab;
using reconlab::test_support::TempDir;

namespace {

bool have_generator() {
  return std::system("command -v ismrmrd_generate_cartesian_shepp_logan >/dev/null 2>&1") == 0 &&
         std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1") == 0;
}

/// The generator's coil images (reps, coils, Ny, Nx) of `file`, first repetition, as (Ny, Nx, coils) via h5py.
CArray coil_images(const TempDir& dir, const std::string& file) {
  const std::string script = "import h5py, numpy as np\n"
                             "c = h5py.File('" + file + "')['dataset/coil_images'][0]\n"
                             "c = (c['real'] + 1j * c['imag']).astype(np.complex64)\n"
                             "np.save('" + (dir / "coils.npy") + "', np.ascontiguousarray(c.transpose(0, 2, 1)))\n";
  std::ofstream(dir / "c.py") << script;
  EXPECT_EQ(std::system(("/usr/bin/python3 " + (dir / "c.py")).c_str()), 0);
  return io::read_npy_complex(dir / "coils.npy");
}

double rel_after_scale(const CArray& a, const CArray& ref) {
  std::complex<double> num = 0;
  double den = 0;
  for (Index i = 0; i < a.size(); ++i) num += std::conj(std::complex<double>(a.data()[i])) * std::complex<double>(ref.data()[i]), den += std::norm(a.data()[i]);
  const std::complex<double> s = num / den;
  double e = 0, n = 0;
  for (Index i = 0; i < a.size(); ++i) e += std::norm(s * std::complex<double>(a.data()[i]) - std::complex<double>(ref.data()[i])), n += std::norm(ref.data()[i]);
  return std::sqrt(e / n);
}

}  // namespace

TEST(IsmrmrdIo, FullySampledKspaceGivesTheGeneratorsCoilImages) {
  if (!have_generator()) GTEST_SKIP() << "ismrmrd-tools or python3-h5py missing";
  TempDir dir("ismrmrd_full");
  const std::string f = dir / "full.h5";
  ASSERT_EQ(std::system(("ismrmrd_generate_cartesian_shepp_logan -m 64 -c 4 -a 1 -n 0 -o " + f + " >/dev/null").c_str()), 0);
  const io::IsmrmrdData d = io::read_ismrmrd(f);
  EXPECT_EQ(d.encoded_nx, 128);  // readout oversampled 2x
  EXPECT_EQ(d.encoded_ny, 64);
  EXPECT_EQ(d.recon_nx, 64);
  EXPECT_EQ(dims_of(d.acquisition.kspace), (Dims{64, 128, 4, 1, 1}));
  EXPECT_EQ(d.readouts, 64);
  EXPECT_EQ(d.calibration_readouts, 0);
  Eigen::Tensor<float, 0> sampled = d.acquisition.mask().sum();
  EXPECT_EQ(sampled(), 64.0f * 128.0f);
  const CArray ours = EigenFftw::ifft2c(d.acquisition.kspace);
  const CArray ref = coil_images(dir, f);
  ASSERT_EQ(dims_of(ref), dims_of(ours));
  const double err = rel_after_scale(ours, ref);
  std::printf("fully sampled: relative difference to the generator's coil images %.2e\n", err);
  EXPECT_LT(err, 1e-4);
}

TEST(IsmrmrdIo, AcceleratedFileWithCalibrationReconstructs) {
  if (!have_generator()) GTEST_SKIP() << "ismrmrd-tools or python3-h5py missing";
  TempDir dir("ismrmrd_acc");
  const std::string f = dir / "acc.h5";
  ASSERT_EQ(std::system(("ismrmrd_generate_cartesian_shepp_logan -m 64 -c 4 -a 2 -w 16 -n 0 -o " + f + " >/dev/null").c_str()), 0);
  const io::IsmrmrdData d = io::read_ismrmrd(f);
  EXPECT_DOUBLE_EQ(d.acceleration_header, 2.0);
  // The generator writes 2 repetitions of 32 imaging lines plus the 8 calibration-only lines of a 16-line region.
  EXPECT_EQ(dims_of(d.acquisition.kspace), (Dims{64, 128, 4, 2, 1}));
  EXPECT_EQ(d.readouts, 80);
  EXPECT_EQ(d.calibration_readouts, 32);
  Eigen::Tensor<float, 0> lines = d.acquisition.mask().sum();
  EXPECT_EQ(lines(), 2 * 40 * 128.0f);
  for (Index x = 24; x < 40; ++x) EXPECT_EQ(d.acquisition.mask()(x, 0, 0, 0, 0), 1.0f) << "calibration line " << x;
  // One repetition: zero-filled RSS against CG-SENSE with maps from the calibration lines, against the RSS of the
  // generator's fully sampled coil images.
  Acquisition one;
  one.kspace = d.acquisition.kspace.chip(0, 3).reshape(Dims{64, 128, 4, 1, 1});
  one.sampling = CartesianMask(RArray(d.acquisition.mask().chip(0, 3).reshape(Dims{64, 128, 1, 1, 1})));
  const RArray truth = rss(coil_images(dir, f));
  auto err = [&](const CArray& x) { return rel_after_scale(to_complex(RArray(x.abs())), to_complex(truth)); };
  const double zf = err(solvers::ZeroFilledReconstructor().reconstruct(one));
  const double cg = err(solvers::CgSenseReconstructor(solvers::CgSenseOptions{.iterations = 30}, solvers::MapsSource::LowRes)
                            .reconstruct(one));
  std::printf("R = 2 with 16 calibration lines: zero-filled %.4f, CG-SENSE %.4f\n", zf, cg);
  EXPECT_LT(cg, 0.5 * zf);
}

TEST(IsmrmrdIo, BrokenFilesGiveOneClearError) {
  TempDir dir("ismrmrd_bad");
  std::ofstream(dir / "text.h5") << "not hdf5";
  for (const auto& [file, what] : std::vector<std::pair<std::string, std::string>>{
           {dir / "missing.h5", "missing file"}, {dir / "text.h5", "not an HDF5 file"}}) {
    try {
      io::read_ismrmrd(file);
      ADD_FAILURE() << file;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  }
  if (!have_generator()) return;
  const std::string f = dir / "ok.h5";
  ASSERT_EQ(std::system(("ismrmrd_generate_cartesian_shepp_logan -m 32 -c 2 -n 0 -o " + f + " >/dev/null").c_str()), 0);
  try {
    io::read_ismrmrd(f, "nosuch");
    ADD_FAILURE() << "no error for a missing group";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no dataset 'nosuch'"), std::string::npos) << e.what();
  }
  // A truncated copy.
  std::ifstream in(f, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir / "cut.h5", std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  EXPECT_THROW(io::read_ismrmrd(dir / "cut.h5"), Error);
}

// `reconlab recon` reads an ISMRMRD file like any k-space: the accelerated generator file, zero-filled per
// repetition (frames), written as (frames, ny, nx).
TEST(IsmrmrdCli, ReconReadsAnIsmrmrdFile) {
  if (!have_generator()) GTEST_SKIP() << "ismrmrd-tools or python3-h5py missing";
  TempDir dir("ismrmrd_cli");
  const std::string f = dir / "acc.h5";
  ASSERT_EQ(std::system(("ismrmrd_generate_cartesian_shepp_logan -m 64 -c 4 -a 2 -w 16 -n 0 -o " + f + " >/dev/null").c_str()), 0);
  auto r = test_support::run_cli("recon --method zero-filled --kspace " + f + " " + (dir / "zf.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"frames\":2"), std::string::npos) << r.out;
  EXPECT_EQ(dims_of(io::read_npy_complex(dir / "zf.npy", "fyx")), (Dims{64, 128, 1, 2, 1}));
  r = test_support::run_cli("recon --method zero-filled --mask m.npy --kspace " + f + " " + (dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("carries its own layout and mask"), std::string::npos) << r.out;
}

// A two-slice ISMRMRD file: two generator files (R = 2 with 8 and with 16 calibration lines, so the slices' masks
// differ; two repetitions each) merged by h5py
// into one dataset with idx.slice = 0 and 1 and encodingLimits.slice = 0..1. `recon` reconstructs every slice with
// its own mask into (slices, frames, ny, nx), each slice equal to the reconstruction of its single-slice file;
// --slice picks one; a slice outside the file is a clear error.
TEST(IsmrmrdCli, ReconReconstructsEverySliceOfAMultiSliceFile) {
  if (!have_generator()) GTEST_SKIP() << "ismrmrd-tools or python3-h5py missing";
  TempDir dir("ismrmrd_slices");
  const std::string a = dir / "calib8.h5", b = dir / "calib16.h5", both = dir / "two_slices.h5";
  ASSERT_EQ(std::system(("ismrmrd_generate_cartesian_shepp_logan -m 64 -c 4 -a 2 -w 8 -n 0 -o " + a + " >/dev/null").c_str()), 0);
  ASSERT_EQ(std::system(("ismrmrd_generate_cartesian_shepp_logan -m 64 -c 4 -a 2 -w 16 -n 0 -o " + b + " >/dev/null").c_str()), 0);
  const std::string script =
      "import h5py, numpy as np\n"
      "fa, fb = h5py.File('" + a + "', 'r'), h5py.File('" + b + "', 'r')\n"
      "da, db = fa['dataset/data'][:], fb['dataset/data'][:]\n"
      "da['head']['idx']['slice'] = 0\n"
      "db['head']['idx']['slice'] = 1\n"
      "xml = fa['dataset/xml'][0]\n"
      "xml = xml.decode() if isinstance(xml, bytes) else xml\n"
      "xml = xml.replace('<encodingLimits>', '<encodingLimits><slice><minimum>0</minimum><maximum>1</maximum>'\n"
      "                  '<center>0</center></slice>', 1)\n"
      "with h5py.File('" + both + "', 'w') as g:\n"
      "    g.create_dataset('dataset/xml', data=[xml.encode()], dtype=h5py.string_dtype('ascii'))\n"
      "    g.create_dataset('dataset/data', data=np.concatenate([da, db]), dtype=fa['dataset/data'].dtype,\n"
      "                     maxshape=(None,), chunks=True)\n";
  std::ofstream(dir / "merge.py") << script;
  ASSERT_EQ(std::system(("/usr/bin/python3 " + (dir / "merge.py")).c_str()), 0);
  const io::IsmrmrdData merged = io::read_ismrmrd(both);
  ASSERT_EQ(merged.acquisition.kspace.dimension(4), 2);
  auto r = test_support::run_cli("recon --method zero-filled --kspace " + both + " " + (dir / "zf.npy"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("\"slices\":2"), std::string::npos) << r.out;
  const io::NpyArray vol = io::read_npy(dir / "zf.npy");
  ASSERT_EQ(vol.shape, (std::vector<Index>{2, 2, 128, 64}));  // (slices, frames = repetitions, ny, nx)
  for (int s = 0; s < 2; ++s) {
    r = test_support::run_cli("recon --method zero-filled --kspace " + (s == 0 ? a : b) + " " + (dir / "one.npy"));
    ASSERT_EQ(r.status, 0) << r.out;
    const io::NpyArray one = io::read_npy(dir / "one.npy");
    ASSERT_EQ(one.data_c.size() * 2, vol.data_c.size());
    for (std::size_t i = 0; i < one.data_c.size(); ++i)
      ASSERT_EQ(vol.data_c[s * one.data_c.size() + i], one.data_c[i]) << "slice " << s << " element " << i;
    // --slice s alone gives the same slice.
    r = test_support::run_cli("recon --method zero-filled --slice " + std::to_string(s) + " --kspace " + both + " " +
                              (dir / "picked.npy"));
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(io::read_npy(dir / "picked.npy").data_c, one.data_c) << "slice " << s;
  }
  r = test_support::run_cli("recon --method zero-filled --slice 2 --kspace " + both + " " + (dir / "x.npy"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("outside 0..1"), std::string::npos) << r.out;
}
