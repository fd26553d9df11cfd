#pragma once
/// @file have_bart.hpp
/// Whether the `bart` executable is available, so BART tests skip (GTEST_SKIP) instead of failing without it.
#include "reconlab/error.hpp"
#include "reconlab/solvers/bart.hpp"

namespace reconlab::test_support {

/// True when solvers::find_bart() finds the `bart` executable (PATH or $BART_TOOLBOX_PATH); never throws.
inline bool have_bart() {
  try {
    solvers::find_bart();
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace reconlab::test_support
