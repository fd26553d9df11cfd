#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reconlab/io/npy.hpp"
#include "reconlab/random.hpp"
#include "reconlab/solvers/rof.hpp"

using namespace reconlab;

namespace {
std::string ref_dir() { return shared_dir() + "/reference"; }

double rel_l2(const RArray& a, const RArray& b) {
  double e = 0, n = 0;
  for (Index i = 0; i < a.size(); ++i) {
    e += double(a.data()[i] - b.data()[i]) * (a.data()[i] - b.data()[i]);
    n += double(b.data()[i]) * b.data()[i];
  }
  return std::sqrt(e / n);
}
}  // namespace

// The scikit-image denoise_tv_chambolle minimisers (converged, eps 1e-9) are the independent reference.
TEST(Rof, MatchesScikitImageMinimisers) {
  if (!std::filesystem::exists(ref_dir() + "/manifest.json")) GTEST_SKIP() << "no " << ref_dir();
  std::ifstream in(ref_dir() + "/manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  for (const auto& c : manifest.at("rof")) {
    const RArray f = io::read_npy_real(ref_dir() + "/" + c.at("input").get<std::string>());
    const RArray ref = io::read_npy_real(ref_dir() + "/" + c.at("output").get<std::string>());
    const double w = c.at("weight").get<double>();
    solvers::SolverStatus st;
    const RArray u = solvers::rof_denoise(f, {.weight = w, .max_iterations = 5000, .eps = 1e-8}, &st);
    EXPECT_LT(rel_l2(u, ref), 1e-2) << "weight " << w;
    const double e_ref = c.at("energy_0.5l2_plus_w_tv").get<double>();
    EXPECT_NEAR(solvers::rof_energy(u, f, w), e_ref, 1e-3 * e_ref) << "weight " << w;
    // The reference is the minimiser: our energy cannot be noticeably lower.
    EXPECT_GT(solvers::rof_energy(u, f, w), e_ref * (1 - 1e-4));
  }
}

TEST(Rof, ObjectiveFallsAndLargerWeightSmoothsMore) {
  RArray f(48, 40, 1, 1, 1);
  Random rng(1);
  for (Index y = 0; y < 40; ++y)
    for (Index x = 0; x < 48; ++x) f(x, y, 0, 0, 0) = (x > 20 && y > 15 ? 1.f : 0.f) + float(rng.normal(0, 0.1));
  solvers::SolverStatus st;
  RArray u1 = solvers::rof_denoise(f, {.weight = 0.05, .max_iterations = 300, .eps = 1e-7}, &st);
  ASSERT_GT(st.objective.size(), 10u);
  EXPECT_LT(st.objective.back(), st.objective.front());
  RArray u2 = solvers::rof_denoise(f, {.weight = 0.3, .max_iterations = 300, .eps = 1e-7});
  auto tv = [](const RArray& u) { return solvers::rof_energy(u, u, 1.0); };
  EXPECT_LT(tv(u2), tv(u1));
  EXPECT_LT(tv(u1), tv(f));
}

TEST(Rof, RejectsBadInput) {
  RArray f(8, 8, 1, 1, 1);
  f.setZero();
  EXPECT_THROW(solvers::rof_denoise(f, {.weight = -1}), Error);
  f(2, 2, 0, 0, 0) = std::nanf("");
  EXPECT_THROW(solvers::rof_denoise(f, {.weight = 0.1}), Error);
}
