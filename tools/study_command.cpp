// `reconlab study CONFIG.toml`: a study from a TOML file through the one study runner; see study_command.hpp.
#include "study_command.hpp"

#include <glob.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "recon_methods.hpp"
#include "reconlab/io/fastmri.hpp"
#include "reconlab/io/image_file.hpp"
#include "reconlab/io/nifti.hpp"
#include "reconlab/masks.hpp"
#include "reconlab/solvers/parallel_imaging.hpp"
#include "reconlab/study/runner.hpp"
#include "reconlab/study/simulation.hpp"

namespace reconlab::tool {

namespace {

namespace fs = std::filesystem;

/// Refuses keys of `t` outside `allowed`, naming the table and the key (typos must not pass silently).
void check_keys(const toml::table& t, const std::set<std::string>& allowed, const std::string& where) {
  for (const auto& [k, v] : t) {
    (void)v;
    const std::string key(k.str());
    if (allowed.count(key)) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    throw Error(where + ": unknown key '" + key + "' (allowed: " + list + ")");
  }
}

std::optional<std::string> get_string(const toml::table& t, const std::string& key, const std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  const auto v = n->value<std::string>();
  require(v.has_value() && n->is_string(), where + ": '" + key + "' must be a string");
  return *v;
}
std::optional<double> get_number(const toml::table& t, const std::string& key, const std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  require(n->is_number(), where + ": '" + key + "' must be a number");
  const double v = *n->value<double>();
  require(std::isfinite(v), where + ": '" + key + "' must be finite");
  return v;
}
std::optional<std::int64_t> get_integer(const toml::table& t, const std::string& key, const std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  require(n->is_integer(), where + ": '" + key + "' must be an integer");
  return *n->value<std::int64_t>();
}
std::optional<bool> get_bool(const toml::table& t, const std::string& key, const std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  require(n->is_boolean(), where + ": '" + key + "' must be true or false");
  return *n->value<bool>();
}
template <class T>
std::optional<std::vector<T>> get_array(const toml::table& t, const std::string& key, const std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  const toml::array* a = n->as_array();
  require(a != nullptr && !a->empty(), where + ": '" + key + "' must be a non-empty array");
  std::vector<T> out;
  for (const toml::node& e : *a) {
    if constexpr (std::is_same_v<T, std::string>) {
      require(e.is_string(), where + ": '" + key + "' must hold strings");
      out.push_back(*e.value<std::string>());
    } else if constexpr (std::is_integral_v<T>) {
      require(e.is_integer(), where + ": '" + key + "' must hold integers");
      out.push_back(T(*e.value<std::int64_t>()));
    } else {
      require(e.is_number(), where + ": '" + key + "' must hold numbers");
      out.push_back(*e.value<double>());
      require(std::isfinite(out.back()), where + ": '" + key + "' must hold finite numbers");
    }
  }
  return out;
}
/// The array of tables `key` (TOML [[key]]), at least one.
std::vector<const toml::table*> tables(const toml::table& root, const std::string& key) {
  const toml::node* n = root.get(key);
  require(n != nullptr, "the study file needs at least one [[" + key + "]]");
  const toml::array* a = n->as_array();
  require(a != nullptr && a->is_array_of_tables() && !a->empty(), "'" + key + "' must be given as [[" + key + "]] tables");
  std::vector<const toml::table*> out;
  for (const toml::node& e : *a) out.push_back(e.as_table());
  return out;
}

/// `text` with every ${NAME} replaced by the environment variable NAME; RECONLAB_DATA defaults to `data_dir` (the
/// study's --data) and RECONLAB_CACHE to cache_dir() when unset. Throws Error for an unset variable or an unclosed ${.
std::string expand_variables(const std::string& text, const std::string& data_dir, const std::string& where) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const std::size_t end = text.find('}', i);
    require(end != std::string::npos, where + ": unclosed ${ in '" + text + "'");
    const std::string name = text.substr(i + 2, end - i - 2);
    const char* v = std::getenv(name.c_str());
    if (v != nullptr) out += v;
    else if (name == "RECONLAB_DATA") out += data_dir;
    else if (name == "RECONLAB_CACHE") out += cache_dir();
    else throw Error(where + ": environment variable " + name + " (in '" + text + "') is not set");
    i = end + 1;
  }
  return out;
}

/// The sorted paths matching `pattern` (relative to `base` unless absolute). Throws Error when nothing matches.
std::vector<std::string> expand(const std::string& pattern, const fs::path& base, const std::string& where) {
  const fs::path p = fs::path(pattern).is_absolute() ? fs::path(pattern) : base / pattern;
  glob_t g{};
  const int rc = ::glob(p.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  require(!out.empty(), where + ": no file matches '" + p.string() + "'");
  std::sort(out.begin(), out.end());
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// One image of a dataset: its truth (nx, ny, 1, 1, 1) normalised to maximum 1, and the fully sampled k-space of a
/// k-space file (scaled alike) or nothing (magnitude images: simulated per case).
struct Image {
  std::string dataset, id;
  bool validation = false, smooth_phase = true;
  RArray truth;
  std::optional<CArray> kspace;         ///< k-space files: fully sampled k-space
  std::optional<CArray> complex_image;  ///< complex images (.npy / .cfl with phase): kept with their own phase
  std::uint64_t index = 0;  ///< position over every dataset's images: the seeds' i
  std::optional<CArray> maps;  ///< coil_maps (nx, ny, coils, 1, 1): images simulated as multi-coil k-space F S x
  bool maps_known = false;     ///< the acquisitions carry the maps (else methods estimate them from the ACS lines)
};

RArray root_sum_of_squares(const CArray& coil_images) {
  const Dims d = dims_of(coil_images);
  RArray out(d[0], d[1], 1, d[3], 1);
  out.setZero();
  for (Index f = 0; f < d[3]; ++f)
    for (Index c = 0; c < d[2]; ++c)
      for (Index y = 0; y < d[1]; ++y)
        for (Index x = 0; x < d[0]; ++x) out(x, y, 0, f, 0) += std::norm(coil_images(x, y, c, f, 0));
  return out.sqrt();
}

/// The one file `pattern` (${VAR} expanded, relative to `base`) names; throws Error naming `where` unless it
/// matches exactly one.
std::string one_file(const std::string& pattern, const fs::path& base, const std::string& data_dir,
                     const std::string& where) {
  const auto files = expand(expand_variables(pattern, data_dir, where), base, where);
  require(files.size() == 1, where + " must name one file, got " + std::to_string(files.size()));
  return files.front();
}

/// The images of one [[dataset]] table.
std::vector<Image> load_dataset(const toml::table& t, const fs::path& base, const std::string& data_dir,
                                std::uint64_t& counter) {
  check_keys(t, {"name", "files", "slices", "role", "phase", "coil_maps", "maps_known"}, "[[dataset]]");
  const auto name = get_string(t, "name", "[[dataset]]");
  require(name && !name->empty(), "[[dataset]]: 'name' is required");
  const std::string where = "[[dataset]] " + *name;
  const auto patterns = get_array<std::string>(t, "files", where);
  require(patterns.has_value(), where + ": 'files' is required");
  const auto slices = get_array<Index>(t, "slices", where);
  const std::string role = get_string(t, "role", where).value_or("test");
  require(role == "test" || role == "validation", where + ": 'role' must be test or validation, got '" + role + "'");
  const std::string phase = get_string(t, "phase", where).value_or("smooth");
  require(phase == "smooth" || phase == "none", where + ": 'phase' must be smooth or none, got '" + phase + "'");
  // Coil maps for simulated multi-coil k-space: a complex array (coils, ny, nx) (.npy C order, or .cfl).
  std::optional<CArray> maps;
  if (const auto mp = get_string(t, "coil_maps", where)) {
    const std::string file = one_file(*mp, base, data_dir, where + ": 'coil_maps'");
    maps = io::read_array(file);
    const Dims md = dims_of(*maps);
    require(md[3] == 1 && md[4] == 1 && md[2] >= 1,
            where + ": coil_maps " + file + " must be (coils, ny, nx), got reconlab dims " + dims_string(md));
    require_finite(*maps, where + ": coil_maps " + file);
  }
  const bool maps_known = get_bool(t, "maps_known", where).value_or(false);
  require(!maps_known || maps, where + ": 'maps_known' needs 'coil_maps'");
  std::vector<Image> out;
  for (const auto& pattern : *patterns)
    for (const std::string& path : expand(expand_variables(pattern, data_dir, where), base, where)) {
      const std::string stem = fs::path(path).filename().string();
      const std::string id_base = stem.substr(0, stem.find('.'));
      auto add = [&](RArray truth, std::optional<CArray> k, const std::string& id,
                     std::optional<CArray> complex_image = std::nullopt) {
        const Eigen::Tensor<float, 0> mx0 = truth.maximum();
        const float mx = mx0();
        require(std::isfinite(mx) && mx > 0, where + ": " + path + " (" + id + ") is all zero or not finite");
        truth = truth * (1.0f / mx);
        if (k) *k = *k * cfloat(1.0f / mx);
        if (complex_image) *complex_image = *complex_image * cfloat(1.0f / mx);
        require(!maps || !k, where + ": 'coil_maps' simulates multi-coil k-space from images; " + path +
                                 " is k-space (its own coils)");
        require(!maps || (maps->dimension(0) == truth.dimension(0) && maps->dimension(1) == truth.dimension(1)),
                where + ": coil_maps are " + std::to_string(maps ? maps->dimension(1) : 0) + " x " +
                    std::to_string(maps ? maps->dimension(0) : 0) + " (ny x nx) but " + path + " (" + id + ") is " +
                    std::to_string(truth.dimension(1)) + " x " + std::to_string(truth.dimension(0)));
        out.push_back({*name, id, role == "validation", phase == "smooth", std::move(truth), std::move(k),
                       std::move(complex_image), counter++, maps, maps_known});
      };
      if (ends_with(path, ".h5")) {
        const io::FastmriFile f = io::read_fastmri(path);
        for (Index s : slices.value_or(std::vector<Index>{f.slices() / 2})) {
          require(s >= 0 && s < f.slices(), where + ": slice " + std::to_string(s) + " outside 0.." +
                                                std::to_string(f.slices() - 1) + " of " + path);
          const Acquisition a = io::fastmri_slice(f, s);
          require(acceleration_of(a.mask()) <= 1.0 + 1e-9,
                  where + ": " + path + " is undersampled (a test file); a study needs fully sampled k-space");
          RArray truth = root_sum_of_squares(EigenFftw::ifft2c(a.kspace));
          add(std::move(truth), a.kspace, id_base + "_z" + std::to_string(s));
        }
      } else if ((ends_with(path, ".nii") || ends_with(path, ".nii.gz"))) {
        const io::NiftiVolume v = io::read_nifti(path);
        const Index nz = v.data.dimension(4);
        for (Index s : slices.value_or(std::vector<Index>{nz / 2}))
          add(RArray(io::axial_slice(v, s).abs()), std::nullopt, id_base + "_z" + std::to_string(s));
      } else if (ends_with(path, ".npy") || ends_with(path, ".cfl") || ends_with(path, ".hdr")) {
        // Arrays: every plane ((n, ny, nx) .npy: n planes) is a slice; complex planes keep their own phase.
        const CArray a = io::read_array(path);
        const Dims d = dims_of(a);
        const Index planes = d[2] * d[3] * d[4], plane_size = d[0] * d[1];
        std::vector<Index> chosen = slices.value_or(std::vector<Index>{});
        if (!slices)
          for (Index p = 0; p < planes; ++p) chosen.push_back(p);
        for (Index p : chosen) {
          require(p >= 0 && p < planes, where + ": slice " + std::to_string(p) + " outside 0.." +
                                            std::to_string(planes - 1) + " of " + path);
          CArray plane(d[0], d[1], 1, 1, 1);
          std::copy(a.data() + p * plane_size, a.data() + (p + 1) * plane_size, plane.data());
          const Eigen::Tensor<float, 0> imag_max = plane.imag().abs().maximum();
          const bool complex = imag_max() > 0;
          add(RArray(plane.abs()), std::nullopt, planes > 1 ? id_base + "_z" + std::to_string(p) : id_base,
              complex ? std::optional<CArray>(plane) : std::nullopt);
        }
      } else {
        require(!slices, where + ": 'slices' applies to volumes and arrays (NIfTI, .npy, .cfl, fastMRI .h5), not " +
                             path);
        const CArray img = io::read_image(path);
        require(img.dimension(3) == 1, where + ": " + path + " holds " + std::to_string(img.dimension(3)) +
                                           " frames; give single images");
        add(RArray(img.abs()), std::nullopt, id_base);
      }
    }
  return out;
}

struct Sampling {
  std::string mask = "random";
  std::vector<double> accelerations;
  std::vector<double> center_fractions;  ///< one per acceleration
  Index calib = 24;
  int masks = 1;
  std::string mask_file;         ///< mask = "stored": the mask file as written (${VAR}, relative to the study file)
  std::optional<RArray> stored;  ///< its mask (nx, ny, 1, 1, 1), loaded by load_stored_mask
};

/// mask = "stored": reads the mask file ((ny, nx) .npy or .cfl, values in [0, 1]) and sets the one acceleration to
/// the mask's own. Throws Error for another shape, values outside [0, 1] or an all-zero mask.
void load_stored_mask(Sampling& s, const fs::path& base, const std::string& data_dir) {
  const std::string where = "[sampling] mask_file";
  const std::string file = one_file(s.mask_file, base, data_dir, where);
  const CArray m = io::read_array(file);
  const Dims d = dims_of(m);
  require(d[2] == 1 && d[3] == 1 && d[4] == 1,
          where + " " + file + " must be a 2D (ny, nx) mask, got reconlab dims " + dims_string(d));
  RArray r = m.real();
  for (Index i = 0; i < r.size(); ++i)
    require(m.data()[i].imag() == 0 && r.data()[i] >= 0 && r.data()[i] <= 1,
            where + " " + file + ": values must be real in [0, 1] (element " + std::to_string(i) + ")");
  s.accelerations = {acceleration_of(r)};
  s.center_fractions = {0.0};
  s.mask_file = file;
  s.stored = std::move(r);
}

Sampling read_sampling(const toml::table& root) {
  const toml::table* t = root["sampling"].as_table();
  require(t != nullptr, "the study file needs a [sampling] table");
  check_keys(*t, {"mask", "accelerations", "center_fraction", "center_fractions", "calib", "masks", "mask_file"},
             "[sampling]");
  Sampling s;
  s.mask = get_string(*t, "mask", "[sampling]").value_or(s.mask);
  require(s.mask == "random" || s.mask == "equispaced" || s.mask == "equispaced-fraction" || s.mask == "poisson" ||
              s.mask == "stored",
          "[sampling]: 'mask' must be random, equispaced, equispaced-fraction, poisson or stored, got '" + s.mask + "'");
  if (s.mask == "stored") {
    // One mask from a file for every image (the data's own pattern): its acceleration is the mask's.
    for (const char* k : {"accelerations", "center_fraction", "center_fractions", "calib", "masks"})
      require(!t->contains(k), std::string("[sampling]: '") + k + "' does not apply to mask = \"stored\" (the "
                               "mask file fixes the pattern and its acceleration)");
    const auto f = get_string(*t, "mask_file", "[sampling]");
    require(f && !f->empty(), "[sampling]: mask = \"stored\" needs 'mask_file'");
    s.mask_file = *f;
    return s;
  }
  require(!t->contains("mask_file"), "[sampling]: 'mask_file' needs mask = \"stored\"");
  const auto rs = get_array<double>(*t, "accelerations", "[sampling]");
  require(rs.has_value(), "[sampling]: 'accelerations' is required");
  s.accelerations = *rs;
  for (double R : s.accelerations) require(R >= 1, "[sampling]: every acceleration must be >= 1");
  const auto cf = get_number(*t, "center_fraction", "[sampling]");
  const auto cfs = get_array<double>(*t, "center_fractions", "[sampling]");
  require(!(cf && cfs), "[sampling]: give 'center_fraction' or 'center_fractions', not both");
  require(!cfs || cfs->size() == s.accelerations.size(),
          "[sampling]: 'center_fractions' needs one value per acceleration (" +
              std::to_string(s.accelerations.size()) + ")");
  s.center_fractions = cfs.value_or(std::vector<double>(s.accelerations.size(), cf.value_or(0.08)));
  s.calib = Index(get_integer(*t, "calib", "[sampling]").value_or(s.calib));
  s.masks = int(get_integer(*t, "masks", "[sampling]").value_or(1));
  require(s.masks >= 1 && s.masks <= 100, "[sampling]: 'masks' must be in 1..100");
  return s;
}

SamplingMask make_mask(const Sampling& s, Index nx, Index ny, std::size_t r, std::uint64_t seed) {
  if (s.stored) {
    require(s.stored->dimension(0) == nx && s.stored->dimension(1) == ny,
            "[sampling] mask_file " + s.mask_file + " is " + std::to_string(s.stored->dimension(1)) + " x " +
                std::to_string(s.stored->dimension(0)) + " (ny x nx) but an image's k-space is " + std::to_string(ny) +
                " x " + std::to_string(nx));
    return {*s.stored, "stored mask " + s.mask_file + " (R = " + std::to_string(s.accelerations.front()) + ")"};
  }
  const auto sd = std::int64_t(seed % (std::uint64_t(1) << 32));
  const double R = s.accelerations[r], cf = s.center_fractions[r];
  if (s.mask == "random") return random_column_mask(nx, ny, cf, R, sd);
  if (s.mask == "equispaced") return equispaced_column_mask(nx, ny, cf, R, sd);
  if (s.mask == "equispaced-fraction") return equispaced_fraction_column_mask(nx, ny, cf, R, sd);
  return poisson_disc_mask(nx, ny, R, s.calib, sd);
}

/// The acquisition of `img` at acceleration index r, mask repeat m (seeds as study_command.hpp says).
Acquisition acquire(const Image& img, const Sampling& s, std::size_t r, int m, std::uint64_t seed) {
  const std::uint64_t base = seed + 1000 * img.index;
  CArray k;
  if (img.kspace) {
    k = *img.kspace;
  } else {
    const CArray x = img.complex_image ? *img.complex_image
                     : img.smooth_phase ? study::with_smooth_phase(img.truth, base + 7)
                                        : CArray(img.truth.cast<cfloat>());
    k = EigenFftw::fft2c(img.maps ? EigenFftw::coil_expand(*img.maps, x) : x);  // F S x per coil, or F x
  }
  const SamplingMask mask =
      make_mask(s, k.dimension(0), k.dimension(1), r, base + 10 * std::uint64_t(r) + std::uint64_t(m));
  Acquisition a;
  a.kspace = EigenFftw::multiply_mask(mask.mask, k);
  a.sampling = CartesianMask{mask.mask};
  a.metadata = {{"mask", mask.description}};
  if (img.maps && img.maps_known) a.sensitivities = *img.maps;
  validate_acquisition(a);
  if (a.coils() > 1) solvers::validate_multicoil(a);
  return a;
}

/// One [[method]]: its row label, recon's method name and options, and the validation grid of lambda.
struct MethodSpec {
  std::string label, method;
  ReconOptions options;
  std::vector<double> lambda_grid;
};

MethodSpec read_method(const toml::table& t, const fs::path& base) {
  check_keys(t, {"name", "method", "lambda", "lambda_t", "lambda_l", "iterations", "maps", "window_width", "weights",
                 "lambda_grid"},
             "[[method]]");
  MethodSpec m;
  m.label = get_string(t, "name", "[[method]]").value_or("");
  require(!m.label.empty(), "[[method]]: 'name' is required");
  const std::string where = "[[method]] " + m.label;
  m.method = get_string(t, "method", where).value_or(m.label);
  m.options.lambda = get_number(t, "lambda", where);
  m.options.lambda_t = get_number(t, "lambda_t", where);
  m.options.lambda_l = get_number(t, "lambda_l", where);
  if (auto it = get_integer(t, "iterations", where)) {
    require(*it >= 1 && *it <= 1000000, where + ": 'iterations' must be in 1..1000000");
    m.options.iterations = int(*it);
  }
  m.options.maps_source = get_string(t, "maps", where).value_or("lowres");
  m.options.window_width = get_number(t, "window_width", where).value_or(1.0);
  if (auto w = get_string(t, "weights", where))
    m.options.weights = fs::path(*w).is_absolute() ? *w : (base / *w).string();
  m.lambda_grid = get_array<double>(t, "lambda_grid", where).value_or(std::vector<double>{});
  require(m.lambda_grid.empty() || !m.options.lambda, where + ": give 'lambda' or 'lambda_grid', not both");
  require(classical_method(m.method) || !m.options.weights.empty(),
          where + ": '" + m.method + "' is not a classical method; a network needs 'weights'");
  return m;
}

/// A configured method as a Reconstructor: the factory runs on each acquisition (it may estimate coil maps into
/// its copy), so one row label serves single- and multi-coil cases alike.
class ConfiguredMethod : public Reconstructor {
 public:
  ConfiguredMethod(std::string label, std::string method, ReconOptions o)
      : label_(std::move(label)), method_(std::move(method)), options_(std::move(o)) {}
  std::string name() const override { return label_; }
  nlohmann::json parameters() const override {
    nlohmann::json p = inner_;
    p["reconlab_method"] = method_;
    if (options_.lambda) p["lambda"] = *options_.lambda;
    return p;
  }
  CArray reconstruct(const Acquisition& acq) override {
    Acquisition a = acq;
    auto rec = make_cartesian_reconstructor(method_, options_, a);
    inner_ = rec->parameters();
    return rec->reconstruct(a);
  }

 private:
  std::string label_, method_;
  ReconOptions options_;
  nlohmann::json inner_ = nlohmann::json::object();
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  require(bool(in), "cannot read study file " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int run_study_command(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]).rfind("-", 0) == 0) {
    if (argc >= 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
      std::cout << "Usage: reconlab study CONFIG.toml [--out DIR] [--seed S] [--methods a,b] [--max-cases N] "
                   "[--threads T] [--data D]\nA comparison study from a TOML file (see tools/study_command.hpp and "
                   "examples/*.toml); run `reconlab study CONFIG.toml --help` for the options.\n";
      return 0;
    }
    std::cerr << "reconlab: error: study needs the study file first: reconlab study CONFIG.toml [options]\n";
    return 1;
  }
  const fs::path config = argv[1];
  toml::table root;
  study::StudyInfo info;
  Sampling sampling;
  std::vector<MethodSpec> specs;
  std::vector<const toml::table*> dataset_tables;
  bool box_plots = true, panels = true;
  std::string description;
  try {
    try {
      root = toml::parse_file(config.string());
    } catch (const toml::parse_error& e) {
      std::ostringstream msg;
      msg << config.string() << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
          << e.description();
      throw Error(msg.str());
    }
    check_keys(root, {"study", "dataset", "sampling", "method", "outputs"}, config.string());
    const toml::table* st = root["study"].as_table();
    require(st != nullptr, "the study file needs a [study] table");
    check_keys(*st, {"name", "description", "seed"}, "[study]");
    info.name = get_string(*st, "name", "[study]").value_or("");
    require(!info.name.empty() && info.name.find_first_of("/\\ ") == std::string::npos,
            "[study]: 'name' is required (no spaces or slashes: it names the output folder)");
    description = get_string(*st, "description", "[study]").value_or("");
    info.description = "reconlab study " + config.filename().string() + ": " + info.name;
    info.out_prefix = info.name;
    info.presets = {"toml"};
    if (auto sd = get_integer(*st, "seed", "[study]")) {
      require(*sd >= 0, "[study]: 'seed' must be >= 0");
      info.default_seed = std::uint64_t(*sd);
    }
    sampling = read_sampling(root);
    dataset_tables = tables(root, "dataset");
    const fs::path base = fs::absolute(config).parent_path();
    for (const toml::table* t : tables(root, "method")) {
      specs.push_back(read_method(*t, base));
      for (std::size_t i = 0; i + 1 < specs.size(); ++i)
        require(specs[i].label != specs.back().label, "[[method]]: name " + specs.back().label + " given twice");
      info.methods.push_back(specs.back().label);
    }
    if (const toml::table* o = root["outputs"].as_table()) {
      check_keys(*o, {"box_plots", "panels"}, "[outputs]");
      box_plots = get_bool(*o, "box_plots", "[outputs]").value_or(true);
      panels = get_bool(*o, "panels", "[outputs]").value_or(true);
    } else {
      require(!root.contains("outputs"), "[outputs] must be a table");
    }
  } catch (const std::exception& e) {
    std::cerr << "reconlab: error: " << e.what() << "\n";
    return 1;
  }
  // The runner's own command line, without the study file: argv[0] names the command.
  std::vector<char*> args;
  std::string arg0 = "reconlab study " + config.string();
  args.push_back(arg0.data());
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  return study::run_study(info, int(args.size()), args.data(), {}, [&](study::Study& s) {
    const fs::path base = fs::absolute(config).parent_path();
    s.manifest()["config"] = {{"path", fs::absolute(config).string()}, {"text", read_text(config)}};
    if (sampling.mask == "stored") load_stored_mask(sampling, base, s.options().data);
    std::vector<Image> images;
    std::uint64_t counter = 0;
    std::set<std::string> names;
    for (const toml::table* t : dataset_tables) {
      auto more = load_dataset(*t, base, s.options().data, counter);
      require(more.empty() || names.insert(more.front().dataset).second,
              "[[dataset]]: name " + (more.empty() ? std::string() : more.front().dataset) + " given twice");
      for (auto& im : more) images.push_back(std::move(im));
    }
    const auto test_count = std::count_if(images.begin(), images.end(), [](const Image& i) { return !i.validation; });
    require(test_count > 0, "no test images: every [[dataset]] has role = \"validation\"");

    // Weight searches: per R, on the validation images (their masks use the same seed rule).
    study::Study::Grid grid;
    for (const auto& m : specs)
      if (!m.lambda_grid.empty()) grid[m.label] = m.lambda_grid;
    if (!grid.empty()) {
      std::map<double, std::vector<study::ValidationCase>> val;
      for (std::size_t r = 0; r < sampling.accelerations.size(); ++r)
        for (const Image& im : images)
          if (im.validation)
            for (int m = 0; m < sampling.masks; ++m)
              val[sampling.accelerations[r]].push_back({im.truth, acquire(im, sampling, r, m, s.seed())});
      require(!val.empty(), "a method has 'lambda_grid' but no [[dataset]] has role = \"validation\"");
      s.choose_weights(grid, sampling.accelerations, [&](const std::string& label, double w, std::optional<double> R) {
        const MethodSpec& spec = *std::find_if(specs.begin(), specs.end(), [&](const MethodSpec& x) { return x.label == label; });
        ReconOptions o = spec.options;
        o.lambda = w;
        ConfiguredMethod rec(spec.label, spec.method, o);
        return study::mean_frame_psnr(rec, val.at(*R));
      });
    }
    for (const MethodSpec& spec : specs) {
      if (spec.lambda_grid.empty()) {
        s.add_method({spec.label,
                      [spec](const study::StudyCase&) {
                        return std::make_shared<ConfiguredMethod>(spec.label, spec.method, spec.options);
                      },
                      {}, {}});
      } else {
        s.add_weighted_method(spec.label, [spec](double w, const study::StudyCase&) {
          ReconOptions o = spec.options;
          o.lambda = w;
          return std::make_shared<ConfiguredMethod>(spec.label, spec.method, o);
        });
      }
    }
    std::set<std::pair<std::string, double>> sampled;
    for (const Image& im : images) {
      if (im.validation) continue;
      for (std::size_t r = 0; r < sampling.accelerations.size(); ++r)
        for (int m = 0; m < sampling.masks; ++m) {
          const double R = sampling.accelerations[r];
          const bool sample = panels && m == 0 && sampled.insert({im.dataset, R}).second;
          const std::uint64_t seed = s.seed();
          s.add_case({im.dataset, sampling.masks > 1 ? im.id + "_m" + std::to_string(m) : im.id, R, {}, im.truth,
                      [&im, &sampling, r, m, seed] { return acquire(im, sampling, r, m, seed); }, sample});
        }
    }
    s.run();
    std::ostringstream intro;
    intro << (description.empty() ? "" : description + "\n\n") << "Study file " << fs::absolute(config).string()
          << " (its text is in manifest.json). Mask " << sampling.mask << "; R (centre fraction):";
    for (std::size_t r = 0; r < sampling.accelerations.size(); ++r)
      intro << " " << sampling.accelerations[r] << " (" << sampling.center_fractions[r] << ")";
    intro << "; " << sampling.masks
          << " mask(s) per image and R; truths normalised to maximum 1, metrics with data range 1.";
    s.write_summary(info.name, intro.str());
    if (box_plots) s.box_plots();
    if (panels) s.panels();
    s.finish();
  });
}

}  // namespace reconlab::tool
