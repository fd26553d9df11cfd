// The fuzzing seed corpus and crash regressions (issue 12), replayed through the same entry points the libFuzzer
// harnesses call (tests/fuzz/readers.hpp). The seeds are valid files written by NumPy, SciPy, h5py, zlib/struct
// and ismrmrd-tools (scripts/make_fuzz_corpus.py), not by reconlab: each must be accepted, and each cut to half its
// length must be refused with reconlab::Error (a truncated file is never read as a smaller picture). Every input a
// fuzzer once crashed on (tests/fuzz/regressions/<reader>/) must now be read or refused, never crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../fuzz/readers.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const fs::path kFuzzDir = fs::path(RECONLAB_SOURCE_DIR) / "tests" / "fuzz";

}  // namespace

TEST(FuzzCorpus, EverySeedIsReadAndEveryHalfSeedRefused) {
  for (const auto& reader : reconlab::fuzz::reader_names()) {
    const auto seeds = files_in(kFuzzDir / "corpus" / reader);
    ASSERT_FALSE(seeds.empty()) << "no seed corpus for " << reader << " (scripts/make_fuzz_corpus.py)";
    for (const auto& f : seeds) {
      const auto b = bytes_of(f);
      std::string error;
      EXPECT_TRUE(reconlab::fuzz::read_with(reader, b.data(), b.size(), &error)) << reader << ": " << f << ": " << error;
      EXPECT_FALSE(reconlab::fuzz::read_with(reader, b.data(), b.size() / 2)) << reader << ": half of " << f;
    }
  }
}

TEST(FuzzCorpus, CrashInputsStayFixed) {
  for (const auto& reader : reconlab::fuzz::reader_names())
    for (const auto& f : files_in(kFuzzDir / "regressions" / reader)) {
      const auto b = bytes_of(f);
      EXPECT_NO_THROW((void)reconlab::fuzz::read_with(reader, b.data(), b.size())) << reader << ": " << f;
    }
}
