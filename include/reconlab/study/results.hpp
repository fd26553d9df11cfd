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

  /// True if a row of (dataset, case, R, scale, method) is in the table (any frame: a case's frame rows are added
  /// together by add_rows, so one of them stands for all).
  bool has(const std::string& dataset, const std::string& case_id, double r, const std::string& method,
           std::optional<double> scale = {}) const {
    return std::any_of(rows_.begin(), rows_.end(), [&](const ResultRow& x) {
      return x.dataset == dataset && x.case_id == case_id && x.acceleration == r && x.method == method &&
             x.scale == scale;
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
    rows_.insert(rows_.end(), rows.begin(), rows.end());
    save();
  }
  const std::vector<ResultRow>& rows() const { return rows_; }

  /// Writes the table to its path atomically.
  void save() const {
    std::ostringstream out;
    out << header() << "\n" << std::setprecision(10);
    for (const auto& r : rows_) {
      out << r.dataset << "," << r.case_id << "," << r.acceleration << ",";
      if (columns_.frame) out << (r.frame ? std::to_string(*r.frame) : "") << ",";
      if (columns_.scale) {
        if (r.scale) out << *r.scale;
        out << ",";
      }
      out << r.method << "," << r.metrics.psnr << "," << r.metrics.ssim << "," << r.metrics.nmse << ","
          << r.metrics.rmse << "," << r.metrics.data_range << "," << r.seconds << "\n";
    }
    io::atomic_write_text(path_, out.str());
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

/// Markdown summary: one table per dataset, rows = (R, scale when the table has a scale column, method in
/// `method_order`), columns PSNR, SSIM, NMSE as mean +- sample std over the rows (cases, and frames where the table
/// has frames), the number of rows n and the mean run time per case. Methods not in `method_order` are left out.
inline std::string summary_markdown(const ResultsTable& table, const std::vector<std::string>& method_order) {
  std::ostringstream md;
  const bool with_scale = table.columns().scale;
  md << std::fixed;
  for (const auto& ds : datasets_of(table)) {
    std::set<std::pair<double, double>> groups;  // (R, scale or NaN-free sentinel)
    for (const auto& r : table.rows())
      if (r.dataset == ds) groups.insert({r.acceleration, r.scale.value_or(0.0)});
    md << "\n### " << ds << "\n\n| R | " << (with_scale ? "scale | " : "")
       << "method | PSNR (dB) | SSIM | NMSE | n | seconds/case |\n|---|" << (with_scale ? "---|" : "")
       << "---|---|---|---|---|---|\n";
    for (const auto& [R, scale] : groups)
      for (const auto& m : method_order) {
        std::vector<double> p, s, n, t;
        for (const auto& r : table.rows())
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
        md << "| " << std::setprecision(0) << R << " | ";
        if (with_scale) md << std::setprecision(2) << scale << " | ";
        md << m << " | " << std::setprecision(2) << pm << " ± " << ps << " | " << std::setprecision(4) << sm
           << " ± " << ss << " | " << nm << " ± " << ns << " | " << p.size() << " | " << std::setprecision(2)
           << mean_std(t).first << " |\n";
      }
  }
  return md.str();
}

}  // namespace reconlab::study
