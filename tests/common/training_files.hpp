#pragma once
/// @file training_files.hpp
/// What the tests of `reconlab train` share: a float32 .npy writer built from the format's specification (numpy's
/// format.py, independent of reconlab's writer), the tiny U-Net's model.json, and loading its weights.
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "reconlab/networks/trainer.hpp"
#include "reconlab/networks/unet.hpp"

namespace reconlab::test_support {

/// Writes `t` as a float32 C-order .npy v1.0 file.
inline void save_npy_f32(const std::filesystem::path& path, const torch::Tensor& t) {
  auto c = t.to(torch::kFloat32).contiguous();
  std::string shape = "(";
  for (auto s : c.sizes()) shape += std::to_string(s) + ", ";
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xff));
  out.put(static_cast<char>(len >> 8));
  out << header;
  out.write(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<std::streamsize>(c.numel() * 4));
}

/// The U-Net the train tests use (1 -> 1 channels, 8 base channels, 2 pools, no dropout, instance norm).
inline networks::UnetOptions tiny_train_unet() {
  return networks::UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 8, .num_pool_layers = 2};
}

/// Writes tiny_train_unet()'s model.json (the registry's format) to `path`.
inline void write_tiny_unet_json(const std::filesystem::path& path) {
  std::ofstream(path) << R"({"architecture": "unet", "in_channels": 1, "out_channels": 1, "base_channels": 8,
            "num_pool_layers": 2, "drop_prob": 0.0, "residual": false, "padding": "reflect",
            "input": "(|zero-filled| - mean) / std"})";
}

/// tiny_train_unet() with the weights of `weights` (final.pt or a checkpoint).
inline networks::Unet load_tiny_unet(const std::filesystem::path& weights) {
  networks::Unet net(tiny_train_unet());
  networks::load_weights(net, weights);
  return net;
}

/// The number of lines of the text file at `path` (0 when it cannot be read): a loss.csv has epochs + 1.
inline int count_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

}  // namespace reconlab::test_support
