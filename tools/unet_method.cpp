// The network methods of `reconlab recon`, kept in their own translation unit: the only one of the tool that
// includes LibTorch.
#include "methods.hpp"
#include "reconlab/networks/network_reconstructor.hpp"
#include "reconlab/networks/sense_modl.hpp"
#include "reconlab/networks/unet_reconstructor.hpp"

namespace reconlab::tool {

std::unique_ptr<Reconstructor> make_unet_reconstructor(const std::string& weights) {
  return std::make_unique<networks::UnetReconstructor>(weights);
}

std::unique_ptr<Reconstructor> make_network_reconstructor(const std::string& method, const std::string& weights) {
  if (method == "modl-sense") return networks::load_sense_modl_reconstructor(weights);
  return networks::load_network_reconstructor(method, weights);
}

}  // namespace reconlab::tool
