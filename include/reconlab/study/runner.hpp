#pragma once
/// @file runner.hpp
/// The one study runner: a study is cases (dataset, case id, acceleration R, optional scale, ground truth and a
/// lazily built Acquisition) x methods (name + Reconstructor factory, optionally a preparation step such as
/// training), with presets and the common command line (CLI11), the resumable case x method loop over metrics.csv
/// (rows already there are not recomputed), manifest.json (study::Manifest), the validation grid search
/// (study::choose_weight), summary.md, box plots and image panels. A study executable supplies only its data,
/// its methods and its training. No LibTorch here: networks enter as Reconstructor factories.
///
/// A study's main():
///   return study::run_study({name, description, out_prefix, seed, methods}, argc, argv,
///                           [&](CLI::App& app) { /* study-specific options */ },
///                           [&](study::Study& s) { /* data, weights, methods, cases */ s.run(); /* summary */ });
#include <CLI/CLI.hpp>
#include <fftw3.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "reconlab/acquisition.hpp"
#include "reconlab/array.hpp"
#include "reconlab/backends/eigen_fftw.hpp"
#include "reconlab/io/npy.hpp"
#include "reconlab/nufft.hpp"
#include "reconlab/metrics.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/study/figures.hpp"
#include "reconlab/study/manifest.hpp"
#include "reconlab/study/results.hpp"

namespace reconlab::study {

/// Seconds elapsed since `t0` (steady clock).
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// What a study is: its name (manifest "study", messages), command-line description, default output folder
/// results/<out_prefix>_<preset>, default seed, preset names, every method it can run (for --methods) and the
/// optional columns of its metrics.csv.
struct StudyInfo {
  std::string name;
  std::string description;
  std::string out_prefix;
  uint64_t default_seed = 1234;
  std::vector<std::string> methods;
  std::vector<std::string> presets = {"quick", "full"};
  TableColumns columns;

  StudyInfo() = default;
  StudyInfo(std::string name_, std::string description_, std::string out_prefix_, uint64_t default_seed_,
            std::vector<std::string> methods_, TableColumns columns_ = {})
      : name(std::move(name_)),
        description(std::move(description_)),
        out_prefix(std::move(out_prefix_)),
        default_seed(default_seed_),
        methods(std::move(methods_)),
        columns(columns_) {}
};

/// The options every study takes (add_common_options); defaults are filled in by resolve_options.
struct CommonOptions {
  std::string preset;                ///< one of StudyInfo::presets (default: the first)
  uint64_t seed = 0;                 ///< seed of every random choice (default StudyInfo::default_seed)
  std::string out;                   ///< output folder (default results/<out_prefix>_<preset>)
  int threads = 0;                   ///< threads for FFTW and LibTorch; 0 = all cores
  std::string data;                  ///< shared data folder (default data_dir(): $RECONLAB_DATA or ../shared/data)
  std::vector<std::string> methods;  ///< run only these methods (default: all)
  int max_cases = 0;                 ///< > 0: only the first max_cases cases of each (dataset, R, scale): a smoke run
};

/// Adds --preset, --seed, --out, --threads, --data, --methods and --max-cases to `app`, bound to `o`, with checks
/// that reject bad values (unknown preset or method, negative threads or case counts, non-numbers) when parsing.
inline void add_common_options(CLI::App& app, CommonOptions& o, const StudyInfo& info) {
  require(!info.presets.empty(), "add_common_options: a study needs at least one preset");
  o.preset = info.presets.front();
  o.seed = info.default_seed;
  std::string presets;
  for (const auto& p : info.presets) presets += (presets.empty() ? "" : " | ") + p;
  app.add_option("--preset", o.preset, presets)->check(CLI::IsMember(info.presets))->capture_default_str();
  app.add_option("--seed", o.seed, "seed of every random choice (data, masks, noise, training)")
      ->check(CLI::Validator(
          [](std::string& v) {  // CLI11 would wrap "-5" around to 2^64 - 5
            return v.find_first_not_of("0123456789") == std::string::npos && !v.empty()
                       ? std::string()
                       : "seed must be a non-negative integer, got '" + v + "'";
          },
          "UINT"))
      ->capture_default_str();
  app.add_option("--out", o.out, "output folder (default results/" + info.out_prefix + "_<preset>)");
  app.add_option("--threads", o.threads, "threads for FFTW and LibTorch (default 0: all cores)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--data", o.data, "shared data folder (default $RECONLAB_DATA or ../shared/data)");
  auto* m = app.add_option("--methods", o.methods, "run only these methods (comma-separated; default all)")
                ->delimiter(',');
  if (!info.methods.empty()) m->check(CLI::IsMember(info.methods));
  app.add_option("--max-cases", o.max_cases,
                 "smoke run: only the first N cases of each dataset and R (default 0: all)")
      ->check(CLI::Range(0, 1 << 30));
}

/// Parses the command line into `app`. Returns true to go on, false when --help was printed. Throws Error with
/// one line naming the option and the problem on bad input (CLI11's message).
inline bool parse_options(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return false;
  } catch (const CLI::CallForAllHelp& e) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return false;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (char& c : what)
      if (c == '\n') c = ' ';
    throw Error(what + " (see --help)");
  }
  return true;
}

/// parse_options for main(): returns std::nullopt to go on, 0 after --help, 1 after printing
/// "<study>: error: <message>" (one line) to stderr.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const std::string& study) {
  try {
    if (!parse_options(app, argc, argv)) return 0;
  } catch (const Error& e) {
    std::cerr << study << ": error: " << e.what() << "\n";
    return 1;
  }
  return std::nullopt;
}

/// Runs `body`; an exception is logged as one error line and gives exit status 1.
inline int guarded(const std::string& study, const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    spdlog::error("{}: {}", study, e.what());
    return 1;
  }
  return 0;
}

/// Fills the defaults of `o` (output folder, data folder, threads = all cores).
inline CommonOptions resolve_options(CommonOptions o, const StudyInfo& info) {
  if (o.preset.empty()) o.preset = info.presets.front();
  if (o.out.empty()) o.out = "results/" + info.out_prefix + "_" + o.preset;
  if (o.data.empty()) o.data = data_dir();
  if (o.threads <= 0) o.threads = int(std::max(1u, std::thread::hardware_concurrency()));
  return o;
}

/// `f` wrapped so that it runs once however often the result is called (a training shared by several methods).
inline std::function<void()> once(std::function<void()> f) {
  auto done = std::make_shared<bool>(false);
  return [f = std::move(f), done] {
    if (*done) return;
    f();
    *done = true;
  };
}

/// One case: a ground truth and the acquisition to reconstruct it from.
struct StudyCase {
  std::string dataset, id;
  double acceleration = 0;       ///< nominal R (the acceleration column)
  std::optional<double> scale;   ///< the scale column, for studies that have one
  RArray truth;                  ///< magnitude ground truth, dims (nx, ny, 1, frames, 1)
  std::function<Acquisition()> acquire;  ///< called once per run, only when one of the case's rows is missing
  bool sample = false;           ///< keep truth, mask and reconstructions under samples/ for the panels
  Index panel_frame = 0;         ///< cines: the frame shown by panels() (clamped to the cine)
  Index profile_row = -1;        ///< cines: the row y of the x-t profiles (cine_figures); -1: the middle row
};

/// The sampling pattern of a trajectory acquisition on its Cartesian image grid, for the figures' mask panels:
/// (nx, ny, 1, frames, 1), 1 in every k-space cell (k rounded to the nearest integer, cycles per FOV, centre at
/// n/2) that holds a sample of that frame, 0 elsewhere. Throws Error for a Cartesian acquisition.
inline RArray trajectory_coverage(const Acquisition& acq) {
  require(!acq.cartesian(), "trajectory_coverage: the acquisition is Cartesian");
  const Dims id = acq.resolved_image_dims();
  const Index T = acq.frames();
  const RArray t = trajectory_for_frames(acq.trajectory().coords, T);
  RArray m(id[0], id[1], 1, T, 1);
  m.setZero();
  for (Index f = 0; f < T; ++f)
    for (Index j = 0; j < t.dimension(2); ++j)
      for (Index i = 0; i < t.dimension(1); ++i) {
        const Index x = Index(std::lround(t(0, i, j, f, 0))) + id[0] / 2, y = Index(std::lround(t(1, i, j, f, 0))) + id[1] / 2;
        if (x >= 0 && x < id[0] && y >= 0 && y < id[1]) m(x, y, 0, f, 0) = 1.0f;
      }
  return m;
}

/// A validation case of a weight search: the magnitude truth (nx, ny, 1, frames, 1), data range 1, and its
/// acquisition.
struct ValidationCase {
  RArray truth;
  Acquisition acq;
};

/// The score of a weight search: the mean over cases of the mean PSNR over frames of |rec(acq)| against the truth,
/// data range 1 (truths normalised to maximum 1). Throws Error for no cases and as the reconstructor and
/// compute_metrics_per_slice do.
inline double mean_frame_psnr(Reconstructor& rec, const std::vector<ValidationCase>& val) {
  require(!val.empty(), "mean_frame_psnr: no validation cases");
  double s = 0;
  for (const auto& v : val) {
    const RArray x = rec.reconstruct(v.acq).abs();
    for (const auto& m : compute_metrics_per_slice(v.truth, x, 1.0)) s += m.psnr / double(v.truth.dimension(3));
  }
  return s / double(val.size());
}

/// One method: its name (table rows), a factory of its Reconstructor for a case, an optional preparation run once
/// before its first missing row (training or loading a network; not run at all when every row exists), and an
/// optional filter (false: the method has no row for that case, e.g. GRAPPA on 2D masks).
struct StudyMethod {
  std::string name;
  std::function<std::shared_ptr<Reconstructor>(const StudyCase&)> make;
  std::function<void()> prepare;
  std::function<bool(const StudyCase&)> applies;
};

/// `frame` f of `a` (nx, ny, 1, frames, 1) as (nx, ny, 1, 1, 1).
inline RArray frame_of(const RArray& a, Index f) {
  if (a.dimension(3) == 1) return a;
  Eigen::array<Index, 5> off{0, 0, 0, f, 0}, ext{a.dimension(0), a.dimension(1), 1, 1, 1};
  RArray out = a.slice(off, ext);
  return out;
}

/// A comparison panel: row 1 the reference and each reconstruction (titled by `label(method, image)`); when `zoom`
/// is given, next the zoomed region (zoom_image) of the reference and of each reconstruction, the window outlined
/// on the reference of row 1; then `corner` (e.g. the mask) and |image - reference| of each (window
/// 0..error_window, titled error_label + method); and, when `difference_to` names one of the methods, a last row:
/// (that method - each method), window +-error_window. Every image has the reference's dims (nx, ny, 1, 1, 1).
/// Throws Error as image_panel and zoom_window do.
inline void comparison_panel(const PanelImage& reference, const PanelImage& corner,
                             const std::vector<std::pair<std::string, RArray>>& recs,
                             const std::function<std::string(const std::string&, const RArray&)>& label,
                             const std::filesystem::path& png, const std::string& title, float error_window = 0.2f,
                             const std::string& difference_to = "", const std::string& error_label = "|error| ",
                             const std::optional<ZoomRegion>& zoom = std::nullopt) {
  std::vector<PanelImage> imgs{reference}, zooms, errs{corner}, diffs;
  if (zoom) {
    std::ostringstream t;
    t << reference.title << " (zoom x" << zoom->factor << ")";
    imgs[0].box = zoom_window(reference.image.dimension(0), reference.image.dimension(1), *zoom);
    zooms.push_back({t.str(), zoom_image(reference.image, *zoom), reference.lo, reference.hi});
  }
  const RArray* ref_method = nullptr;
  for (const auto& [m, x] : recs)
    if (m == difference_to) ref_method = &x;
  if (ref_method) {
    std::ostringstream t;
    t << "(" << difference_to << " - method) +-" << error_window;
    diffs.push_back({t.str(), RArray(reference.image.constant(0.f)), -error_window, error_window});
  }
  for (const auto& [m, x] : recs) {
    imgs.push_back({label(m, x), x, reference.lo, reference.hi});
    if (zoom) zooms.push_back({m + " (zoom)", zoom_image(x, *zoom), reference.lo, reference.hi});
    errs.push_back({error_label + m, RArray((x - reference.image).abs()), 0.f, error_window});
    if (ref_method) diffs.push_back({difference_to + " - " + m, RArray(*ref_method - x), -error_window, error_window});
  }
  imgs.insert(imgs.end(), zooms.begin(), zooms.end());
  imgs.insert(imgs.end(), errs.begin(), errs.end());
  imgs.insert(imgs.end(), diffs.begin(), diffs.end());
  image_panel(imgs, int(recs.size()) + 1, png, title);
}

/// Options of Study::panels.
struct PanelOptions {
  float error_window = 0.2f;
  std::string difference_to;        ///< a method: adds the row (method - each method), as comparison_panel
  std::optional<ZoomRegion> zoom;   ///< adds the row of zoomed regions, as comparison_panel
};

/// One study: its options, output folder, manifest, metrics table, chosen weights, methods and cases.
class Study {
 public:
  /// Validation scores of a weight: score(method, weight, R) (R = nullopt for weights shared by every R), e.g. the
  /// mean validation PSNR in dB; the highest wins.
  using Score = std::function<double(const std::string& method, double weight, std::optional<double> R)>;
  using Grid = std::map<std::string, std::vector<double>>;

  /// Resolves the options' defaults, creates out/ (figures/, samples/), sets the FFTW threads, loads or starts
  /// manifest.json (recording study, command, preset, seed, threads, smoke settings and versions) and metrics.csv.
  /// Throws Error when an existing metrics.csv or manifest.json is malformed, and when the folder holds a run of
  /// another preset or seed (Manifest::fix).
  Study(StudyInfo info, const CommonOptions& options, int argc, char** argv)
      : info_(std::move(info)),
        options_(resolve_options(options, info_)),
        out_(options_.out),
        manifest_((std::filesystem::create_directories(out_), out_), info_.name, argc, argv),
        table_(out_ / "metrics.csv", info_.columns),
        start_(std::chrono::steady_clock::now()) {
    std::filesystem::create_directories(out_ / "figures");
    std::filesystem::create_directories(out_ / "samples");
    // OpenMP threads that spin while waiting stall LibTorch badly when another process holds a core (measured on
    // the 2-core machine: 200 s per epoch instead of 30 s); passive waiting costs little on an idle machine.
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    EigenFftw::set_fft_threads(options_.threads);
    manifest_.fix("preset", options_.preset);
    manifest_.fix("seed", options_.seed);
    manifest_["threads"] = options_.threads;
    if (options_.max_cases > 0) manifest_["max_cases"] = options_.max_cases;
    if (!options_.methods.empty()) manifest_["methods_selected"] = options_.methods;
#ifdef RECONLAB_VERSION
    manifest_["versions"]["reconlab"] = RECONLAB_VERSION;
#endif
    manifest_["versions"]["fftw"] = std::string(fftwf_version);
    manifest_["versions"]["eigen"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                                     "." + std::to_string(EIGEN_MINOR_VERSION);
    manifest_.save();
    spdlog::info("{}, preset {}, output {}", info_.name, options_.preset, std::filesystem::absolute(out_).string());
  }
  // Not copyable or movable: method factories added by add_weighted_method refer to this object.
  Study(const Study&) = delete;
  Study& operator=(const Study&) = delete;

  const StudyInfo& info() const { return info_; }
  const CommonOptions& options() const { return options_; }
  uint64_t seed() const { return options_.seed; }
  const std::filesystem::path& out() const { return out_; }
  Manifest& manifest() { return manifest_; }
  ResultsTable& table() { return table_; }
  const ResultsTable& table() const { return table_; }

  /// True when `method` runs in this invocation (no --methods, or named there).
  bool selected(const std::string& method) const {
    return options_.methods.empty() ||
           std::find(options_.methods.begin(), options_.methods.end(), method) != options_.methods.end();
  }

  /// Chooses one weight per method of `grid` (keys "<method>"), by score(method, w, nullopt), on validation data;
  /// recorded in the manifest (choose_weight). Methods not selected are skipped.
  void choose_weights(const Grid& grid, const Score& score) {
    for (const auto& [method, values] : grid) {
      if (!selected(method)) continue;
      weighted_.insert(method);
      chosen_[method] = choose_weight(manifest_, method, values, [&](double w) { return score(method, w, {}); });
    }
  }
  /// Chooses a weight per method of `grid` and per R of `rs` (keys "<method>@R<R>"), by score(method, w, R).
  void choose_weights(const Grid& grid, const std::vector<double>& rs, const Score& score) {
    for (double R : rs)
      for (const auto& [method, values] : grid) {
        if (!selected(method)) continue;
        weighted_.insert(method);
        const std::string key = weight_key(method, R);
        chosen_[key] = choose_weight(manifest_, key, values, [&](double w) { return score(method, w, R); });
      }
  }
  /// The weight chosen for `method` at `R` (key "<method>@R<R>", else "<method>"); 0 for a method that has no
  /// grid. Throws Error when the method has a grid but no weight for R.
  double weight(const std::string& method, double R) const {
    if (auto it = chosen_.find(weight_key(method, R)); it != chosen_.end()) return it->second;
    if (auto it = chosen_.find(method); it != chosen_.end()) return it->second;
    require(!weighted_.count(method), "no weight chosen for " + method + " at R = " + std::to_string(R));
    return 0.0;
  }
  /// Every chosen weight by key.
  const std::map<std::string, double>& chosen_weights() const { return chosen_; }
  static std::string weight_key(const std::string& method, double R) {
    std::ostringstream k;
    k << method << "@R" << R;
    return k.str();
  }

  /// Adds a method (ignored when --methods leaves it out). Throws Error for an empty name, a missing factory or a
  /// name added twice.
  void add_method(StudyMethod m) {
    require(!m.name.empty() && m.make, "add_method: a method needs a name and a factory");
    require(std::none_of(methods_.begin(), methods_.end(), [&](const StudyMethod& x) { return x.name == m.name; }),
            "add_method: method " + m.name + " added twice");
    if (!selected(m.name)) return;
    methods_.push_back(std::move(m));
  }
  /// Adds a method built from its chosen weight: make(weight(name, case R), case).
  void add_weighted_method(const std::string& name,
                           std::function<std::shared_ptr<Reconstructor>(double, const StudyCase&)> make,
                           std::function<void()> prepare = {}, std::function<bool(const StudyCase&)> applies = {}) {
    add_method({name, [this, name, make](const StudyCase& c) { return make(weight(name, c.acceleration), c); },
                std::move(prepare), std::move(applies)});
  }
  /// The methods of this run, in order.
  std::vector<std::string> method_names() const {
    std::vector<std::string> out;
    for (const auto& m : methods_) out.push_back(m.name);
    return out;
  }
  /// The method named `name`. Throws Error when there is none.
  const StudyMethod& method(const std::string& name) const {
    for (const auto& m : methods_)
      if (m.name == name) return m;
    throw Error(info_.name + ": no method " + name);
  }
  /// Runs the preparation of `name` (once per run).
  void prepare(const std::string& name) {
    if (prepared_.count(name)) return;
    const StudyMethod& m = method(name);
    if (m.prepare) m.prepare();
    prepared_.insert(name);
  }

  /// Adds a case. Throws Error for a case without truth or acquisition.
  void add_case(StudyCase c) {
    require(c.truth.size() > 0 && c.acquire, "add_case: " + c.dataset + " " + c.id + " needs a truth and an acquire");
    cases_.push_back(std::move(c));
  }
  const std::vector<StudyCase>& cases() const { return cases_; }

  /// Metrics of a reconstruction `x` against `truth` (one frame each); default compute_metrics with data range 1.
  std::function<Metrics(const RArray& truth, const RArray& x)> metric = [](const RArray& t, const RArray& x) {
    return compute_metrics(t, x, 1.0);
  };

  /// File stem of a case's samples: <dataset>_<id>_R<R>[_s<scale>].
  static std::string case_tag(const StudyCase& c) {
    std::ostringstream t;
    t << c.dataset << "_" << c.id << "_R" << c.acceleration;
    if (c.scale) t << "_s" << *c.scale;
    return t.str();
  }
  std::filesystem::path sample_file(const StudyCase& c, const std::string& what) const {
    return out_ / "samples" / (case_tag(c) + "_" + what + ".npy");
  }

  /// The resumable loop: for every case (the first max_cases of each dataset/R/scale), every method whose row is
  /// missing (or, for a sample case, whose sample file is missing) is prepared, built, run on the case's acquisition
  /// (acquired once per case, only when something is missing) and measured; its rows (one per frame where the
  /// table has a frame column) are added to metrics.csv at once. A method's parameters()["command"] goes to the
  /// manifest's commands under "<method>@R<R>". An exception stops the loop; the rows written so far stay.
  void run() {
    std::map<std::tuple<std::string, double, double>, int> seen;
    for (const StudyCase& c : cases_) {
      if (options_.max_cases > 0 && ++seen[{c.dataset, c.acceleration, c.scale.value_or(0.0)}] > options_.max_cases)
        continue;
      std::vector<const StudyMethod*> todo;
      for (const auto& m : methods_) {
        if (m.applies && !m.applies(c)) continue;
        const bool have = table_.has(c.dataset, c.id, c.acceleration, m.name, c.scale);
        if (!have || (c.sample && !std::filesystem::exists(sample_file(c, m.name)))) todo.push_back(&m);
      }
      if (todo.empty()) continue;
      const Acquisition acq = c.acquire();
      if (c.sample) {
        io::write_npy(sample_file(c, "truth").string(), c.truth);
        io::write_npy(sample_file(c, "mask").string(), acq.cartesian() ? acq.mask() : trajectory_coverage(acq));
      }
      for (const StudyMethod* m : todo) {
        prepare(m->name);
        const auto t0 = std::chrono::steady_clock::now();
        auto rec = m->make(c);
        const RArray x = rec->reconstruct(acq).abs();
        const double secs = seconds_since(t0);
        require(dims_of(x) == dims_of(c.truth), m->name + " on " + c.dataset + " " + c.id + " returned dims " +
                                                    dims_string(dims_of(x)) + ", the truth has " +
                                                    dims_string(dims_of(c.truth)));
        if (const auto p = rec->parameters(); p.contains("command"))
          manifest_["commands"][weight_key(m->name, c.acceleration)] = p["command"];
        if (c.sample) io::write_npy(sample_file(c, m->name).string(), x);
        if (table_.has(c.dataset, c.id, c.acceleration, m->name, c.scale)) continue;
        std::vector<ResultRow> rows;
        const Index frames = x.dimension(3);
        require(frames == 1 || info_.columns.frame,
                info_.name + ": " + c.dataset + " " + c.id + " has " + std::to_string(frames) +
                    " frames but the study's table has no frame column");
        for (Index f = 0; f < frames; ++f) {
          rows.push_back({c.dataset, c.id, c.acceleration, m->name, metric(frame_of(c.truth, f), frame_of(x, f)), secs,
                          info_.columns.frame ? std::optional<int>(int(f)) : std::nullopt, c.scale});
        }
        table_.add_rows(rows);
        spdlog::info("{} {} R={} {}: PSNR {:.2f} dB, SSIM {:.4f} ({:.2f} s)", c.dataset, c.id, c.acceleration,
                     m->name, rows.front().metrics.psnr, rows.front().metrics.ssim, secs);
      }
      manifest_.save();
    }
    manifest_.save();
  }

  /// Writes summary.md: "# <title>", `intro`, the chosen weights, the table of summary_markdown over this run's
  /// methods, then `extra`. Returns the text.
  std::string write_summary(const std::string& title, const std::string& intro, const std::string& extra = "") {
    std::ostringstream md;
    md << "# " << title << " (" << options_.preset << " preset)\n\n" << intro;
    if (!chosen_.empty()) {
      md << " Weights chosen on validation data: ";
      for (const auto& [k, v] : chosen_) md << k << " = " << v << "; ";
    }
    if (options_.max_cases > 0) md << "\n\nSmoke run: at most " << options_.max_cases << " cases per dataset and R.";
    if (info_.columns.frame) {
      // Cines: the per-cine table (metrics of each whole cine, per_cine_rows) and the per-frame one; the per-cine
      // rows also go to metrics_per_cine.csv (metrics.csv holds the frames).
      const auto cine_rows = per_cine_rows(table_.rows());
      io::atomic_write_text(out_ / "metrics_per_cine.csv", ResultsTable::csv_text(cine_rows, info_.columns));
      md << "\n\n## Per cine\n\nMean ± std over cines (n = cines); each cine's PSNR from its mean squared error "
            "over all frames, SSIM the mean over frames, NMSE over the whole cine (metrics_per_cine.csv).\n"
         << summary_markdown(cine_rows, info_.columns.scale, method_names())
         << "\n## Per frame\n\nMean ± std over every frame of every cine (n = frames; metrics.csv).\n"
         << summary_markdown(table_, method_names()) << extra;
    } else {
      md << "\n" << summary_markdown(table_, method_names()) << extra;
    }
    summary_ = md.str();
    io::atomic_write_text(out_ / "summary.md", summary_);
    return summary_;
  }

  /// Box plots figures/box_<dataset>_<metric>.png of each dataset over R and this run's methods that have rows.
  void box_plots(const std::vector<std::string>& metrics = {"psnr", "ssim", "nmse"}) const {
    for (const auto& ds : datasets_of(table_)) {
      std::vector<std::string> ms;
      std::vector<double> rs;
      for (const auto& name : method_names())
        for (const auto& r : table_.rows())
          if (r.dataset == ds && r.method == name) {
            ms.push_back(name);
            break;
          }
      for (const auto& r : table_.rows())
        if (r.dataset == ds && std::find(rs.begin(), rs.end(), r.acceleration) == rs.end()) rs.push_back(r.acceleration);
      std::sort(rs.begin(), rs.end());
      if (ms.empty()) continue;
      for (const auto& metric : metrics)
        boxplot_figure(table_, ds, metric, ms, rs, out_ / "figures" / ("box_" + ds + "_" + metric + ".png"));
    }
  }

  /// A panel figures/panel_<tag>.png per sample case whose samples exist (comparison_panel of frame
  /// c.panel_frame, 0 for single images: truth, each method titled with its PSNR, the zoomed regions when
  /// o.zoom is set, mask and error maps).
  void panels(const PanelOptions& o = {}) const {
    for (const StudyCase& c : cases_) {
      if (!c.sample || !std::filesystem::exists(sample_file(c, "truth"))) continue;
      const RArray full_truth = io::read_npy_real(sample_file(c, "truth").string());
      const Index f = std::clamp<Index>(c.panel_frame, 0, full_truth.dimension(3) - 1);
      const RArray truth = frame_of(full_truth, f);
      std::vector<std::pair<std::string, RArray>> recs;
      for (const auto& name : method_names())
        if (std::filesystem::exists(sample_file(c, name)))
          recs.push_back({name, frame_of(io::read_npy_real(sample_file(c, name).string()), f)});
      if (recs.empty()) continue;
      const auto mask_file = sample_file(c, "mask");
      RArray mask(truth.constant(0.f));
      if (std::filesystem::exists(mask_file)) {
        const RArray m = io::read_npy_real(mask_file.string());
        mask = frame_of(m, std::min<Index>(f, m.dimension(3) - 1));
      }
      std::ostringstream title;
      title << c.dataset << " " << c.id << ", R = " << c.acceleration
            << (full_truth.dimension(3) > 1 ? ", frame " + std::to_string(f) : std::string()) << ": images, |error| (0.."
            << o.error_window << ")" << (o.difference_to.empty() ? "" : ", " + o.difference_to + " - method");
      comparison_panel({"ground truth", truth, 0.f, 1.f}, {"mask", mask, 0.f, 1.f}, recs,
                       [&](const std::string& m, const RArray& x) {
                         std::ostringstream t;
                         t << m << " " << std::fixed << std::setprecision(2) << metric(truth, x).psnr << " dB";
                         return t.str();
                       },
                       out_ / "figures" / ("panel_" + case_tag(c) + ".png"), title.str(), o.error_window,
                       o.difference_to, "|error| ", o.zoom);
    }
  }

  /// Cine figures of every sample case whose samples exist (study with a frame column):
  /// - figures/xt_<tag>.png: x-t profiles along row c.profile_row (x across, time downwards, stretched to about
  ///   half the width): truth, each method titled with its per-cine PSNR, and |error| (window 0..error_window),
  ///   with the mask's kx-t pattern along the k-space centre row as the corner image;
  /// - figures/mask_kt_<tag>.png: the mask's kx-t pattern, row ny/2 (the k-space centre row) of every frame's mask
  ///   (x across, frames downwards; a k-t line mask is the same in every row, so this is its phase-encode-t
  ///   pattern);
  /// - figures/psnr_per_frame_<dataset>_R<R>.png: PSNR per frame of each method, mean over the cases of that
  ///   dataset and R (from metrics.csv).
  void cine_figures(float error_window = 0.2f) const {
    namespace fs = std::filesystem;
    const auto cine_rows = per_cine_rows(table_.rows());
    for (const StudyCase& c : cases_) {
      if (!c.sample || !fs::exists(sample_file(c, "truth"))) continue;
      const RArray truth = io::read_npy_real(sample_file(c, "truth").string());
      const Index nx = truth.dimension(0), ny = truth.dimension(1), nt = truth.dimension(3);
      if (nt < 2) continue;
      const Index row = c.profile_row >= 0 && c.profile_row < ny ? c.profile_row : ny / 2;
      const Index rep = std::max<Index>(1, (nx / 2 + nt - 1) / nt);
      std::vector<std::pair<std::string, RArray>> recs;
      for (const auto& name : method_names())
        if (fs::exists(sample_file(c, name)))
          recs.push_back({name, xt_profile(io::read_npy_real(sample_file(c, name).string()), row, rep)});
      RArray kt(nx, nt * rep, 1, 1, 1);
      kt.setZero();
      if (fs::exists(sample_file(c, "mask"))) {
        const RArray m = io::read_npy_real(sample_file(c, "mask").string());
        RArray mm(nx, ny, 1, nt, 1);
        for (Index t = 0; t < nt; ++t) {
          const RArray plane = frame_of(m, std::min<Index>(t, m.dimension(3) - 1));
          for (Index y = 0; y < ny; ++y)
            for (Index x = 0; x < nx; ++x) mm(x, y, 0, t, 0) = plane(x, y, 0, 0, 0);
        }
        kt = xt_profile(mm, ny / 2, rep);
        std::ostringstream mt;
        mt << c.dataset << " " << c.id << ", R = " << c.acceleration << ": sampled kx (across) over frames (down), "
           << "k-space row ky = " << ny / 2;
        image_panel({{"kx-t mask", kt, 0.f, 1.f}}, 1, out_ / "figures" / ("mask_kt_" + case_tag(c) + ".png"), mt.str());
      }
      if (recs.empty()) continue;
      std::ostringstream title;
      title << c.dataset << " " << c.id << ", R = " << c.acceleration << ": x-t profiles along row y = " << row
            << " (time downwards), |error| (0.." << error_window << ")";
      comparison_panel({"ground truth", xt_profile(truth, row, rep), 0.f, 1.f}, {"kx-t mask", kt, 0.f, 1.f}, recs,
                       [&](const std::string& m, const RArray&) {
                         std::ostringstream t;
                         t << m;
                         for (const auto& r : cine_rows)
                           if (r.dataset == c.dataset && r.case_id == c.id &&
                               r.acceleration == ResultsTable::stored(c.acceleration) &&
                               r.scale == ResultsTable::stored(c.scale) && r.method == m)
                             t << " " << std::fixed << std::setprecision(2) << r.metrics.psnr << " dB";
                         return t.str();
                       },
                       out_ / "figures" / ("xt_" + case_tag(c) + ".png"), title.str(), error_window);
    }
    // PSNR per frame, per (dataset, R): mean over that group's cases.
    std::map<std::pair<std::string, double>, std::map<std::string, std::map<int, std::vector<double>>>> psnr;
    for (const auto& r : table_.rows())
      if (r.frame) psnr[{r.dataset, r.acceleration}][r.method][*r.frame].push_back(r.metrics.psnr);
    for (const auto& [group, by_method] : psnr) {
      std::vector<LineSeries> series;
      for (const auto& name : method_names()) {
        auto it = by_method.find(name);
        if (it == by_method.end()) continue;
        LineSeries s{name, {}, {}};
        for (const auto& [f, v] : it->second) s.x.push_back(f), s.y.push_back(mean_std(v).first);
        series.push_back(s);
      }
      if (series.empty()) continue;
      std::ostringstream tag, title;
      tag << group.first << "_R" << group.second;
      title << group.first << ", R = " << group.second << ": PSNR per frame (mean over cases)";
      line_plot_figure(series, out_ / "figures" / ("psnr_per_frame_" + tag.str() + ".png"), title.str(), "frame",
                       "PSNR (dB)");
    }
  }

  /// Training curves figures/loss_<name>.png for each (folder under out/, title) whose loss.csv exists; <name> is
  /// the folder with '/' replaced by '_' ("unet" -> loss_unet.png, "acdc/crnn" -> loss_acdc_crnn.png).
  void loss_curves(const std::vector<std::pair<std::string, std::string>>& folders_titles) const {
    for (const auto& [folder, title] : folders_titles) {
      const auto csv = out_ / folder / "loss.csv";
      if (!std::filesystem::exists(csv)) continue;
      std::string name = std::filesystem::path(folder).lexically_normal().string();
      while (!name.empty() && name.back() == '/') name.pop_back();
      std::replace(name.begin(), name.end(), '/', '_');
      loss_curve_figure(csv, out_ / "figures" / ("loss_" + name + ".png"), title);
    }
  }

  /// Saves the manifest, logs the run time and prints where the results are, then the summary.
  void finish() {
    manifest_.save();
    spdlog::info("{} done in {:.0f} s", info_.name, seconds_since(start_));
    namespace fs = std::filesystem;
    std::cout << "\nSummary table: " << fs::absolute(out_ / "summary.md").string()
              << "\nPer-case metrics: " << fs::absolute(out_ / "metrics.csv").string()
              << "\nFigures: " << fs::absolute(out_ / "figures").string()
              << "\nManifest: " << fs::absolute(manifest_.path()).string() << "\n\n"
              << summary_ << "\n";
  }

 private:
  StudyInfo info_;
  CommonOptions options_;
  std::filesystem::path out_;
  Manifest manifest_;
  ResultsTable table_;
  std::chrono::steady_clock::time_point start_;
  std::map<std::string, double> chosen_;
  std::set<std::string> weighted_, prepared_;
  std::vector<StudyMethod> methods_;
  std::vector<StudyCase> cases_;
  std::string summary_;
};

/// The main() of a study: parses the common options plus those `add_options` adds (exit 0 after --help, 1 with
/// one error line on bad input), then runs `body` on the Study (exit 1 with one error line if it throws).
inline int run_study(const StudyInfo& info, int argc, char** argv, const std::function<void(CLI::App&)>& add_options,
                     const std::function<void(Study&)>& body) {
  CLI::App app{info.description};
  CommonOptions options;
  add_common_options(app, options, info);
  if (add_options) add_options(app);
  if (auto rc = parse_command_line(app, argc, argv, info.name)) return *rc;
  return guarded(info.name, [&] {
    Study s(info, options, argc, argv);
    body(s);
  });
}

}  // namespace reconlab::study
