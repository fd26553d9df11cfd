#pragma once
/// @file common.hpp
/// What every iterative solver reports. Non-convergence is a status, not an exception.
#include <vector>

namespace reconlab::solvers {

/// Outcome of an iterative solve: iterations run, whether the stopping criterion was met, and the objective
/// (or residual norm, as each solver documents) after every iteration, for convergence plots.
struct SolverStatus {
  int iterations = 0;
  bool converged = false;
  std::vector<double> objective;
};

}  // namespace reconlab::solvers
