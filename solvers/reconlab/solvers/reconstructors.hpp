#pragma once
/// @file reconstructors.hpp
/// The classical methods as reconlab::Reconstructor: zero-filled, ROF on zero-filled, CS-TV and BART pics TV.
/// Inputs follow reconlab::Acquisition (centred k-space, mask 0/1 of dims (nx, ny, 1, 1, 1)).
#include <memory>
#include <string>

#include "reconlab/operators.hpp"
#include "reconlab/reconstructor.hpp"
#include "reconlab/solvers/bart.hpp"
#include "reconlab/solvers/cs_tv.hpp"
#include "reconlab/solvers/rof.hpp"

namespace reconlab::solvers {

/// Single-coil zero-filled reconstruction F^H (M y); multi-coil k-space is combined by root-sum-of-squares of
/// the per-coil zero-filled images (returned as a real image). Output dims (nx, ny, 1, 1, 1).
inline CArray zero_filled(const Acquisition& acq) {
  validate_acquisition(acq);
  CartesianSampling<EigenFftw> A(acq.mask);
  CArray img = A.adjoint(acq.kspace);
  const Dims d = dims_of(img);
  if (d[2] == 1 && d[3] == 1 && d[4] == 1) return img;
  require(d[3] == 1 && d[4] == 1, "zero-filled: one frame and one batch entry expected, got " + dims_string(d));
  CArray rss(d[0], d[1], 1, 1, 1);
  for (Index y = 0; y < d[1]; ++y)
    for (Index x = 0; x < d[0]; ++x) {
      double s = 0;
      for (Index c = 0; c < d[2]; ++c) s += std::norm(img(x, y, c, 0, 0));
      rss(x, y, 0, 0, 0) = cfloat(static_cast<float>(std::sqrt(s)), 0.f);
    }
  return rss;
}

/// Throws Error unless the acquisition is single-coil, single-frame.
inline void require_single_coil(const Acquisition& acq, const std::string& method) {
  const Dims d = dims_of(acq.kspace);
  require(d[2] == 1 && d[3] == 1 && d[4] == 1,
          method + ": single-coil k-space of dims (nx, ny, 1, 1, 1) expected, got " + dims_string(d));
}

/// Zero-filled: the adjoint of the sampling operator (the inverse FFT with zeros where not acquired).
class ZeroFilledReconstructor : public Reconstructor {
 public:
  std::string name() const override { return "zero-filled"; }
  nlohmann::json parameters() const override { return nlohmann::json::object(); }
  CArray reconstruct(const Acquisition& acq) override { return zero_filled(acq); }
};

/// ROF / TV denoising (Chambolle 2004) of the zero-filled magnitude image. `weight` is relative to the
/// zero-filled image's maximum (the image is scaled to [0, 1] before denoising and scaled back), so one weight
/// serves data of any intensity units. Returns a real image (zero imaginary part).
class RofReconstructor : public Reconstructor {
 public:
  explicit RofReconstructor(RofOptions opt) : opt_(opt) {}
  std::string name() const override { return "rof"; }
  nlohmann::json parameters() const override {
    return {{"weight", opt_.weight}, {"max_iterations", opt_.max_iterations}, {"eps", opt_.eps},
            {"scale", "zero-filled magnitude divided by its maximum"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    RArray mag = zero_filled(acq).abs();
    Eigen::Tensor<float, 0> mx = mag.maximum();
    const float scale = mx() > 0 ? mx() : 1.0f;
    RArray f = mag * (1.0f / scale);
    RArray u = rof_denoise(f, opt_, &status_);
    RArray out = u * scale;
    return to_complex(out);
  }
  const SolverStatus& status() const { return status_; }

 private:
  RofOptions opt_;
  SolverStatus status_;
};

/// Compressed sensing with TV (Chambolle-Pock, see cs_tv.hpp) on single-coil data. `lambda` is relative to the
/// maximum magnitude of the zero-filled image (the problem is solved on k-space scaled so that this maximum is 1,
/// and the result scaled back), so one lambda serves data of any units.
class CsTvReconstructor : public Reconstructor {
 public:
  explicit CsTvReconstructor(CsTvOptions opt) : opt_(opt) {}
  std::string name() const override { return "cs-tv"; }
  nlohmann::json parameters() const override {
    return {{"lambda", opt_.lambda}, {"max_iterations", opt_.max_iterations}, {"tolerance", opt_.tolerance},
            {"scale", "k-space divided by the zero-filled image's maximum magnitude"},
            {"solver", "Chambolle-Pock 2011, Algorithm 1"}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    require_single_coil(acq, "cs-tv");
    validate_acquisition(acq);
    CartesianSampling<EigenFftw> A(acq.mask);
    CArray zf = A.adjoint(acq.kspace);
    Eigen::Tensor<float, 0> mx = zf.abs().maximum();
    const float scale = mx() > 0 ? mx() : 1.0f;
    CArray y = acq.kspace * cfloat(1.0f / scale);
    CArray x = cs_tv(A, y, opt_, &status_);
    CArray out = x * cfloat(scale);
    return out;
  }
  const SolverStatus& status() const { return status_; }

 private:
  CsTvOptions opt_;
  SolverStatus status_;
};

/// BART `pics` with TV (bart.hpp) on single-coil data (sensitivities all ones). The command line of the last
/// call is kept for the results' manifest.
class BartPicsReconstructor : public Reconstructor {
 public:
  explicit BartPicsReconstructor(BartPicsOptions opt) : opt_(opt) {}
  std::string name() const override { return "bart-pics"; }
  nlohmann::json parameters() const override {
    return {{"lambda", opt_.lambda}, {"iterations", opt_.iterations}, {"rescale", opt_.rescale},
            {"command", last_command_}};
  }
  CArray reconstruct(const Acquisition& acq) override {
    require_single_coil(acq, "bart-pics");
    validate_acquisition(acq);
    const Dims d = dims_of(acq.kspace);
    CArray masked = EigenFftw::multiply_mask(acq.mask, acq.kspace);
    CArray sens(d[0], d[1], 1, 1, 1);
    sens.setConstant(cfloat(1, 0));
    BartResult r = bart_pics_tv(masked, sens, opt_);
    last_command_ = r.command;
    const Dims od = dims_of(r.output);
    require(od[0] == d[0] && od[1] == d[1], "bart pics returned dims " + dims_string(od));
    CArray out = r.output.reshape(Eigen::array<Index, 5>{d[0], d[1], 1, 1, 1});
    return out;
  }
  const std::string& last_command() const { return last_command_; }

 private:
  BartPicsOptions opt_;
  std::string last_command_;
};

/// The single-coil classical methods of the studies by name: "zero-filled", "rof" (weight w), "cs-tv" (lambda w,
/// 300 iterations), "bart-pics" (lambda w, 100 iterations), with the settings the studies report.
/// Throws Error for another name.
inline std::unique_ptr<Reconstructor> make_classical_reconstructor(const std::string& method, double w) {
  if (method == "zero-filled") return std::make_unique<ZeroFilledReconstructor>();
  if (method == "rof") return std::make_unique<RofReconstructor>(RofOptions{.weight = w, .max_iterations = 200});
  if (method == "cs-tv")
    return std::make_unique<CsTvReconstructor>(
        CsTvOptions{.lambda = w, .max_iterations = 300, .tolerance = 1e-5, .record_objective = false});
  if (method == "bart-pics")
    return std::make_unique<BartPicsReconstructor>(BartPicsOptions{.lambda = w, .iterations = 100});
  throw Error("unknown classical method '" + method + "' (zero-filled | rof | cs-tv | bart-pics)");
}

}  // namespace reconlab::solvers
