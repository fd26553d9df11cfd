#pragma once
/// @file manifest.hpp
/// A study's manifest.json: what was run (study, command line, seeds, data files, chosen weights, commands,
/// versions), kept across reruns (an interrupted study reloads it) and rewritten atomically after every change.
#include <filesystem>
#include <limits>
#include <spdlog/spdlog.h>
#include <vector>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "reconlab/io/atomic.hpp"

namespace reconlab::study {

/// The manifest of one output folder.
class Manifest {
 public:
  /// Loads `dir`/manifest.json when it exists, then records `study` and the command line `argv[0..argc)`.
  /// Throws Error when an existing manifest is not valid JSON.
  Manifest(const std::filesystem::path& dir, const std::string& study, int argc, char** argv)
      : path_(dir / "manifest.json") {
    if (std::filesystem::exists(path_)) {
      std::ifstream in(path_);
      try {
        json_ = nlohmann::json::parse(in);
      } catch (const std::exception& e) {
        throw Error("malformed " + path_.string() + " (delete it to start the study afresh): " + e.what());
      }
    }
    json_["study"] = study;
    std::string cmd;
    for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
    json_["command"] = cmd;
  }
  /// The manifest's content, to read and change.
  nlohmann::json& operator*() { return json_; }
  nlohmann::json* operator->() { return &json_; }
  nlohmann::json& operator[](const std::string& key) { return json_[key]; }
  /// Records a setting that every run into this folder must share (the preset, the seed, a study's training
  /// sizes): stores `value` under `key` when the manifest has no such key, returns when it holds the same value, and
  /// throws Error naming both values when an earlier run recorded another one, so that a resumed study never mixes
  /// rows or trained networks made under different settings (start the new settings in another --out folder).
  void fix(const std::string& key, const nlohmann::json& value) {
    if (json_.contains(key) && json_[key] != value)
      throw Error(path_.parent_path().string() + " holds a run with " + key + " = " + json_[key].dump() +
                  "; this run has " + key + " = " + value.dump() +
                  " (resume with the same settings, or give another --out folder)");
    json_[key] = value;
  }
  /// Writes the manifest atomically.
  void save() const { io::atomic_write_text(path_, json_.dump(1)); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  nlohmann::json json_ = nlohmann::json::object();
};

/// A regularisation weight chosen on validation data: the value of `values` with the highest `score(w)` (e.g. the
/// mean validation PSNR in dB). Each score is recorded in the manifest under validation_grid[key][w] and the choice
/// under chosen_weights[key], then the manifest is saved; a key already chosen (a resumed study) is returned without
/// evaluating anything. Throws Error when `values` is empty.
template <class Score>
double choose_weight(Manifest& manifest, const std::string& key, const std::vector<double>& values,
                     const Score& score) {
  require(!values.empty(), "choose_weight: no candidate values for " + key);
  nlohmann::json& j = *manifest;
  if (j.contains("chosen_weights") && j["chosen_weights"].contains(key)) return j["chosen_weights"][key].get<double>();
  double best = -std::numeric_limits<double>::infinity(), best_w = values.front();
  for (double w : values) {
    const double s = score(w);
    j["validation_grid"][key][std::to_string(w)] = s;
    spdlog::info("validation {} weight {}: score {:.3f}", key, w, s);
    if (s > best) best = s, best_w = w;
  }
  j["chosen_weights"][key] = best_w;
  manifest.save();
  return best_w;
}

}  // namespace reconlab::study
