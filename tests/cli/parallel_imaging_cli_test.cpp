// `reconlab recon` on multi-coil k-space (.npy (coils, ny, nx)) with and without --sens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "../common/run_cli.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/sense.hpp"

using namespace reconlab;
using reconlab::test_support::run_cli;

namespace {


struct Files {
  std::filesystem::path dir;
  CArray image, maps;
};

/// 4-coil noise-free data (smooth random maps, R = 2 rows plus 8 ACS rows) written as .npy (coils, ny, nx).
Files write_case() {
  Files f;
  f.dir = std::filesystem::temp_directory_path() / ("reconlab_pi_cli_" + std::to_string(::getpid()));
  std::filesystem::create_directories(f.dir);
  const Index nx = 40, ny = 32, nc = 4;
  f.image = CArray(nx, ny, 1, 1, 1);
  f.maps = CArray(nx, ny, nc, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) {
      f.image(x, y, 0, 0, 0) = cfloat(std::abs(x - nx / 2) < 12 && std::abs(y - ny / 2) < 10 ? 1.f : 0.1f, 0.f);
      for (Index c = 0; c < nc; ++c)
        f.maps(x, y, c, 0, 0) = std::polar(1.0f + 0.5f * std::cos(float(x + 7 * c) / 9.f), float(y * c) / 20.f);
    }
  RArray mask(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) mask(x, y, 0, 0, 0) = (y % 2 == 0 || std::abs(y - ny / 2) < 4) ? 1.f : 0.f;
  const CArray k = SenseOperator<EigenFftw>(mask, f.maps).apply(f.image);
  io::write_npy((f.dir / "k.npy").string(), k);
  io::write_npy((f.dir / "maps.npy").string(), f.maps);
  CArray wrong = f.maps.slice(Eigen::array<Index, 5>{0, 0, 0, 0, 0}, Eigen::array<Index, 5>{nx, ny, 3, 1, 1});
  io::write_npy((f.dir / "maps3.npy").string(), wrong);
  return f;
}

}  // namespace

TEST(CliParallelImaging, CgSenseWithGivenMapsRecoversTheImage) {
  const Files f = write_case();
  const auto [rc, out] = run_cli("recon --method cg-sense --iterations 60 --kspace " + (f.dir / "k.npy").string() +
                                 " --sens " + (f.dir / "maps.npy").string() + " " + (f.dir / "x.npy").string());
  ASSERT_EQ(rc, 0) << out;
  const CArray x = io::read_npy_complex((f.dir / "x.npy").string());
  double e = 0, nrm = 0;
  for (Index i = 0; i < x.size(); ++i) e += std::norm(x.data()[i] - f.image.data()[i]), nrm += std::norm(f.image.data()[i]);
  EXPECT_LT(std::sqrt(e / nrm), 1e-3);
}

TEST(CliParallelImaging, GrappaAndEstimatedMapsRunOnMultiCoilNpy) {
  const Files f = write_case();
  for (const std::string m : {"grappa", "cg-sense", "zero-filled"}) {
    const auto [rc, out] = run_cli("recon --method " + m + " --kspace " + (f.dir / "k.npy").string() + " " +
                                   (f.dir / (m + ".npy")).string());
    EXPECT_EQ(rc, 0) << m << ": " << out;
    const CArray x = io::read_npy_complex((f.dir / (m + ".npy")).string());
    EXPECT_EQ(dims_of(x), make_dims(40, 32)) << m;
  }
}

TEST(CliParallelImaging, CoilCountMismatchIsOneClearErrorLine) {
  const Files f = write_case();
  const auto [rc, out] = run_cli("recon --method cg-sense --kspace " + (f.dir / "k.npy").string() + " --sens " +
                                 (f.dir / "maps3.npy").string() + " " + (f.dir / "y.npy").string());
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(out, ::testing::HasSubstr("coil counts disagree: k-space has 4 coils, sensitivity maps have 3"));
}
