// Tests of the model registry (registry.hpp): every registered network survives save -> load with identical
// weights and identical reconstructions; model.json files in the format the studies have written load; unknown
// names, mismatched architectures, input conventions and weights are clear errors; every network Reconstructor
// refuses frames, trajectories and sampling weights with an Error; `reconlab recon --method <name>` serves every
// registered network and gives the in-process reconstruction.
#include <gtest/gtest.h>

#include "../common/torch_threads.hpp"

#include "../common/error_of.hpp"
#include "../common/temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <map>

#include "../common/run_cli.hpp"
#include "reconlab/io/array_file.hpp"
#include "reconlab/networks/registry.hpp"
#include "reconlab/io/noncartesian.hpp"
#include "reconlab/trajectory.hpp"
#include "reconlab/phantoms.hpp"

using namespace reconlab;
using namespace reconlab::networks;
namespace fs = std::filesystem;

using reconlab::test_support::error_of;
using reconlab::test_support::TempDir;

using reconlab::test_support::Threads1;

namespace {



/// Small model.json of every registered network (written by the same network_json writers the studies use).
std::map<std::string, nlohmann::json> small_configs() {
  return {
      {"unet", network_json(UnetOptions{.in_channels = 1, .out_channels = 1, .base_channels = 4,
                                        .num_pool_layers = 2, .residual = true})},
      {"kspace-unet", network_json(KspaceUnetOptions{4, 2})},
      {"cascade", network_json(CascadeOptions{{4, 2}, 4, 2})},
      {"dncn", network_json(DncnOptions{.cascades = 2, .conv_layers = 3, .features = 4, .shared_weights = false,
                                        .dc = DcMode::soft})},
      {"modl", network_json(ModlOptions{.iterations = 2, .cg_iterations = 3, .conv_layers = 3, .features = 4})},
      {"modl-sense", network_json(SenseModlOptions{.iterations = 2, .cg_iterations = 3, .conv_layers = 3,
                                                   .features = 4})},
      {"nufft-modl", network_json(NufftModlOptions{.iterations = 2, .cg_iterations = 3, .conv_layers = 3,
                                                   .features = 4})},
      {"sr-dcgan", network_json(SrDcganOptions{.width = 2})},
      {"sr-resnet", network_json(SrResNetOptions{.features = 4, .blocks = 1, .scale = 4})},
      {"learned-sampling", network_json(LearnedSamplingOptions{.mask = {.nx = 16, .ny = 12, .rate = 0.5},
                                                               .network = "unet", .features = 4,
                                                               .num_pool_layers = 2})},
  };
}

/// A 16 x 12 acquisition: an ellipse phantom with a smooth phase, every 2nd column and the 4 central ones;
/// `coils` > 1 gives multi-coil k-space with smooth maps (as sensitivities).
Acquisition test_acquisition(Index coils) {
  const Index nx = 16, ny = 12;
  const RArray full = random_phantom(3, 16);
  RArray mag = full.slice(Eigen::array<Index, 5>{0, 2, 0, 0, 0}, Eigen::array<Index, 5>{nx, ny, 1, 1, 1});
  RArray mask(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) mask(x, y, 0, 0, 0) = (x % 2 == 0 || std::abs(x - nx / 2) <= 2) ? 1.f : 0.f;
  CArray maps(nx, ny, coils, 1, 1);
  for (Index c = 0; c < coils; ++c)
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x)
        maps(x, y, c, 0, 0) = std::polar(1.0f / std::sqrt(float(coils)), 0.2f * float(c) + 0.05f * float(x + c * y));
  CArray img(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) img(x, y, 0, 0, 0) = std::polar(mag(x, y, 0, 0, 0) + 0.1f, 0.1f * float(x));
  CArray coil_images(nx, ny, coils, 1, 1);
  for (Index c = 0; c < coils; ++c)
    for (Index y = 0; y < ny; ++y)
      for (Index x = 0; x < nx; ++x) coil_images(x, y, c, 0, 0) = maps(x, y, c, 0, 0) * img(x, y, 0, 0, 0);
  Acquisition acq;
  acq.kspace = EigenFftw::multiply_mask(mask, EigenFftw::fft2c(coil_images)) * cfloat(5.0f);
  acq.sampling = mask;
  if (coils > 1) acq.sensitivities = maps;
  return acq;
}

bool same_parameters(torch::nn::Module& a, torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& p : pa)
    if (!pb.contains(p.key()) || !torch::equal(p.value(), pb[p.key()])) return false;
  return true;
}

}  // namespace

/// The test acquisition a network takes: 3 coils for modl-sense, a radial acquisition of the same image (12 spokes,
/// readout oversampling 2, 16 x 12 grid) for nufft-modl, else single-coil Cartesian.
Acquisition acquisition_for(const std::string& name) {
  Acquisition acq = test_acquisition(name == "modl-sense" ? 3 : 1);
  if (name.rfind("sr-", 0) == 0)  // super-resolution: the 4 x 3 k-space truncation of the 16 x 12 image
    return solvers::simulate_low_resolution(EigenFftw::ifft2c(acq.kspace), 4, LowResolution::kspace_truncation);
  if (name != "nufft-modl") return acq;
  const CArray img = EigenFftw::ifft2c(acq.kspace);  // masked: any image will do
  const RArray t = radial_trajectory({.samples = 12, .spokes = 12, .readout_oversampling = 2});
  Acquisition r;
  r.kspace = Nufft(t, 16, 12).apply(img);
  r.sampling = Trajectory{t, std::nullopt};
  r.image_dims = {16, 12, 1, 1, 1};
  return r;
}

TEST(Registry, EveryRegisteredNameIsTestedHere) {
  const auto configs = small_configs();
  std::vector<std::string> names;  // the cine networks are tested in cine_nets_test.cpp
  for (const auto& e : model_registry())
    if (e.input != kPackedCineInput) names.push_back(e.name);
  EXPECT_EQ(names.size(), configs.size());
  for (const auto& n : names) EXPECT_TRUE(configs.count(n)) << n << " has no round-trip configuration in this test";
  for (const auto& [n, j] : configs) {
    EXPECT_TRUE(is_network_method(n)) << n;
    EXPECT_EQ(j.at("architecture"), n);
    EXPECT_EQ(registry_entry(n).multicoil, n == "modl-sense" || n == "nufft-modl") << n;
  }
}

TEST(Registry, SaveThenLoadGivesIdenticalWeightsAndOutputsForEveryName) {
  Threads1 t;
  for (const auto& [name, config] : small_configs()) {
    SCOPED_TRACE(name);
    TempDir dir("roundtrip_" + name);
    NetworkModel built = build_model(config, 11);
    // Move every parameter away from its initial value, so that a loader that ignored final.pt (and built a fresh
    // network from the same seed) would fail.
    {
      torch::NoGradGuard g;
      for (auto& p : built.module->parameters()) p.add_(0.01 * torch::ones_like(p));
    }
    save_model(built, dir.path);
    ASSERT_TRUE(fs::exists(dir.path / "model.json"));
    torch::manual_seed(999);  // the loaded network is initialised differently before its weights are read
    NetworkModel loaded = load_model(name, dir.path / "final.pt");
    EXPECT_EQ(loaded.name, name);
    EXPECT_EQ(loaded.config, config);
    EXPECT_TRUE(same_parameters(*built.module, *loaded.module));

    const Acquisition acq = acquisition_for(name);
    const CArray a = built.reconstructor("in memory")->reconstruct(acq);
    auto rec = load_reconstructor(name, dir.path / "final.pt");
    EXPECT_EQ(rec->name(), name);
    EXPECT_EQ(rec->parameters().value("weights", std::string()), (dir.path / "final.pt").string());
    const CArray b = rec->reconstruct(acq);
    ASSERT_EQ(dims_of(a), (Dims{16, 12, 1, 1, 1}));
    ASSERT_EQ(dims_of(b), dims_of(a));
    double max_abs = 0;
    for (Index i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a.data()[i], b.data()[i]) << "sample " << i;
      max_abs = std::max<double>(max_abs, std::abs(a.data()[i]));
    }
    EXPECT_GT(max_abs, 0.0);  // a network that output zeros would pass the comparison trivially
  }
}

TEST(Registry, ModelJsonInTheFormatStudiesHaveWrittenStillLoads) {
  Threads1 t;
  // model.json as written before the registry (nlohmann's sorted keys; the U-Net had no "padding" then).
  const std::map<std::string, std::string> old_files = {
      {"unet", R"({"architecture":"unet","base_channels":4,"drop_prob":0.0,"in_channels":1,)"
               R"("input":"(|zero-filled| - mean) / std","num_pool_layers":2,"out_channels":1,"residual":true})"},
      {"kspace-unet", R"({"architecture":"kspace-unet","base_channels":4,"input":"(Re y, Im y, mask) * 1/max|zero-filled|",)"
                      R"("num_pool_layers":2})"},
      {"cascade", R"({"architecture":"cascade","base_channels":4,"input":"(Re y, Im y, mask) * 1/max|zero-filled|",)"
                  R"("num_pool_layers":2,"stage1":{"architecture":"kspace-unet","base_channels":4,)"
                  R"("input":"(Re y, Im y, mask) * 1/max|zero-filled|","num_pool_layers":2}})"},
      {"dncn", R"({"architecture":"dncn","cascades":2,"conv_layers":3,"dc":"soft","features":4,)"
               R"("input":"(Re y, Im y, mask) * 1/max|zero-filled|","shared_weights":false})"},
      {"modl", R"({"architecture":"modl","cg_iterations":3,"conv_layers":3,"features":4,)"
               R"("input":"(Re y, Im y, mask) * 1/max|zero-filled|","iterations":2,"lambda_init":0.05})"},
      {"modl-sense", R"({"architecture":"modl-sense","cg_iterations":3,"conv_layers":3,"features":4,)"
                     R"("input":"(Re y_c, Im y_c, Re s_c, Im s_c per coil, mask) with y * 1/max|A^H y|",)"
                     R"("iterations":2,"lambda_init":0.05})"},
  };
  for (const auto& [name, text] : old_files) {
    SCOPED_TRACE(name);
    TempDir dir("old_" + name);
    // Before "norm", "conjugate_channels" and "final_dc" existed, the k-space U-Net and the cascade were what the
    // options none / false build now; such a file must load as exactly that network.
    const KspaceUnetOptions legacy_kunet{4, 2, InputNorm::none, false};
    nlohmann::json config = small_configs().at(name);
    if (name == "kspace-unet") config = network_json(legacy_kunet);
    if (name == "cascade") config = network_json(CascadeOptions{legacy_kunet, 4, 2, InputNorm::none, false});
    NetworkModel built = build_model(config, 5);
    save_weights(*built.module, dir.path / "final.pt");
    std::ofstream(dir.path / "model.json") << text;
    NetworkModel loaded = load_model(name, dir.path / "final.pt");
    EXPECT_TRUE(same_parameters(*built.module, *loaded.module));
    EXPECT_EQ(loaded.config.value("norm", std::string("none")), "none");
  }
}

TEST(Registry, UnknownNamesAndMismatchesAreClearErrors) {
  Threads1 t;
  TempDir dir("errors");
  const auto configs = small_configs();
  NetworkModel dncn = build_model(configs.at("dncn"), 1);
  save_model(dncn, dir.path);
  const fs::path weights = dir.path / "final.pt";

  // Unknown name: says so and lists the registered names.
  std::string what = error_of([&] { load_reconstructor("resnet", weights); });
  EXPECT_NE(what.find("unknown network 'resnet'"), std::string::npos) << what;
  EXPECT_NE(what.find("unet, kspace-unet, cascade, dncn, modl, modl-sense"), std::string::npos) << what;
  what = error_of([&] { build_model(nlohmann::json{{"architecture", "resnet"}}); });
  EXPECT_NE(what.find("unknown network 'resnet'"), std::string::npos) << what;
  what = error_of([&] { build_model(nlohmann::json{{"layers", 3}}); });
  EXPECT_NE(what.find("architecture"), std::string::npos) << what;

  // model.json describes another architecture than the one asked for.
  what = error_of([&] { load_reconstructor("modl", weights); });
  EXPECT_NE(what.find("describes architecture 'dncn', not 'modl'"), std::string::npos) << what;

  // model.json matches the name, but final.pt holds another architecture's weights.
  auto other = configs.at("dncn");
  other["features"] = 6;
  io::atomic_write_text(dir.path / "model.json", other.dump());
  what = error_of([&] { load_reconstructor("dncn", weights); });
  EXPECT_NE(what.find("does not match the architecture"), std::string::npos) << what;
  EXPECT_NE(what.find("final.pt"), std::string::npos) << what;

  // Another input convention (normalisation) than the network is trained with.
  auto renormalised = configs.at("dncn");
  renormalised["input"] = "(Re y, Im y, mask) * 1/max|y|";
  io::atomic_write_text(dir.path / "model.json", renormalised.dump());
  what = error_of([&] { load_reconstructor("dncn", weights); });
  EXPECT_NE(what.find("input convention"), std::string::npos) << what;

  // Missing options, missing and malformed model.json.
  auto missing = configs.at("dncn");
  missing.erase("cascades");
  io::atomic_write_text(dir.path / "model.json", missing.dump());
  what = error_of([&] { load_reconstructor("dncn", weights); });
  EXPECT_NE(what.find("malformed"), std::string::npos) << what;
  io::atomic_write_text(dir.path / "model.json", "{not json");
  EXPECT_NE(error_of([&] { load_reconstructor("dncn", weights); }).find("malformed"), std::string::npos);
  fs::remove(dir.path / "model.json");
  EXPECT_NE(error_of([&] { load_reconstructor("dncn", weights); }).find("model.json"), std::string::npos);

  // A missing weights file.
  io::atomic_write_text(dir.path / "model.json", configs.at("dncn").dump());
  EXPECT_NE(error_of([&] { load_reconstructor("dncn", dir.path / "nothing.pt"); }).find("not found"),
            std::string::npos);
}

TEST(Registry, NetworkReconstructorsRefuseFramesTrajectoriesAndSamplingWeights) {
  Threads1 t;
  for (const auto& [name, config] : small_configs()) {
    SCOPED_TRACE(name);
    NetworkModel m = build_model(config, 2);
    auto rec = m.reconstructor("test");
    const Acquisition one = test_acquisition(name == "modl-sense" ? 3 : 1);
    const Dims kd = dims_of(one.kspace);
    if (name == "nufft-modl") {  // the trajectory network refuses Cartesian k-space
      EXPECT_NE(error_of([&] { rec->reconstruct(one); }).find("Cartesian"), std::string::npos);
      continue;
    }
    if (name.rfind("sr-", 0) == 0) {  // super-resolution: full-resolution k-space is refused, frames are served
      EXPECT_NE(error_of([&] { rec->reconstruct(one); }).find("super-resolution method"), std::string::npos);
      const Acquisition low = acquisition_for(name);
      Acquisition two = low;
      two.kspace = CArray(low.kspace.dimension(0), low.kspace.dimension(1), 1, 2, 1);
      two.kspace.chip(0, 3) = low.kspace.chip(0, 3);
      two.kspace.chip(1, 3) = low.kspace.chip(0, 3);
      two.image_dims = {16, 12, 1, 2, 1};
      const CArray out = rec->reconstruct(two), single = rec->reconstruct(low);
      ASSERT_EQ(dims_of(out), (Dims{16, 12, 1, 2, 1}));
      for (Index i = 0; i < single.size(); ++i) EXPECT_NEAR(std::abs(out.data()[i]), std::abs(single.data()[i]), 1e-5);
      continue;
    }

    // Two frames (one mask for both): refused, naming the frames.
    Acquisition frames = one;
    frames.kspace = CArray(kd[0], kd[1], kd[2], 2, 1);
    frames.kspace.chip(0, 3) = one.kspace.chip(0, 3);
    frames.kspace.chip(1, 3) = one.kspace.chip(0, 3);
    std::string what = error_of([&] { rec->reconstruct(frames); });
    EXPECT_NE(what.find("frames"), std::string::npos) << what;

    // A radial trajectory: refused, naming the Cartesian requirement.
    Acquisition radial;
    radial.kspace = CArray(8, 4, kd[2], 1, 1);
    radial.kspace.setConstant(cfloat(1, 0));
    Trajectory traj;
    traj.coords = RArray(2, 8, 4, 1, 1);
    traj.coords.setZero();
    radial.sampling = traj;
    radial.image_dims = {16, 12, 1, 1, 1};
    if (one.sensitivities) radial.sensitivities = one.sensitivities;
    if (name == "unet") {  // the U-Net takes the gridding image of a trajectory
      EXPECT_EQ(dims_of(rec->reconstruct(radial)), (Dims{16, 12, 1, 1, 1}));
    } else {
      what = error_of([&] { rec->reconstruct(radial); });
      EXPECT_NE(what.find("Cartesian"), std::string::npos) << what;
    }

    // Sampling weights in (0, 1): refused (the networks were trained on 0/1 masks).
    Acquisition weighted = one;
    RArray w = one.mask();
    w(0, 0, 0, 0, 0) = 0.5f;
    weighted.sampling = w;
    what = error_of([&] { rec->reconstruct(weighted); });
    EXPECT_NE(what.find("0/1"), std::string::npos) << what;
  }
}

#ifdef RECONLAB_CLI
TEST(Registry, TheToolServesEveryRegisteredNetwork) {
  Threads1 t;
  using reconlab::test_support::run_cli;
  for (const auto& [name, config] : small_configs()) {
    SCOPED_TRACE(name);
    TempDir dir("cli_" + name);
    NetworkModel m = build_model(config, 4);
    save_model(m, dir.path / "run");
    const Acquisition acq = acquisition_for(name);
    std::string args = "recon --method " + name + " --weights " + (dir.path / "run" / "final.pt").string();
    if (acq.cartesian()) {
      io::write_array((dir.path / "k.npy").string(), acq.kspace);
      io::write_array((dir.path / "m.npy").string(), acq.mask());
      args += " --kspace " + (dir.path / "k.npy").string() + " --mask " + (dir.path / "m.npy").string();
      if (acq.low_resolution != LowResolution::none) args += " --upscale 4";
    } else {  // BART's non-Cartesian layout, as bart traj / bart nufft write it
      io::write_trajectory((dir.path / "traj").string(), acq.trajectory().coords);
      io::write_noncartesian((dir.path / "ksp").string(), acq.kspace);
      io::write_array((dir.path / "k.npy").string(), acq.kspace);  // for the error checks below
      args += " --traj " + (dir.path / "traj").string() + " --kspace " + (dir.path / "ksp").string() +
              " --shape 12,16";
    }
    if (acq.sensitivities) {
      io::write_array((dir.path / "s.npy").string(), *acq.sensitivities);
      args += " --sens " + (dir.path / "s.npy").string();
    }
    const auto run = run_cli(args + " " + (dir.path / "out.npy").string());
    ASSERT_EQ(run.status, 0) << run.out;
    EXPECT_NE(run.out.find("\"method\":\"" + name + "\""), std::string::npos) << run.out;
    const CArray via_tool = io::read_array((dir.path / "out.npy").string());
    const CArray in_process = m.reconstructor("x")->reconstruct(acq);
    ASSERT_EQ(dims_of(via_tool), dims_of(in_process));
    double err = 0, ref = 0;
    for (Index i = 0; i < in_process.size(); ++i) {
      err = std::max<double>(err, std::abs(via_tool.data()[i] - in_process.data()[i]));
      ref = std::max<double>(ref, std::abs(in_process.data()[i]));
    }
    EXPECT_LE(err, 1e-4 * ref);  // the tool may run torch on more threads (other summation order)

    // Without --weights, and with a model.json of another network: one error line, status 1.
    const auto no_weights = run_cli("recon --method " + name + " --kspace " + (dir.path / "k.npy").string() + " " +
                                    (dir.path / "o.npy").string());
    EXPECT_EQ(no_weights.status, 1) << no_weights.out;
    EXPECT_NE(no_weights.out.find("needs --weights"), std::string::npos) << no_weights.out;
    const std::string other = name == "dncn" ? "modl" : "dncn";
    const auto wrong = run_cli("recon --method " + other + " --weights " + (dir.path / "run" / "final.pt").string() +
                               " --kspace " + (dir.path / "k.npy").string() + " " + (dir.path / "o.npy").string());
    EXPECT_EQ(wrong.status, 1) << wrong.out;
    EXPECT_NE(wrong.out.find("not '" + other + "'"), std::string::npos) << wrong.out;
  }
}

TEST(Registry, TheToolWritesALearnedSamplingModelsMask) {
  Threads1 t;
  using reconlab::test_support::run_cli;
  TempDir dir("cli_learned_mask");
  NetworkModel m = build_model(small_configs().at("learned-sampling"), 9);
  {
    torch::NoGradGuard g;  // a distinctive probability per column
    auto net = m.as<LearnedSamplingNet>();
    net->mask->logits.copy_(torch::linspace(-1, 1, 16).flip(0) * torch::tensor({1.f, -1.f}).repeat({8}));
  }
  save_model(m, dir.path / "run");
  const auto run = run_cli("mask --type learned --weights " + (dir.path / "run" / "final.pt").string() + " " +
                           (dir.path / "mask.npy").string());
  ASSERT_EQ(run.status, 0) << run.out;
  auto net = m.as<LearnedSamplingNet>();
  const RArray want = learned_mask(net);
  const RArray got = io::read_npy_real((dir.path / "mask.npy").string());
  ASSERT_EQ(dims_of(got), (Dims{16, 12, 1, 1, 1}));
  double sampled = 0;
  for (Index i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got.data()[i], want.data()[i]) << i;
    sampled += got.data()[i];
  }
  EXPECT_EQ(sampled, 8.0 * 12.0);  // rate 0.5 of 16 columns, every row
  EXPECT_NE(run.out.find("\"acceleration\":2"), std::string::npos) << run.out;
  // A model of another architecture, and no weights: one clear line.
  NetworkModel dncn = build_model(small_configs().at("dncn"), 1);
  save_model(dncn, dir.path / "dncn");
  const auto wrong = run_cli("mask --type learned --weights " + (dir.path / "dncn" / "final.pt").string() + " " +
                             (dir.path / "m2.npy").string());
  EXPECT_EQ(wrong.status, 1);
  EXPECT_NE(wrong.out.find("not 'learned-sampling'"), std::string::npos) << wrong.out;
  const auto none = run_cli("mask --type learned " + (dir.path / "m3.npy").string());
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.out.find("needs --weights"), std::string::npos) << none.out;
}
#endif
