#pragma once
/// @file methods.hpp
/// Builds the Reconstructor for a `reconlab recon --method` name. Network methods live in their own translation
/// unit (unet_method.cpp) so that the rest of the tool compiles without LibTorch.
#include <memory>
#include <string>

#include "reconlab/reconstructor.hpp"

namespace reconlab::tool {

/// The trained U-Net reconstructor loaded from `weights` (a final.pt or checkpoint written by the trainer, with
/// its model.json beside it). Throws Error if the tool was built without networks or the file is unusable.
std::unique_ptr<Reconstructor> make_unet_reconstructor(const std::string& weights);

/// A trained data-consistent network (`method`: kspace-unet | cascade | dncn | modl, single-coil, see
/// reconlab/networks/network_reconstructor.hpp; or modl-sense, multi-coil, see reconlab/networks/sense_modl.hpp) loaded from `weights` with its model.json beside it. Throws Error if
/// the tool was built without networks, model.json names another architecture, or the files are unusable.
std::unique_ptr<Reconstructor> make_network_reconstructor(const std::string& method, const std::string& weights);

}  // namespace reconlab::tool
