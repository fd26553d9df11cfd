#pragma once
/// @file results.hpp
/// Study bookkeeping: the per-case metrics table (CSV, rewritten atomically after every case so an interrupted
/// study resumes where it stopped), and the Markdown summary (mean +- std per dataset, acceleration, scale and
/// method).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <tuple>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "reconlab/io/atomic.hpp"
#include "reconlab/metrics.hpp"

namespace reconlab::study {

/// One reconstructed case (or one frame of it): which data, acceleration R, method, its metrics and its run time.
struct ResultRow {
  std::string dataset;
  std::string case_id;
  double acceleration = 0;  ///< nominal R of the mask family (e.g. 4, 8)
  std::string method;
  Metrics metrics{};
  double seconds = 0;              ///< reconstruction time of the whole case (every frame row repeats it)
  std::optional<int> frame;        ///< frame index, for studies with a frame column (cine)
  std::optional<double> scale;     ///< scale factor, for studies with a scale column (super-resolution)
};

/// Which optional columns a table has. A study declares them once; its metrics.csv always carries them.
struct TableColumns {
  bool frame = false;
  bool scale = false;
};

/// The per-case metrics table, persisted as CSV at `path`:
/// dataset,case,acceleration[,frame][,scale],method,psnr,ssim,nmse,rmse,data_range,seconds
/// (the bracketed columns when `columns` asks for them; an empty cell is "none").
class ResultsTable {
 public:
  static constexpr int kDigits = 10;  ///< significant digits of every number in the CSV
  /// Loads `path` when it exists (a resumed study). Throws Error on a malformed file or one whose header differs
  /// from this table's columns (written by another study or version: the message names both headers).
  explicit ResultsTable(std::filesystem::path path, TableColumns columns = {})
      : path_(std::move(path)), columns_(columns) {
    std::ifstream in(path_);
    if (!in) return;
    std::string line;
    std::getline(in, line);
    require(line == header(), "results table " + path_.string() + " has the header '" + line + "', expected '" +
                                  header() + "' (another study's table? use another --out)");
    const std::size_t n_fields = 10 + columns_.frame + columns_.scale;
    int lineno = 1;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty()) continue;
      std::vector<std::string> f;
      std::size_t start = 0;
      for (;;) {
        const std::size_t comma = line.find(',', start);
        f.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      const std::string where = "results table " + path_.string() + " line " + std::to_string(lineno);
      require(f.size() == n_fields, where + ": " + std::to_string(f.size()) + " fields, expected " +
                                        std::to_string(n_fields));
      auto number = [&](const std::string& s) {
        try {
          std::size_t used = 0;
          const double v = std::stod(s, &used);
          if (used == s.size()) return v;
        } catch (const std::exception&) {
        }
        throw Error(where + ": '" + s + "' is not a number");
      };
      std::size_t i = 0;
      ResultRow r;
      r.dataset = f[i++];
      r.case_id = f[i++];
      r.acceleration = number(f[i++]);
      if (columns_.frame) {
        const std::string& s = f[i++];
        if (!s.empty()) r.frame = int(number(s));
      }
      if (columns_.scale) {
        const std::string& s = f[i++];
        if (!s.empty()) r.scale = number(s);
      }
      r.method = f[i++];
      r.metrics.psnr = number(f[i++]);
      r.metrics.ssim = number(f[i++]);
      r.metrics.nmse = number(f[i++]);
      r.metrics.rmse = number(f[i++]);
      r.metrics.data_range = number(f[i++]);
      r.seconds = number(f[i++]);
      rows_.push_back(r);
    }
  }
  /// The CSV header of a table with `columns`.
  static std::string header(TableColumns columns) {
    return std::string("dataset,case,acceleration,") + (columns.frame ? "frame," : "") +
           (columns.scale ? "scale," : "") + "method,psnr,ssim,nmse,rmse,data_range,seconds";
  }
  std::string header() const { return header(columns_); }
  const TableColumns& columns() const { return columns_; }

  /// `v` as the CSV stores it (10 significant digits, read back): R = 1 / 0.6 is kept as 1.666666667. Rows hold
  /// their R and scale in this form (add_rows), so a row read back from the file keys exactly as it did when added.
  static double stored(double v) {
    std::ostringstream s;
    s << std::setprecision(kDigits) << v;
    return std::stod(s.str());
  }
  static std::optional<double> stored(std::optional<double> v) {
    return v ? std::optional<double>(stored(*v)) : std::nullopt;
  }

  /// True if a row of (dataset, case, R, scale, method) is in the table (any frame: a case's frame rows are added
  /// together by add_rows, so one of them stands for all). R and scale are compared as stored: a resumed study
  /// finds the rows of R = 1 / 0.6 that an earlier run wrote.
  bool has(const std::string& dataset, const std::string& case_id, double r, const std::string& method,
           std::optional<double> scale = {}) const {
    const double rs = stored(r);
    const auto ss = stored(scale);
    return std::any_of(rows_.begin(), rows_.end(), [&](const ResultRow& x) {
      return x.dataset == dataset && x.case_id == case_id && x.acceleration == rs && x.method == method &&
             x.scale == ss;
    });
  }
  /// Appends a row and rewrites the CSV atomically.
  void add(const ResultRow& row) { add_rows({row}); }
  /// Appends rows (a case's frames) and rewrites the CSV atomically once. Throws Error when a row carries a frame
  /// or scale that the table has no column for.
  void add_rows(const std::vector<ResultRow>& rows) {
    for (const auto& r : rows) {
      require(columns_.frame || !r.frame, "results table: row has a frame but the table has no frame column");
      require(columns_.scale || !r.scale, "results table: row has a scale but the table has no scale column");
    }
    for (ResultRow r : rows) {
      r.acceleration = stored(r.acceleration);
      r.scale = stored(r.scale);
      rows_.push_back(std::move(r));
    }
    save();
  }
  const std::vector<ResultRow>& rows() const { return rows_; }

  /// Writes the table to its path atomically.
  void save() const { io::atomic_write_text(path_, csv_text(rows_, columns_)); }

  /// The CSV text (header and rows) of `rows` in a table with `columns`: what save() writes.
  static std::string csv_text(const std::vector<ResultRow>& rows, TableColumns columns) {
    std::ostringstream out;
    out << header(columns) << "\n" << std::setprecision(kDigits);
    for (const auto& r : rows) {
      out << r.dataset << "," << r.case_id << "," << r.acceleration << ",";
      if (columns.frame) out << (r.frame ? std::to_string(*r.frame) : "") << ",";
      if (columns.scale) {
        if (r.scale) out << *r.scale;
        out << ",";
      }
      out << r.method << "," << r.metrics.psnr << "," << r.metrics.ssim << "," << r.metrics.nmse << ","
          << r.metrics.rmse << "," << r.metrics.data_range << "," << r.seconds << "\n";
    }
    return out.str();
  }

 private:
  std::filesystem::path path_;
  TableColumns columns_;
  std::vector<ResultRow> rows_;
};

/// Mean and sample standard deviation (n - 1) of `v`; std = 0 for one value; NaN for none.
inline std::pair<double, double> mean_std(const std::vector<double>& v) {
  if (v.empty()) return {NAN, NAN};
  double m = 0;
  for (double x : v) m += x;
  m /= double(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(s / double(v.size() - 1)) : 0.0};
}

/// Mean of `field` (e.g. &Metrics::psnr) over the rows of `method` in `dataset` (every R); NaN when there are none.
inline double mean_of(const ResultsTable& table, const std::string& dataset, const std::string& method,
                      double Metrics::*field) {
  std::vector<double> v;
  for (const auto& r : table.rows())
    if (r.dataset == dataset && r.method == method) v.push_back(r.metrics.*field);
  return mean_std(v).first;
}

/// The datasets of `table` in order of first appearance.
inline std::vector<std::string> datasets_of(const ResultsTable& table) {
  std::vector<std::string> out;
  for (const auto& r : table.rows())
    if (std::find(out.begin(), out.end(), r.dataset) == out.end()) out.push_back(r.dataset);
  return out;
}

/// The datasets of `rows` in order of first appearance.
inline std::vector<std::string> datasets_of(const std::vector<ResultRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows)
    if (std::find(out.begin(), out.end(), r.dataset) == out.end()) out.push_back(r.dataset);
  return out;
}

/// Per-cine rows from per-frame rows: the frames of one (dataset, case, R, scale, method) become one row (frame
/// unset) with the metrics of the whole cine, computed exactly from the frame rows (each frame's metrics were
/// taken with the cine's data range R_d and hold rmse_f and nmse_f = e_f / t_f, e_f = N rmse_f^2 the squared
/// error and t_f the squared norm of the ground-truth frame):
///   PSNR = 10 log10(R_d^2 / mean_f rmse_f^2)     (the PSNR of the cine as one array: its mean squared error)
///   SSIM = mean_f ssim_f                          (SSIM is a mean over pixels, so the cine's is the mean over frames)
///   NMSE = sum_f e_f / sum_f t_f = sum_f rmse_f^2 / sum_f (rmse_f^2 / nmse_f)   (frames with e_f = 0 add nothing
///          to either sum; all frames exact gives 0)
///   RMSE = sqrt(mean_f rmse_f^2); data_range = the frames' (the largest when they differ); seconds = the case's.
/// Rows without a frame are kept as they are. Order: first appearance. Requires the frames of a cine to have equal
/// sizes (as every cine has).
inline std::vector<ResultRow> per_cine_rows(const std::vector<ResultRow>& rows) {
  std::vector<ResultRow> out;
  std::map<std::tuple<std::string, std::string, double, double, std::string>, std::size_t> where;
  std::vector<std::vector<const ResultRow*>> frames;
  for (const auto& r : rows) {
    if (!r.frame) {
      out.push_back(r);
      frames.emplace_back();
      continue;
    }
    const auto key = std::make_tuple(r.dataset, r.case_id, r.acceleration, r.scale.value_or(0.0), r.method);
    auto it = where.find(key);
    if (it == where.end()) {
      it = where.emplace(key, out.size()).first;
      ResultRow c = r;
      c.frame.reset();
      out.push_back(c);
      frames.emplace_back();
    }
    frames[it->second].push_back(&r);
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (frames[i].empty()) continue;
    double mse = 0, ssim = 0, num = 0, den = 0, range = 0;
    for (const ResultRow* f : frames[i]) {
      const double m = f->metrics.rmse * f->metrics.rmse;
      mse += m, ssim += f->metrics.ssim, range = std::max(range, f->metrics.data_range);
      if (m > 0 && f->metrics.nmse > 0) num += m, den += m / f->metrics.nmse;
    }
    const double n = double(frames[i].size());
    mse /= n;
    Metrics& M = out[i].metrics;
    M.rmse = std::sqrt(mse);
    M.ssim = ssim / n;
    M.nmse = den > 0 ? num / den : 0.0;
    M.data_range = range;
    M.psnr = mse > 0 ? 10 * std::log10(range * range / mse) : INFINITY;
  }
  return out;
}

/// Markdown summary of `rows`: one table per dataset, rows = (R, scale when `with_scale`, method in
/// `method_order`), columns PSNR, SSIM, NMSE as mean +- sample std over the rows (cases, or frames for per-frame
/// rows), the number of rows n and the mean run time per case. Methods not in `method_order` are left out.
inline std::string summary_markdown(const std::vector<ResultRow>& rows, bool with_scale,
                                    const std::vector<std::string>& method_order) {
  std::ostringstream md;
  md << std::fixed;
  for (const auto& ds : datasets_of(rows)) {
    std::set<std::pair<double, double>> groups;  // (R, scale or NaN-free sentinel)
    for (const auto& r : rows)
      if (r.dataset == ds) groups.insert({r.acceleration, r.scale.value_or(0.0)});
    md << "\n### " << ds << "\n\n| R | " << (with_scale ? "scale | " : "")
       << "method | PSNR (dB) | SSIM | NMSE | n | seconds/case |\n|---|" << (with_scale ? "---|" : "")
       << "---|---|---|---|---|---|\n";
    for (const auto& [R, scale] : groups)
      for (const auto& m : method_order) {
        std::vector<double> p, s, n, t;
        for (const auto& r : rows)
          if (r.dataset == ds && r.acceleration == R && r.scale.value_or(0.0) == scale && r.method == m) {
            p.push_back(r.metrics.psnr);
            s.push_back(r.metrics.ssim);
            n.push_back(r.metrics.nmse);
            t.push_back(r.seconds);
          }
        if (p.empty()) continue;
        auto [pm, ps] = mean_std(p);
        auto [sm, ss] = mean_std(s);
        auto [nm, ns] = mean_std(n);
        md << "| " << std::setprecision(R == std::round(R) ? 0 : 1) << R << " | ";
        if (with_scale) md << std::setprecision(2) << scale << " | ";
        md << m << " | " << std::setprecision(2) << pm << " ± " << ps << " | " << std::setprecision(4) << sm
           << " ± " << ss << " | " << nm << " ± " << ns << " | " << p.size() << " | " << std::setprecision(2)
           << mean_std(t).first << " |\n";
      }
  }
  return md.str();
}

/// summary_markdown of a table's rows (as stored: per case, or per frame for a table with a frame column).
inline std::string summary_markdown(const ResultsTable& table, const std::vector<std::string>& method_order) {
  return summary_markdown(table.rows(), table.columns().scale, method_order);
}

}  // namespace reconlab::study
