// Issue 7: the same `reconlab recon` command run several times must write the same bytes. FFTW plans are measured
// once and stored as wisdom (a fresh wisdom file here, so the first run measures and the others import it).
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "../common/random_data.hpp"
#include "../common/run_cli.hpp"
#include "reconlab/backends/eigen_fftw.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/masks.hpp"

using namespace reconlab;
using namespace reconlab::test_support;

namespace {
std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST(CliRerun, SameCommandWritesByteIdenticalOutputs) {
  const auto dir = std::filesystem::temp_directory_path() / ("reconlab_rerun_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto wisdom = dir / "wisdom";
  ::setenv("RECONLAB_FFTW_WISDOM", wisdom.c_str(), 1);  // inherited by the tool's processes
  // A smooth complex image (not noise: CS-TV must iterate) of odd and even sizes, undersampled.
  for (auto [nx, ny] : {std::pair<Index, Index>{96, 80}, {75, 61}}) {
    CArray img = random_array(make_dims(nx, ny), 3);
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) img(x, y, 0, 0, 0) = cfloat(x > nx / 3 && y > ny / 4 ? 1.f : 0.2f, 0.1f) +
                                                          0.05f * img(x, y, 0, 0, 0);
    const RArray mask = random_column_mask(nx, ny, 0.1, 4, 7).mask;
    const CArray k = EigenFftw::multiply_mask(mask, EigenFftw::fft2c(img));
    const auto kp = (dir / "k.npy").string(), mp = (dir / "m.npy").string();
    io::write_npy(kp, k);
    io::write_npy(mp, mask);
    for (const std::string method : {"zero-filled", "cs-tv"}) {
      std::string first;
      for (int run = 0; run < 4; ++run) {
        const auto out = dir / (method + std::to_string(run) + ".npy");
        const auto r = run_cli("recon --method " + method + " --kspace " + kp + " --mask " + mp + " " + out.string());
        ASSERT_EQ(r.status, 0) << r.out;
        const std::string bytes = slurp(out);
        ASSERT_FALSE(bytes.empty());
        if (run == 0)
          first = bytes;
        else
          EXPECT_EQ(bytes, first) << method << " run " << run << " (" << nx << " x " << ny << ") differs";
      }
    }
  }
  EXPECT_TRUE(std::filesystem::exists(wisdom)) << "no FFTW wisdom written";
  ::unsetenv("RECONLAB_FFTW_WISDOM");
  std::filesystem::remove_all(dir);
}
