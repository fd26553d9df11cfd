#pragma once
/// @file methods.hpp
/// The trained-network methods of `reconlab recon`. They live in their own translation unit (unet_method.cpp,
/// which serves them all through the model registry, reconlab/networks/registry.hpp) so that the rest of the tool
/// compiles without LibTorch; no_networks.cpp replaces it in builds without networks.
#include <memory>
#include <string>
#include <vector>

#include "reconlab/reconstructor.hpp"

namespace reconlab::tool {

/// The names of the network methods (the registry's names: unet, kspace-unet, cascade, dncn, modl, modl-sense);
/// empty when the tool was built without networks.
std::vector<std::string> network_method_names();

/// The trained network `method` (any name of network_method_names()) loaded from `weights` (final.pt or a trainer
/// checkpoint) with the model.json beside it. Throws Error if the tool was built without networks, `weights` is
/// empty, the name is unknown, model.json names another architecture, or the files are unusable.
std::unique_ptr<Reconstructor> make_network_reconstructor(const std::string& method, const std::string& weights);

}  // namespace reconlab::tool
