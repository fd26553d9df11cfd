#pragma once
/// @file manifest.hpp
/// A study's manifest.json: what was run (study, command line, seeds, data files, chosen weights, commands,
/// versions), kept across reruns (an interrupted study reloads it) and rewritten atomically after every change.
#include <filesystem>
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
  /// Writes the manifest atomically.
  void save() const { io::atomic_write_text(path_, json_.dump(1)); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  nlohmann::json json_ = nlohmann::json::object();
};

}  // namespace reconlab::study
