// Tests of the MATLAB .mat reader (include/reconlab/io/mat.hpp, matio): the real ACDC k-t masks against values read
// with SciPy, files written by SciPy (double, single, complex, int16, logical, 1D), a v7.3 (HDF5) file, and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "../common/error_of.hpp"
#include "../common/temp_dir.hpp"
#include "reconlab/io/mat.hpp"

using namespace reconlab;
using ::testing::HasSubstr;
using reconlab::test_support::error_of;
using reconlab::test_support::TempDir;

namespace {

std::string acdc_dir() { return data_dir() + "/cine-acdc"; }

double mean_of(const RArray& a) {
  double s = 0;
  for (Index i = 0; i < a.size(); ++i) s += a.data()[i];
  return s / double(a.size());
}

std::string python_with_scipy() {
  for (std::string py : {"/usr/bin/python3", "python3"})
    if (std::system((py + " -c 'import scipy.io' >/dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

void copy_prefix(const std::string& from, const std::string& to, std::size_t n) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), n);
  std::ofstream(to, std::ios::binary).write(bytes.data(), std::streamsize(n));
}

}  // namespace

// Expected values obtained independently with SciPy 1.10.1 (/usr/bin/python3):
//   m = scipy.io.loadmat('mask_seq.mat')['sampling_mask_seq']  -> shape (184, 256, 29), uint8, m.mean() 0.0623360195
//   m[92, 128, 0] = 1, m[0, 0, 0] = 0, m[10, 200, 5] = 0, m[91, 127, 28] = 1, m[100, 50, 13] = 0, m[0, 67, 3] = 1,
//   m[:, :, 0].sum() = 2911
//   r = scipy.io.loadmat('mask_ref.mat')['sampling_mask_u0']  -> shape (184, 256), uint8, r.mean() 0.6646569293,
//   r[92, 128] = 1, r[0, 0] = 1, r[0, 1] = 0, r[183, 255] = 0, r.sum() = 31308
TEST(MatIo, ReadsTheAcdcMaskSequence) {
  const std::string p = acdc_dir() + "/mask_seq.mat";
  if (!std::filesystem::exists(p)) GTEST_SKIP() << "shared data file absent: " << p;
  EXPECT_EQ(io::mat_variables(p), std::vector<std::string>{"sampling_mask_seq"});
  const RArray m = io::read_mat_real(p, "sampling_mask_seq");
  ASSERT_EQ(dims_of(m), (Dims{256, 184, 1, 29, 1}));  // MATLAB (rows = ny, cols = nx, T) -> (nx, ny, 1, T, 1)
  EXPECT_NEAR(mean_of(m), 0.0623360195, 1e-9);
  // element (r, c, t) is m(c, r, 0, t, 0)
  EXPECT_EQ(m(128, 92, 0, 0, 0), 1.f);
  EXPECT_EQ(m(0, 0, 0, 0, 0), 0.f);
  EXPECT_EQ(m(200, 10, 0, 5, 0), 0.f);
  EXPECT_EQ(m(127, 91, 0, 28, 0), 1.f);
  EXPECT_EQ(m(50, 100, 0, 13, 0), 0.f);
  EXPECT_EQ(m(67, 0, 0, 3, 0), 1.f);
  double frame0 = 0;
  for (Index y = 0; y < 184; ++y)
    for (Index x = 0; x < 256; ++x) frame0 += m(x, y, 0, 0, 0);
  EXPECT_EQ(frame0, 2911.0);
}

TEST(MatIo, ReadsTheAcdcReferenceMask) {
  const std::string p = acdc_dir() + "/mask_ref.mat";
  if (!std::filesystem::exists(p)) GTEST_SKIP() << "shared data file absent: " << p;
  const RArray r = io::read_mat_real(p, "sampling_mask_u0");
  ASSERT_EQ(dims_of(r), (Dims{256, 184, 1, 1, 1}));
  EXPECT_NEAR(mean_of(r), 0.6646569293, 1e-9);
  EXPECT_EQ(r(128, 92, 0, 0, 0), 1.f);
  EXPECT_EQ(r(0, 0, 0, 0, 0), 1.f);
  EXPECT_EQ(r(1, 0, 0, 0, 0), 0.f);
  EXPECT_EQ(r(255, 183, 0, 0, 0), 0.f);
  // The complex reader gives the same values with zero imaginary parts.
  const CArray c = io::read_mat(p, "sampling_mask_u0");
  EXPECT_EQ(c(128, 92, 0, 0, 0), cfloat(1.f, 0.f));
}

TEST(MatIo, AcdcKtMasksStackReferenceThenSequenceInTheCineOrientation) {
  const std::string dir = acdc_dir();
  if (!std::filesystem::exists(dir + "/mask_seq.mat") || !std::filesystem::exists(dir + "/mask_ref.mat"))
    GTEST_SKIP() << "shared data absent: " << dir;
  const RArray m = io::acdc_kt_masks(dir);
  // The cine is (30, 184, 256) = (frames, ny, nx) -> dims (256, 184, 1, 30, 1): the masks must fit it as they are.
  ASSERT_EQ(dims_of(m), (Dims{256, 184, 1, 30, 1}));
  double f0 = 0, f1 = 0;
  for (Index y = 0; y < 184; ++y)
    for (Index x = 0; x < 256; ++x) {
      f0 += m(x, y, 0, 0, 0);
      f1 += m(x, y, 0, 1, 0);
    }
  EXPECT_EQ(f0, 31308.0);  // mask_ref.sum()
  EXPECT_EQ(f1, 2911.0);   // mask_seq[:, :, 0].sum()
  // Centred masks: the DC sample (x = nx/2, y = ny/2) is acquired in every frame.
  for (Index t = 0; t < 30; ++t) EXPECT_EQ(m(128, 92, 0, t, 0), 1.f) << "frame " << t;
}

TEST(MatIo, ClearErrorsForMissingFilesGarbageTruncationAndWrongVariables) {
  TempDir dir("mat_io");
  EXPECT_THAT(error_of([&] { io::read_mat(dir / "nope.mat", "x"); }), HasSubstr("does not exist"));
  const std::string garbage = dir / "garbage.mat";
  {
    std::ofstream out(garbage, std::ios::binary);
    for (int i = 0; i < 2000; ++i) out.put(char((i * 7919) % 251));
  }
  EXPECT_THAT(error_of([&] { io::read_mat(garbage, "x"); }), HasSubstr("not a MATLAB .mat file"));
  const std::string empty = dir / "empty.mat";
  std::ofstream(empty).close();
  EXPECT_THAT(error_of([&] { io::read_mat(empty, "x"); }), HasSubstr("is empty"));
  EXPECT_THAT(error_of([&] { io::mat_variables(garbage); }), HasSubstr("not a MATLAB .mat file"));

  const std::string seq = acdc_dir() + "/mask_seq.mat";
  if (!std::filesystem::exists(seq)) GTEST_SKIP() << "shared data file absent: " << seq;
  const std::string err = error_of([&] { io::read_mat(seq, "sampling_mask"); });
  EXPECT_THAT(err, HasSubstr("'sampling_mask' not found"));
  EXPECT_THAT(err, HasSubstr("sampling_mask_seq"));  // names the variables present
  // Truncated copies: header only, and most of the data.
  const auto size = std::filesystem::file_size(seq);
  for (std::size_t n : {std::size_t(200), std::size_t(size / 2), std::size_t(size - 16)}) {
    const std::string cut = dir / ("cut" + std::to_string(n) + ".mat");
    copy_prefix(seq, cut, n);
    const std::string e = error_of([&] { io::read_mat(cut, "sampling_mask_seq"); });
    EXPECT_THAT(e, HasSubstr("is truncated")) << "cut at " << n << " of " << size;
  }
}

// Files written by SciPy's savemat (MAT v5): real and complex classes, and the classes the reader refuses.
TEST(MatIo, ReadsFilesWrittenByScipyAndRefusesCellsStructsSparseAnd4D) {
  const std::string py = python_with_scipy();
  if (py.empty()) GTEST_SKIP() << "python3 with scipy is not available (apt-get install python3-scipy)";
  TempDir dir("mat_io");
  const std::string p = dir / "py.mat";
  // a[r, c, t] = 100 r + 10 c + t (+ 1j (r - c - t) for the complex one), shape (2, 3, 4)
  const std::string script =
      "import numpy as np, scipy.io, scipy.sparse\n"
      "r, c, t = np.meshgrid(np.arange(2), np.arange(3), np.arange(4), indexing='ij')\n"
      "a = 100.0 * r + 10 * c + t\n"
      "scipy.io.savemat('" + p + "', {'dbl': a, 'sgl': a.astype(np.float32), 'i16': -a.astype(np.int16),\n"
      "  'cpx': a + 1j * (r - c - t), 'cpx64': (a + 1j * (r - c - t)).astype(np.complex64),\n"
      "  'lgc': (a > 100), 'vec': np.arange(5.0), 'u8': np.array([[0, 255]], dtype=np.uint8),\n"
      "  'cel': np.array([np.arange(3.0), 'ab'], dtype=object), 'st': {'f': 1.0},\n"
      "  'sp': scipy.sparse.csc_matrix(np.eye(3)), 'four': np.zeros((2, 2, 2, 2)), 'txt': 'hello'})\n";
  const std::string sp = dir / "w.py";
  std::ofstream(sp) << script;
  ASSERT_EQ(std::system((py + " " + sp).c_str()), 0);

  const CArray dbl = io::read_mat(p, "dbl");
  ASSERT_EQ(dims_of(dbl), (Dims{3, 2, 1, 4, 1}));
  EXPECT_EQ(dbl(2, 1, 0, 3, 0), cfloat(123.f, 0.f));  // a[1, 2, 3]
  EXPECT_EQ(dbl(1, 0, 0, 2, 0), cfloat(12.f, 0.f));   // a[0, 1, 2]
  EXPECT_EQ(io::read_mat_real(p, "sgl")(2, 1, 0, 3, 0), 123.f);
  EXPECT_EQ(io::read_mat_real(p, "i16")(2, 1, 0, 3, 0), -123.f);
  for (const char* name : {"cpx", "cpx64"}) {
    const CArray c = io::read_mat(p, name);
    ASSERT_EQ(dims_of(c), (Dims{3, 2, 1, 4, 1})) << name;
    EXPECT_EQ(c(2, 1, 0, 3, 0), cfloat(123.f, -4.f)) << name;  // 1 - 2 - 3
    EXPECT_EQ(c(0, 1, 0, 1, 0), cfloat(101.f, 0.f)) << name;   // a[1, 0, 1], 1 - 0 - 1
  }
  EXPECT_THAT(error_of([&] { io::read_mat_real(p, "cpx"); }), HasSubstr("is complex"));
  const RArray l = io::read_mat_real(p, "lgc");
  EXPECT_EQ(l(2, 1, 0, 3, 0), 1.f);
  EXPECT_EQ(l(0, 1, 0, 0, 0), 0.f);  // a[1, 0, 0] = 100 is not > 100
  EXPECT_EQ(dims_of(io::read_mat_real(p, "vec")), (Dims{5, 1, 1, 1, 1}));  // savemat writes 1-D as a 1 x 5 row
  EXPECT_EQ(io::read_mat_real(p, "u8")(1, 0, 0, 0, 0), 255.f);

  EXPECT_THAT(error_of([&] { io::read_mat(p, "cel"); }), HasSubstr("class cell"));
  EXPECT_THAT(error_of([&] { io::read_mat(p, "st"); }), HasSubstr("class struct"));
  EXPECT_THAT(error_of([&] { io::read_mat(p, "sp"); }), HasSubstr("class sparse"));
  EXPECT_THAT(error_of([&] { io::read_mat(p, "txt"); }), HasSubstr("class char"));
  EXPECT_THAT(error_of([&] { io::read_mat(p, "four"); }), HasSubstr("4 dimensions"));
  const std::string missing = error_of([&] { io::read_mat(p, "nothere"); });
  EXPECT_THAT(missing, HasSubstr("dbl"));
  EXPECT_THAT(missing, HasSubstr("cpx64"));
}

// A v7.3 (HDF5) file, written with matio itself (no h5py here): the reader opens it through the same calls.
TEST(MatIo, ReadsAV73File) {
  TempDir dir("mat_io");
  const std::string p = dir / "v73.mat";
  mat_t* mat = Mat_CreateVer(p.c_str(), nullptr, MAT_FT_MAT73);
  if (!mat) GTEST_SKIP() << "this matio build cannot write v7.3 (no HDF5)";
  // MATLAB 2 x 3 single array, column-major data: element (r, c) = 10 r + c
  float data[6];
  for (int c = 0; c < 3; ++c)
    for (int r = 0; r < 2; ++r) data[r + 2 * c] = float(10 * r + c);
  std::size_t dims[2] = {2, 3};
  matvar_t* v = Mat_VarCreate("x", MAT_C_SINGLE, MAT_T_SINGLE, 2, dims, data, 0);
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE), 0);
  Mat_VarFree(v);
  Mat_Close(mat);
  const RArray a = io::read_mat_real(p, "x");
  ASSERT_EQ(dims_of(a), (Dims{3, 2, 1, 1, 1}));
  EXPECT_EQ(a(2, 1, 0, 0, 0), 12.f);
  EXPECT_EQ(a(1, 0, 0, 0, 0), 1.f);
  EXPECT_THAT(error_of([&] { io::read_mat(p, "y"); }), HasSubstr("the file holds: x"));
}
