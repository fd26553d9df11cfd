#pragma once
/// @file results.hpp
/// Study bookkeeping: the per-case metrics table (CSV, rewritten atomically after every row so an interrupted
/// study resumes where it stopped), and the Markdown summary (mean +- std per dataset, method and acceleration).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "reconlab/io/atomic.hpp"
#include "reconlab/metrics.hpp"

namespace reconlab::study {

/// One reconstructed case: which data, acceleration R, method, its metrics and its run time (seconds).
struct ResultRow {
  std::string dataset;
  std::string case_id;
  double acceleration = 0;  ///< nominal R of the mask family (e.g. 4, 8)
  std::string method;
  Metrics metrics{};
  double seconds = 0;
};

/// The per-case metrics table, persisted as CSV at `path`:
/// dataset,case,acceleration,method,psnr,ssim,nmse,rmse,data_range,seconds
class ResultsTable {
 public:
  /// Loads `path` when it exists (a resumed study); throws Error on a malformed file.
  explicit ResultsTable(std::filesystem::path path) : path_(std::move(path)) {
    std::ifstream in(path_);
    if (!in) return;
    std::string line;
    std::getline(in, line);
    require(line == header(), "results table " + path_.string() + " has an unexpected header: " + line);
    int lineno = 1;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty()) continue;
      std::stringstream ss(line);
      std::vector<std::string> f;
      std::string tok;
      while (std::getline(ss, tok, ',')) f.push_back(tok);
      require(f.size() == 10, "results table " + path_.string() + " line " + std::to_string(lineno) + " malformed");
      ResultRow r;
      r.dataset = f[0];
      r.case_id = f[1];
      r.acceleration = std::stod(f[2]);
      r.method = f[3];
      r.metrics = {std::stod(f[4]), std::stod(f[5]), std::stod(f[6]), std::stod(f[7]), std::stod(f[8])};
      r.seconds = std::stod(f[9]);
      rows_.push_back(r);
    }
  }
  static std::string header() { return "dataset,case,acceleration,method,psnr,ssim,nmse,rmse,data_range,seconds"; }

  /// True if (dataset, case, R, method) is already in the table.
  bool has(const std::string& dataset, const std::string& case_id, double r, const std::string& method) const {
    return std::any_of(rows_.begin(), rows_.end(), [&](const ResultRow& x) {
      return x.dataset == dataset && x.case_id == case_id && x.acceleration == r && x.method == method;
    });
  }
  /// Appends a row and rewrites the CSV atomically.
  void add(const ResultRow& row) {
    rows_.push_back(row);
    save();
  }
  const std::vector<ResultRow>& rows() const { return rows_; }

  /// Writes the table to its path atomically.
  void save() const {
    std::ostringstream out;
    out << header() << "\n" << std::setprecision(10);
    for (const auto& r : rows_)
      out << r.dataset << "," << r.case_id << "," << r.acceleration << "," << r.method << "," << r.metrics.psnr << ","
          << r.metrics.ssim << "," << r.metrics.nmse << "," << r.metrics.rmse << "," << r.metrics.data_range << ","
          << r.seconds << "\n";
    io::atomic_write_text(path_, out.str());
  }

 private:
  std::filesystem::path path_;
  std::vector<ResultRow> rows_;
};

/// Mean and sample standard deviation (n - 1) of `v`; std = 0 for one value.
inline std::pair<double, double> mean_std(const std::vector<double>& v) {
  if (v.empty()) return {NAN, NAN};
  double m = 0;
  for (double x : v) m += x;
  m /= double(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(s / double(v.size() - 1)) : 0.0};
}

/// Markdown summary: one table per dataset, rows = (R, method) in `method_order`, columns PSNR, SSIM, NMSE as
/// mean +- std over cases, plus the number of cases and the mean run time.
inline std::string summary_markdown(const ResultsTable& table, const std::vector<std::string>& method_order) {
  std::ostringstream md;
  std::vector<std::string> datasets;
  std::set<double> rs;
  for (const auto& r : table.rows()) {
    if (std::find(datasets.begin(), datasets.end(), r.dataset) == datasets.end()) datasets.push_back(r.dataset);
    rs.insert(r.acceleration);
  }
  md << std::fixed;
  for (const auto& ds : datasets) {
    md << "\n### " << ds << "\n\n| R | method | PSNR (dB) | SSIM | NMSE | n | seconds/case |\n|---|---|---|---|---|---|---|\n";
    for (double R : rs)
      for (const auto& m : method_order) {
        std::vector<double> p, s, n, t;
        for (const auto& r : table.rows())
          if (r.dataset == ds && r.acceleration == R && r.method == m) {
            p.push_back(r.metrics.psnr);
            s.push_back(r.metrics.ssim);
            n.push_back(r.metrics.nmse);
            t.push_back(r.seconds);
          }
        if (p.empty()) continue;
        auto [pm, ps] = mean_std(p);
        auto [sm, ss] = mean_std(s);
        auto [nm, ns] = mean_std(n);
        md << "| " << std::setprecision(0) << R << " | " << m << " | " << std::setprecision(2) << pm << " ± " << ps
           << " | " << std::setprecision(4) << sm << " ± " << ss << " | " << nm << " ± " << ns << " | " << p.size()
           << " | " << std::setprecision(2) << mean_std(t).first << " |\n";
      }
  }
  return md.str();
}

}  // namespace reconlab::study
