// run_process (no shell) and the gnuplot figures through it, in folders whose names hold a quote and a space.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "reconlab/error.hpp"
#include "reconlab/study/figures.hpp"
#include "reconlab/subprocess.hpp"

namespace fs = std::filesystem;
using namespace reconlab;
using ::testing::HasSubstr;

namespace {

/// A fresh folder named with a single quote and a space, removed at scope exit.
struct QuotedDir {
  fs::path dir;
  QuotedDir() {
    dir = fs::temp_directory_path() / ("reconlab it's a dir " + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~QuotedDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

bool on_path(const std::string& program) {
  try {
    return run_process({program, "--version"}).exit_status == 0;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

TEST(Subprocess, ArgumentsReachTheProgramVerbatim) {
  // printf prints its format; %s| joins the others: no word splitting, globbing, expansion or unquoting.
  const ProcessResult r = run_process({"printf", "%s|", "$HOME", "*", "a'b c", "\"q\"", "x;y", ""});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.output, "$HOME|*|a'b c|\"q\"|x;y||");
}

TEST(Subprocess, CapturesStdoutAndStderrAndTheExitStatus) {
  const ProcessResult r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.output, "out\nerr\n");
  EXPECT_EQ(run_process({"sh", "-c", "kill -TERM $$"}).exit_status, 128 + 15);
  EXPECT_EQ(run_process({"true"}).exit_status, 0);
  EXPECT_EQ(run_process({"false"}).exit_status, 1);
}

TEST(Subprocess, RunsInAWorkingFolderWithAQuoteInItsName) {
  QuotedDir q;
  const ProcessResult r = run_process({"pwd", "-P"}, {.working_directory = q.dir, .output_file = {}});
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_EQ(r.output, fs::canonical(q.dir).string() + "\n");
  // Output to a file in that folder, stdout and stderr together.
  const fs::path log = q.dir / "it's.log";
  const ProcessResult f =
      run_process({"sh", "-c", "echo a; echo b >&2"}, {.working_directory = {}, .output_file = log});
  EXPECT_EQ(f.exit_status, 0);
  EXPECT_EQ(f.output, "");
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "a\nb\n");
}

TEST(Subprocess, MissingProgramOrFolderIsAClearError) {
  try {
    run_process({"reconlab-no-such-program-xyz", "a"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot run 'reconlab-no-such-program-xyz'"));
    EXPECT_THAT(e.what(), HasSubstr("No such file"));
  }
  EXPECT_THROW(run_process({"/nonexistent/dir/prog"}), Error);
  EXPECT_THROW(run_process({}), Error);
  try {
    run_process({"true"}, {.working_directory = "/nonexistent/folder", .output_file = {}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/folder does not exist"));
  }
}

TEST(Subprocess, CommandLineQuotesForAShell) {
  EXPECT_EQ(command_line({"bart", "pics", "-R", "T:3:0:0.01", "kspace", "out"}), "bart pics -R T:3:0:0.01 kspace out");
  EXPECT_EQ(command_line({"gnuplot", "/tmp/it's a dir/f.gp", ""}), "gnuplot '/tmp/it'\\''s a dir/f.gp' ''");
  // The rendering survives a real shell: sh -c "printf %s| <rendered>" prints the original arguments.
  const std::vector<std::string> args{"printf", "%s|", "it's", "a b", "$x", "*"};
  EXPECT_EQ(run_process({"sh", "-c", command_line(args)}).output, "it's|a b|$x|*|");
}

// A figure written into a folder with a quote and a space in its name: gnuplot runs without a shell and the
// script quotes every path for gnuplot. The PNG's own header must give the size the script asked for.
TEST(Figures, GnuplotWorksThroughAPathWithAQuote) {
  if (!on_path("gnuplot")) GTEST_SKIP() << "gnuplot not installed (Debian gnuplot-nox)";
  QuotedDir q;
  const fs::path csv = q.dir / "it's loss.csv";
  {
    std::ofstream out(csv);
    out << "epoch,train_loss,val_loss\n1,1.0,1.2\n2,0.5,0.7\n3,0.25,0.4\n";
  }
  const fs::path png = q.dir / "it's curve.png";
  study::loss_curve_figure(csv, png, "it's a title");
  ASSERT_TRUE(fs::exists(png));
  std::ifstream in(png, std::ios::binary);
  unsigned char h[24] = {};
  in.read(reinterpret_cast<char*>(h), 24);
  const unsigned char magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  EXPECT_TRUE(std::equal(magic, magic + 8, h));
  auto be32 = [&](int o) { return (std::uint32_t(h[o]) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]; };
  EXPECT_EQ(be32(16), 800u);  // IHDR width
  EXPECT_EQ(be32(20), 500u);  // IHDR height
  EXPECT_TRUE(fs::exists(q.dir / "it's curve.gp"));
  EXPECT_TRUE(fs::exists(q.dir / "it's curve.gp.log"));

  // A failing script: the error names the log, and the log holds gnuplot's message.
  const fs::path bad = q.dir / "bad'one.png";
  try {
    study::run_gnuplot(bad, "this is not gnuplot\n");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("gnuplot failed"));
    EXPECT_THAT(e.what(), HasSubstr("bad'one.gp.log"));
  }
  std::ifstream log(q.dir / "bad'one.gp.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(text.empty());
}

TEST(Printable, EscapesControlAndNonAsciiBytesOnly) {
  EXPECT_EQ(printable("plain text 'q' \\ ok"), "plain text 'q' \\ ok");
  EXPECT_EQ(printable(std::string("a\x07" "b\n\x1b[31m\x7f\xff")), "a\\x07b\\x0a\\x1b[31m\\x7f\\xff");
  EXPECT_EQ(printable(std::string("\0z", 2)), "\\x00z");
  const std::string once = printable("\x01\x02");
  EXPECT_EQ(printable(once), once);
}

namespace {
// Width and height from a PNG's IHDR chunk.
std::pair<std::uint32_t, std::uint32_t> png_size(const fs::path& png) {
  std::ifstream in(png, std::ios::binary);
  unsigned char h[24] = {};
  in.read(reinterpret_cast<char*>(h), 24);
  auto be32 = [&](int o) { return (std::uint32_t(h[o]) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3]; };
  return {be32(16), be32(20)};
}
}  // namespace

// A GAN's loss.csv (the trainer's columns plus a discriminator rate and recorded values): three plots side by side
// (losses, recorded values, learning rates), 800 pixels each; a file without val_loss is refused by name.
TEST(Figures, LossCurvesShowRecordedValuesAndLearningRates) {
  if (!on_path("gnuplot")) GTEST_SKIP() << "gnuplot not installed (Debian gnuplot-nox)";
  QuotedDir q;
  const fs::path csv = q.dir / "loss.csv";
  {
    std::ofstream out(csv);
    out << "epoch,train_loss,val_loss,lr,seconds,lr_discriminator,d_loss,g_adversarial,g_content\n"
        << "1,0.5,0.52,3e-5,7.8,2e-5,1.5,0.54,0.52\n2,0.58,0.50,2.85e-5,7.7,1.92e-5,1.46,0.58,0.54\n";
  }
  study::loss_curve_figure(csv, q.dir / "gan.png", "GAN");
  EXPECT_EQ(png_size(q.dir / "gan.png"), std::make_pair(2400u, 500u));
  std::ifstream gp(q.dir / "gan.gp");
  const std::string script((std::istreambuf_iterator<char>(gp)), std::istreambuf_iterator<char>());
  EXPECT_THAT(script, HasSubstr("using 1:6 with linespoints title 'lr_discriminator'"));
  EXPECT_THAT(script, HasSubstr("using 1:7 with linespoints title 'd_loss'"));
  {
    std::ofstream out(q.dir / "bad.csv");
    out << "epoch,train_loss\n1,0.5\n";
  }
  EXPECT_THROW(study::loss_curve_figure(q.dir / "bad.csv", q.dir / "bad.png", "bad"), Error);
}

// The zoomed region: window (nx/3) x (ny/3) centred where asked, shifted inside the image at the border, each
// pixel of the enlarged image the window pixel it covers (values x + 1000 y computed by hand).
TEST(Figures, ZoomRegionReplicatesItsWindow) {
  RArray img(30, 20, 1, 1, 1);
  for (Index y = 0; y < 20; ++y)
    for (Index x = 0; x < 30; ++x) img(x, y, 0, 0, 0) = float(x + 1000 * y);
  const study::ZoomRegion centre{.cx = 0.5, .cy = 0.5, .factor = 3};
  EXPECT_EQ(study::zoom_window(30, 20, centre), (std::array<Index, 4>{10, 7, 20, 13}));
  const RArray z = study::zoom_image(img, centre);
  ASSERT_EQ(z.dimension(0), 30);
  ASSERT_EQ(z.dimension(1), 20);
  EXPECT_EQ(z(0, 0, 0, 0, 0), 10 + 1000 * 7);
  EXPECT_EQ(z(2, 3, 0, 0, 0), 10 + 1000 * 7);   // (2 * 10 / 30, 3 * 6 / 20) = (0, 0)
  EXPECT_EQ(z(3, 4, 0, 0, 0), 11 + 1000 * 8);
  EXPECT_EQ(z(29, 19, 0, 0, 0), 19 + 1000 * 12);
  EXPECT_EQ(study::zoom_window(30, 20, {.cx = 1.0, .cy = 0.0, .factor = 2}), (std::array<Index, 4>{15, 0, 30, 10}));
  EXPECT_THROW(study::zoom_window(30, 20, {.cx = 0.5, .cy = 0.5, .factor = 1}), Error);
  EXPECT_THROW(study::zoom_window(30, 20, {.cx = 1.5, .cy = 0.5, .factor = 3}), Error);
}
