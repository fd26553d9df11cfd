// The study runner (reconlab/study/runner.hpp): resuming (a method added later, an interrupted run), lazy
// preparation, smoke runs, frame rows, the summary's mean/std against a hand computation, weights, and the common
// command-line options with their errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "reconlab/random.hpp"
#include "reconlab/study/runner.hpp"

using namespace reconlab;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const auto d = fs::temp_directory_path() / ("reconlab_runner_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// Returns a constant image `value` on the acquisition's grid; counts its calls in *calls and throws on call number
/// `throw_on` (1-based; 0 = never).
class FakeReconstructor : public Reconstructor {
 public:
  FakeReconstructor(std::string name, float value, int* calls, int throw_on)
      : name_(std::move(name)), value_(value), calls_(calls), throw_on_(throw_on) {}
  std::string name() const override { return name_; }
  nlohmann::json parameters() const override { return {{"value", value_}}; }
  CArray reconstruct(const Acquisition& acq) override {
    ++*calls_;
    if (throw_on_ > 0 && *calls_ == throw_on_) throw Error(name_ + ": simulated interruption");
    const Dims d = acq.resolved_image_dims();
    CArray x(d[0], d[1], d[2], d[3], d[4]);
    x.setConstant(cfloat(value_));
    return x;
  }

 private:
  std::string name_;
  float value_;
  int* calls_;
  int throw_on_;
};

study::StudyInfo test_info() {
  study::StudyInfo info;
  info.name = "runner_test";
  info.description = "runner test";
  info.out_prefix = "runner_test";
  info.methods = {"a", "b", "c", "flaky"};
  return info;
}

/// A study in `out` with `n_cases` 8 x 8 cases (dataset "ds", R 4), each acquisition counted in *acquired.
struct Fixture {
  study::CommonOptions opt;
  int acquired = 0;
  std::map<std::string, int> calls;

  std::unique_ptr<study::Study> make(const fs::path& out, int n_cases, study::StudyInfo info = test_info(),
                                     Index frames = 1) {
    opt.out = out.string();
    opt.threads = 1;
    char arg0[] = "runner_test";
    char* argv[] = {arg0};
    auto s = std::make_unique<study::Study>(info, opt, 1, argv);
    for (int i = 0; i < n_cases; ++i) {
      RArray truth(8, 8, 1, frames, 1);
      truth.setConstant(0.5f);
      truth(0, 0, 0, 0, 0) = 1.0f;
      s->add_case({"ds", "case" + std::to_string(i), 4, {}, truth,
                  [this, frames] {
                    ++acquired;
                    Acquisition a;
                    a.kspace = CArray(8, 8, 1, frames, 1);
                    a.kspace.setConstant(cfloat(1));
                    RArray m(8, 8, 1, 1, 1);
                    m.setConstant(1.f);
                    a.sampling = m;
                    return a;
                  },
                  i == 0});
    }
    return s;
  }
  void add(std::unique_ptr<study::Study>& s, const std::string& name, float value, int throw_on = 0,
           std::function<void()> prepare = {}) {
    s->add_method({name,
                  [this, name, value, throw_on](const study::StudyCase&) {
                    return std::make_unique<FakeReconstructor>(name, value, &calls[name], throw_on);
                  },
                  std::move(prepare),
                  {}});
  }
};

}  // namespace

TEST(StudyRunner, ASecondRunWithAMethodAddedComputesOnlyTheNewRows) {
  const auto out = fresh_dir("add_method");
  Fixture f;
  {
    auto s = f.make(out, 3);
    f.add(s, "a", 0.5f);
    f.add(s, "b", 0.4f);
    s->run();
    EXPECT_EQ(s->table().rows().size(), 6u);
  }
  EXPECT_EQ(f.calls["a"], 3);
  EXPECT_EQ(f.calls["b"], 3);
  EXPECT_EQ(f.acquired, 3);
  f.calls.clear();
  f.acquired = 0;
  {
    auto s = f.make(out, 3);
    f.add(s, "a", 0.5f);
    f.add(s, "b", 0.4f);
    f.add(s, "c", 0.3f);
    s->run();
    EXPECT_EQ(s->table().rows().size(), 9u);
  }
  EXPECT_EQ(f.calls["a"], 0);
  EXPECT_EQ(f.calls["b"], 0);
  EXPECT_EQ(f.calls["c"], 3);
  EXPECT_EQ(f.acquired, 3);  // every case lacked its "c" row
  // The table on disk has each (case, method) once.
  study::ResultsTable t(out / "metrics.csv");
  EXPECT_EQ(t.rows().size(), 9u);
  for (int i = 0; i < 3; ++i)
    for (const std::string m : {"a", "b", "c"}) EXPECT_TRUE(t.has("ds", "case" + std::to_string(i), 4, m));
  // The sample case kept its truth, mask and reconstructions for the panels.
  for (const std::string what : {"truth", "mask", "a", "b", "c"})
    EXPECT_TRUE(fs::exists(out / "samples" / ("ds_case0_R4_" + what + ".npy"))) << what;
}

TEST(StudyRunner, AFolderOfAnotherSeedOrPresetIsRefusedNotMixed) {
  const auto out = fresh_dir("other_seed");
  Fixture f;
  {
    auto s = f.make(out, 2);
    f.add(s, "a", 0.5f);
    s->run();
  }
  f.opt.seed = 12345;  // another seed into the same folder would mix rows of two experiments
  EXPECT_THROW(f.make(out, 2), Error);
  f.opt.seed = study::CommonOptions{}.seed;
  f.opt.preset = "full";
  study::StudyInfo info = test_info();
  info.presets = {"quick", "full"};
  EXPECT_THROW(f.make(out, 2, info), Error);
  f.opt.preset = "quick";
  EXPECT_NO_THROW(f.make(out, 2, info));  // the same seed and preset resume
}

TEST(StudyRunner, AnInterruptedRunResumesWithoutRecomputingFinishedRows) {
  const auto out = fresh_dir("interrupted");
  Fixture f;
  {
    auto s = f.make(out, 4);
    f.add(s, "a", 0.5f);
    f.add(s, "flaky", 0.4f, /*throw_on=*/3);  // finishes 2 cases, throws on the third
    EXPECT_THROW(s->run(), Error);
    EXPECT_EQ(s->table().rows().size(), 5u);  // a x 3, flaky x 2
  }
  study::ResultsTable interrupted(out / "metrics.csv");
  EXPECT_EQ(interrupted.rows().size(), 5u);
  EXPECT_TRUE(interrupted.has("ds", "case2", 4, "a"));
  EXPECT_FALSE(interrupted.has("ds", "case2", 4, "flaky"));
  f.calls.clear();
  f.acquired = 0;
  {
    auto s = f.make(out, 4);
    f.add(s, "a", 0.5f);
    f.add(s, "flaky", 0.4f);
    s->run();
    EXPECT_EQ(s->table().rows().size(), 8u);
  }
  EXPECT_EQ(f.calls["a"], 1);      // only case3
  EXPECT_EQ(f.calls["flaky"], 2);  // case2 and case3
  EXPECT_EQ(f.acquired, 2);
}

TEST(StudyRunner, PreparationRunsOnceAndOnlyWhenARowIsMissing) {
  const auto out = fresh_dir("prepare");
  Fixture f;
  int trained = 0;
  auto train = study::once([&] { ++trained; });  // one training shared by two methods
  {
    auto s = f.make(out, 2);
    f.add(s, "a", 0.5f, 0, train);
    f.add(s, "b", 0.5f, 0, train);
    s->run();
  }
  EXPECT_EQ(trained, 1);
  f.calls.clear();
  f.acquired = 0;
  int trained_again = 0;
  {
    auto s = f.make(out, 2);
    f.add(s, "a", 0.5f, 0, [&] { ++trained_again; });
    s->run();
  }
  EXPECT_EQ(trained_again, 0);
  EXPECT_EQ(f.acquired, 0);
  EXPECT_EQ(f.calls["a"], 0);
}

TEST(StudyRunner, MaxCasesAndMethodSelectionMakeASmokeRun) {
  const auto out = fresh_dir("smoke");
  Fixture f;
  f.opt.max_cases = 2;
  f.opt.methods = {"b"};
  auto s = f.make(out, 5);
  f.add(s, "a", 0.5f);
  f.add(s, "b", 0.5f);
  EXPECT_EQ(s->method_names(), std::vector<std::string>{"b"});
  s->run();
  EXPECT_EQ(f.calls["a"], 0);
  EXPECT_EQ(f.calls["b"], 2);
  EXPECT_EQ((*s->manifest())["max_cases"], 2);
}

TEST(StudyRunner, FramesGiveOneRowEachWhereTheTableHasAFrameColumn) {
  Fixture f;
  auto info = test_info();
  {
    auto s = f.make(fresh_dir("no_frame_column"), 1, info, 3);
    f.add(s, "a", 0.5f);
    EXPECT_THROW(s->run(), Error);
  }
  info.columns.frame = true;
  const auto out = fresh_dir("frames");
  {
    auto s = f.make(out, 2, info, 3);
    f.add(s, "a", 0.5f);
    s->run();
  }
  study::ResultsTable t(out / "metrics.csv", {.frame = true});
  ASSERT_EQ(t.rows().size(), 6u);
  EXPECT_EQ(t.rows()[2].frame, 2);
  EXPECT_EQ(t.rows()[3].case_id, "case1");
  // Resumed: nothing to do.
  f.calls.clear();
  auto s = f.make(out, 2, info, 3);
  f.add(s, "a", 0.5f);
  s->run();
  EXPECT_EQ(f.calls["a"], 0);
}

TEST(StudyRunner, PerCineRowsAreTheMetricsOfTheWholeCine) {
  // A 3-frame cine and a prediction; per-frame rows as the runner writes them (data range of the whole cine).
  const Index nx = 12, ny = 10, nt = 3;
  RArray t(nx, ny, 1, nt, 1), x(nx, ny, 1, nt, 1);
  reconlab::Random g(4);
  for (Index i = 0; i < t.size(); ++i) {
    t.data()[i] = float(g.uniform_double(0.1, 1.0));
    x.data()[i] = t.data()[i] + float(g.normal(0.0, 0.02 * double(1 + i / (nx * ny))));  // frames differ
  }
  std::vector<study::ResultRow> rows;
  for (Index f = 0; f < nt; ++f)
    rows.push_back({"ds", "c", 5, "m", compute_metrics(study::frame_of(t, f), study::frame_of(x, f), 1.0), 2.0,
                    int(f), {}});
  rows.push_back({"ds", "single", 5, "m", {30, 0.9, 0.01, 0.03, 1.0}, 1.0, {}, {}});  // no frame: kept
  const auto cine = study::per_cine_rows(rows);
  ASSERT_EQ(cine.size(), 2u);
  // Whole-cine values computed here directly from the arrays.
  double e = 0, n = 0;
  for (Index i = 0; i < t.size(); ++i) e += std::pow(double(t.data()[i]) - x.data()[i], 2), n += std::pow(t.data()[i], 2);
  const double mse = e / double(t.size());
  EXPECT_FALSE(cine[0].frame.has_value());
  EXPECT_NEAR(cine[0].metrics.psnr, 10 * std::log10(1.0 / mse), 1e-4);
  EXPECT_NEAR(cine[0].metrics.nmse, e / n, 1e-6 * e / n);
  EXPECT_NEAR(cine[0].metrics.rmse, std::sqrt(mse), 1e-7);
  EXPECT_NEAR(cine[0].metrics.ssim, (rows[0].metrics.ssim + rows[1].metrics.ssim + rows[2].metrics.ssim) / 3, 1e-12);
  EXPECT_EQ(cine[0].seconds, 2.0);
  EXPECT_EQ(cine[1].case_id, "single");
  EXPECT_EQ(cine[1].metrics.psnr, 30);
}

TEST(StudyRunner, CineSummaryPerCineFileAndFigures) {
  Fixture f;
  auto info = test_info();
  info.columns.frame = true;
  const auto out = fresh_dir("cine_summary");
  auto s = f.make(out, 2, info, 4);
  f.add(s, "a", 0.5f);
  f.add(s, "b", 0.6f);
  s->run();
  const std::string md = s->write_summary("Cine", "Intro.");
  EXPECT_THAT(md, HasSubstr("## Per cine"));
  EXPECT_THAT(md, HasSubstr("## Per frame"));
  // Per cine: n = 2 cines; per frame: n = 8 frames.
  EXPECT_THAT(md, HasSubstr("| 4 | a | "));
  EXPECT_THAT(md, ::testing::ContainsRegex("\\| a \\| [0-9.]+ ± [0-9.]+ \\| [0-9.]+ ± [0-9.]+ \\| [0-9.]+ ± [0-9.]+ \\| 2 \\|"));
  EXPECT_THAT(md, ::testing::ContainsRegex("\\| b \\| [0-9.]+ ± [0-9.]+ \\| [0-9.]+ ± [0-9.]+ \\| [0-9.]+ ± [0-9.]+ \\| 8 \\|"));
  study::ResultsTable per_cine(out / "metrics_per_cine.csv", info.columns);
  ASSERT_EQ(per_cine.rows().size(), 4u);  // 2 cines x 2 methods
  EXPECT_FALSE(per_cine.rows()[0].frame.has_value());
  if (std::system("gnuplot --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot absent: no figures";
  s->cine_figures();
  s->panels();
  EXPECT_TRUE(fs::exists(out / "figures" / "xt_ds_case0_R4.png"));
  EXPECT_TRUE(fs::exists(out / "figures" / "mask_kt_ds_case0_R4.png"));
  EXPECT_TRUE(fs::exists(out / "figures" / "psnr_per_frame_ds_R4.png"));
  EXPECT_TRUE(fs::exists(out / "figures" / "panel_ds_case0_R4.png"));
}

TEST(StudyRunner, XtProfileStacksOneRowPerFrame) {
  RArray c(5, 4, 1, 3, 1);
  for (Index i = 0; i < c.size(); ++i) c.data()[i] = float(i);
  const RArray p = study::xt_profile(c, 2, 2);
  ASSERT_EQ(dims_of(p), make_dims(5, 6, 1, 1, 1));
  for (Index t = 0; t < 3; ++t)
    for (Index r = 0; r < 2; ++r)
      for (Index x = 0; x < 5; ++x) EXPECT_EQ(p(x, 2 * t + r, 0, 0, 0), float(x + 5 * (2 + 4 * t)));
  EXPECT_THROW(study::xt_profile(c, 4), Error);
}

TEST(StudyRunner, SummaryMeanAndStdEqualAHandComputation) {
  const auto out = fresh_dir("summary");
  Fixture f;
  auto s = f.make(out, 0);
  // PSNR 30, 32, 37 -> mean 33, sample std sqrt((9 + 1 + 16) / 2) = sqrt(13) = 3.6056; SSIM 0.5, 0.6, 0.7 ->
  // 0.6000 ± 0.1000; NMSE 0.01, 0.02, 0.03 -> 0.0200 ± 0.0100; seconds 1, 2, 6 -> 3.00.
  const double psnr[] = {30, 32, 37}, ssim[] = {0.5, 0.6, 0.7}, nmse[] = {0.01, 0.02, 0.03}, secs[] = {1, 2, 6};
  for (int i = 0; i < 3; ++i)
    s->table().add({"ds", "c" + std::to_string(i), 4, "m", {psnr[i], ssim[i], nmse[i], 0.1, 1.0}, secs[i], {}, {}});
  s->table().add({"ds", "c0", 8, "m", {20, 0.4, 0.5, 0.1, 1.0}, 1.0, {}, {}});           // another R: its own row
  s->table().add({"other", "c0", 4, "m", {10, 0.1, 0.9, 0.1, 1.0}, 1.0, {}, {}});        // another dataset: its own table
  f.add(s, "m", 0.5f);
  const std::string md = s->write_summary("Test study", "Intro.");
  std::ifstream in(out / "summary.md");
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(file.str(), md);
  EXPECT_THAT(md, HasSubstr("# Test study (quick preset)"));
  EXPECT_THAT(md, HasSubstr("### ds"));
  EXPECT_THAT(md, HasSubstr("| 4 | m | 33.00 ± 3.61 | 0.6000 ± 0.1000 | 0.0200 ± 0.0100 | 3 | 3.00 |"));
  EXPECT_THAT(md, HasSubstr("| 8 | m | 20.00 ± 0.00 | 0.4000 ± 0.0000 | 0.5000 ± 0.0000 | 1 | 1.00 |"));
  EXPECT_THAT(md, HasSubstr("### other"));
  EXPECT_NEAR(study::mean_of(s->table(), "ds", "m", &Metrics::psnr), (30 + 32 + 37 + 20) / 4.0, 1e-12);
}

TEST(StudyRunner, WeightsPerRAndShared) {
  Fixture f;
  auto s = f.make(fresh_dir("weights"), 0);
  s->choose_weights({{"x", {1, 2, 3}}}, {4, 8}, [](const std::string&, double w, std::optional<double> R) {
    return -std::abs(w - *R / 4);  // best: w = 1 at R 4, w = 2 at R 8
  });
  s->choose_weights({{"y", {0.1, 0.2}}}, [](const std::string&, double w, std::optional<double> R) {
    EXPECT_FALSE(R.has_value());
    return w;
  });
  EXPECT_DOUBLE_EQ(s->weight("x", 4), 1);
  EXPECT_DOUBLE_EQ(s->weight("x", 8), 2);
  EXPECT_DOUBLE_EQ(s->weight("y", 8), 0.2);
  EXPECT_DOUBLE_EQ(s->weight("zero-filled", 4), 0);  // no grid: no weight
  EXPECT_THROW(s->weight("x", 6), Error);            // a grid, but not for R 6
  EXPECT_DOUBLE_EQ((*s->manifest())["chosen_weights"]["x@R8"].get<double>(), 2);
}

namespace {
/// Parses `args` (without the program name) with the common options of test_info().
study::CommonOptions parse(const std::vector<std::string>& args, bool* go_on = nullptr) {
  CLI::App app{"test"};
  study::CommonOptions o;
  study::add_common_options(app, o, test_info());
  std::vector<const char*> argv{"runner_test"};
  for (const auto& a : args) argv.push_back(a.c_str());
  const bool r = study::parse_options(app, int(argv.size()), argv.data());
  if (go_on) *go_on = r;
  return o;
}

std::string parse_error(const std::vector<std::string>& args) {
  try {
    parse(args);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(StudyCli, ParsesTheCommonOptionsAndFillsDefaults) {
  const auto d = parse({});
  EXPECT_EQ(d.preset, "quick");
  EXPECT_EQ(d.seed, test_info().default_seed);
  const auto r = study::resolve_options(d, test_info());
  EXPECT_EQ(r.out, "results/runner_test_quick");
  EXPECT_GE(r.threads, 1);
  EXPECT_FALSE(r.data.empty());
  const auto o = parse({"--preset", "full", "--seed", "77", "--out", "/tmp/x y", "--threads", "2", "--data", "/d",
                        "--methods", "a,c", "--max-cases", "3"});
  EXPECT_EQ(o.preset, "full");
  EXPECT_EQ(o.seed, 77u);
  EXPECT_EQ(o.out, "/tmp/x y");
  EXPECT_EQ(o.threads, 2);
  EXPECT_EQ(o.data, "/d");
  EXPECT_EQ(o.methods, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(o.max_cases, 3);
  EXPECT_EQ(study::resolve_options(parse({"--preset", "full"}), test_info()).out, "results/runner_test_full");
  bool go_on = true;
  testing::internal::CaptureStdout();
  parse({"--help"}, &go_on);
  const std::string help = testing::internal::GetCapturedStdout();
  EXPECT_FALSE(go_on);
  EXPECT_THAT(help, HasSubstr("--max-cases"));
}

TEST(StudyCli, RejectsBadValuesWithClearErrors) {
  EXPECT_THAT(parse_error({"--preset", "huge"}), HasSubstr("--preset"));
  EXPECT_THAT(parse_error({"--preset", "huge"}), HasSubstr("huge"));
  EXPECT_THAT(parse_error({"--threads", "-1"}), HasSubstr("--threads"));
  EXPECT_THAT(parse_error({"--threads", "two"}), HasSubstr("--threads"));
  EXPECT_THAT(parse_error({"--seed", "abc"}), HasSubstr("--seed"));
  EXPECT_THAT(parse_error({"--seed", "-5"}), HasSubstr("--seed"));
  EXPECT_THAT(parse_error({"--methods", "a,nope"}), HasSubstr("nope"));
  EXPECT_THAT(parse_error({"--max-cases", "-2"}), HasSubstr("--max-cases"));
  EXPECT_THAT(parse_error({"--bogus"}), HasSubstr("--bogus"));
  EXPECT_THAT(parse_error({"--out"}), HasSubstr("--out"));
  // One line each, pointing at --help.
  const std::string e = parse_error({"--preset", "huge"});
  EXPECT_EQ(e.find('\n'), std::string::npos);
  EXPECT_THAT(e, HasSubstr("--help"));
}

TEST(StudyCli, ParseCommandLineReturnsTheExitStatus) {
  CLI::App app{"test"};
  study::CommonOptions o;
  study::add_common_options(app, o, test_info());
  char a0[] = "runner_test", a1[] = "--threads", a2[] = "x";
  char* bad[] = {a0, a1, a2};
  testing::internal::CaptureStderr();
  EXPECT_EQ(study::parse_command_line(app, 3, bad, "runner_test"), std::optional<int>(1));
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("runner_test: error: "));
  CLI::App app2{"test"};
  study::add_common_options(app2, o, test_info());
  char* good[] = {a0};
  EXPECT_EQ(study::parse_command_line(app2, 1, good, "runner_test"), std::nullopt);
}
