#pragma once
/// @file methods.hpp
/// The trained-network methods of `reconlab recon`. They live in a module (unet_method.cpp, built as
/// libreconlab_networks_cli.so beside the executable, serving every network through the model registry,
/// reconlab/networks/registry.hpp) that network_loader.cpp opens with dlopen on the first call of either function
/// below, so that the tool neither compiles nor loads LibTorch for its other methods; without networks
/// (RECONLAB_BUILD_NETWORKS=OFF) there is no module and the functions report that.
#include <memory>
#include <string>
#include <vector>

#include "reconlab/reconstructor.hpp"
#include "train_command.hpp"

namespace reconlab::tool {

/// The names of the network methods (the registry's names: unet, kspace-unet, cascade, dncn, modl, modl-sense);
/// empty when the tool was built without networks. Loads the module (Error when it cannot be loaded).
std::vector<std::string> network_method_names();

/// The trained network `method` (any name of network_method_names()) loaded from `weights` (final.pt or a trainer
/// checkpoint) with the model.json beside it. Throws Error if the tool was built without networks, `weights` is
/// empty, the name is unknown, model.json names another architecture, or the files are unusable.
std::unique_ptr<Reconstructor> make_network_reconstructor(const std::string& method, const std::string& weights);

/// The test-time sampling mask (nx, ny, 1, 1, 1) of the trained learned-sampling model at `weights`, and a
/// description. Throws Error as make_network_reconstructor does, and for a model of another architecture.
RArray learned_mask(const std::string& weights, std::string& description);

/// `reconlab train` in this process (one rank): reads the arrays, builds the model from model.json, joins the
/// process group when world_size > 1, trains (networks::train) into args.out and prints one JSON line (rank 0).
/// Throws Error as run_train_command documents, and when the tool was built without networks.
void run_network_training(const TrainArgs& args);

}  // namespace reconlab::tool
