#include <gtest/gtest.h>
#include <gmock/gmock.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../common/have_bart.hpp"
#include "../common/random_data.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/bart.hpp"
#include "reconlab/solvers/reconstructors.hpp"

using namespace reconlab;
using reconlab::test_support::have_bart;
using reconlab::test_support::rel_diff;


// Round trip through BART's own centred unitary FFT: `bart fft -u 3` must equal our Fft2c (an independent
// implementation of the same transform), and the cfl written and read back keeps every sample.
TEST(Bart, FftRoundTripMatchesOurCentredFft) {
  if (!have_bart()) GTEST_SKIP() << "bart not installed";
  Random rng(4);
  CArray x(24, 18, 1, 1, 1);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = rng.complex_normal();
  auto r = solvers::run_bart("fft", {"-u", "3"}, {{"x", &x}});
  EXPECT_LT(rel_diff(r.output, EigenFftw::fft2c(x)), 1e-5);
  EXPECT_EQ(r.command, "bart fft -u 3 x out");
  auto back = solvers::run_bart("fft", {"-u", "-i", "3"}, {{"k", &r.output}});
  EXPECT_LT(rel_diff(back.output, x), 1e-5);
}

// TMPDIR holding a single quote and a space (which broke the shell command line bart used to be run through): the
// scratch folder lands there, bart runs in it, and `bart fft -u 3` still equals our centred unitary FFT;
// `bart pics` (the study's call) runs there too, and a bart failure is reported with bart's own message.
TEST(Bart, RunsWhenTmpdirHoldsAQuoteAndASpace) {
  if (!have_bart()) GTEST_SKIP() << "bart not installed";
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  const auto dir = std::filesystem::temp_directory_path() / ("reconlab it's tmp " + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  setenv("TMPDIR", dir.c_str(), 1);
  ASSERT_EQ(std::filesystem::temp_directory_path(), dir);
  Random rng(5);
  CArray x(16, 12, 1, 1, 1);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = rng.complex_normal();
  auto r = solvers::run_bart("fft", {"-u", "3"}, {{"x", &x}});
  EXPECT_LT(rel_diff(r.output, EigenFftw::fft2c(x)), 1e-5);
  EXPECT_EQ(r.command, "bart fft -u 3 x out");

  CArray k = EigenFftw::fft2c(x);
  CArray sens(16, 12, 1, 1, 1);
  sens.setConstant(cfloat(1, 0));
  auto p = solvers::bart_pics_tv(k, sens, {.lambda = 1e-4, .iterations = 30, .rescale = true});
  EXPECT_LT(rel_diff(p.output, x), 0.05);  // fully sampled, tiny lambda: pics returns the image itself

  EXPECT_THAT(solvers::bart_version(), ::testing::StartsWith("v"));
  try {
    solvers::run_bart("fft", {"-u", "3", "no-such-input"}, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("bart failed"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("bart fft -u 3 no-such-input out"));
  }
  if (old)
    setenv("TMPDIR", saved.c_str(), 1);
  else
    unsetenv("TMPDIR");
  // Every scratch folder was removed.
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

// Our wrapper reproduces the BART 0.8.00 pics outputs stored in ../shared/reference.
TEST(Bart, PicsMatchesReferenceOutputs) {
  if (!have_bart()) GTEST_SKIP() << "bart not installed";
  const std::string ref = shared_dir() + "/reference";
  if (!std::filesystem::exists(ref + "/manifest.json")) GTEST_SKIP() << "no " << ref;
  std::ifstream in(ref + "/manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  for (const auto& c : manifest.at("bart_pics")) {
    Acquisition acq;
    acq.kspace = io::read_npy_complex(ref + "/" + c.at("kspace").get<std::string>());
    RArray m1 = io::read_npy_real(ref + "/" + c.at("mask").get<std::string>());
    const Dims d = dims_of(acq.kspace);
    // The stored mask is 1D over the columns (x); broadcast it along y.
    RArray m2(d[0], d[1], 1, 1, 1);
    ASSERT_EQ(m1.size(), d[0]);
    for (Index y = 0; y < d[1]; ++y)
      for (Index x = 0; x < d[0]; ++x) m2(x, y, 0, 0, 0) = m1.data()[x] != 0 ? 1.f : 0.f;
    acq.sampling = m2;
    const std::string cmd = c.at("command").get<std::string>();
    const double lambda = std::stod(cmd.substr(cmd.find("T:3:0:") + 6));
    solvers::BartPicsReconstructor rec({.lambda = lambda, .iterations = 100, .rescale = true});
    CArray out = rec.reconstruct(acq);
    CArray expected = io::read_npy_complex(ref + "/" + c.at("reconstruction").get<std::string>());
    EXPECT_LT(rel_diff(out, expected), 2e-2) << cmd;
    EXPECT_THAT(rec.last_command(), ::testing::HasSubstr("pics -S -i 100 -R T:3:0:"));
  }
}

TEST(Bart, MissingBartGivesClearError) {
  setenv("RECONLAB_BART", "/nonexistent/bart", 1);
  try {
    solvers::find_bart();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("RECONLAB_BART"));
  }
  unsetenv("RECONLAB_BART");
  const std::string path = getenv("PATH") ? getenv("PATH") : "";
  setenv("PATH", "/nonexistent", 1);
  try {
    solvers::find_bart();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("bart not found"));
  }
  setenv("PATH", path.c_str(), 1);
}
