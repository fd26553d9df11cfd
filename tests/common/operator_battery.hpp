#pragma once
// The one battery of tests every linear operator passes, on any backend: the adjoint dot test
// <A x, y> = <x, A^H y>, linearity, normal = A^H A, and (where it should hold) unitarity.
#include <gtest/gtest.h>

#include <complex>

#include "reconlab/linear_operator.hpp"

namespace reconlab::test_support {

/// Relative gap |a - b| / max(|a|, |b|, tiny).
inline double rel_gap(std::complex<double> a, std::complex<double> b) {
  return std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1e-30});
}

/// Runs the battery on `op` with random inputs x (domain) and y (range) and scalars; `tol` relative.
/// B is the backend (for dot / axpy). `unitary`: also checks ||A x|| = ||x|| and A^H A x = x.
template <class B, LinearOperator Op>
void run_operator_battery(const Op& op, const typename Op::Domain& x, const typename Op::Domain& x2,
                          const typename Op::Range& y, double tol, bool unitary) {
  // Adjoint dot test.
  const auto lhs = B::dot(op.apply(x), y);
  const auto rhs = B::dot(x, op.adjoint(y));
  EXPECT_LT(rel_gap(lhs, rhs), tol) << op.name() << ": <Ax,y>=" << lhs << " <x,A^H y>=" << rhs;
  // Linearity: A(a x + x2) = a A x + A x2.
  const cfloat a(0.7f, -1.3f);
  auto left = op.apply(B::axpy(a, x, x2));
  auto right = B::axpy(a, op.apply(x), op.apply(x2));
  auto diff = B::axpy(cfloat(-1), left, right);
  EXPECT_LT(B::norm(diff) / B::norm(right), tol) << op.name() << ": not linear";
  // Normal = A^H A.
  auto n1 = normal(op, x);
  auto n2 = op.adjoint(op.apply(x));
  EXPECT_LT(B::norm(B::axpy(cfloat(-1), n1, n2)) / std::max(B::norm(n2), 1e-30), tol) << op.name() << ": normal";
  if (unitary) {
    EXPECT_NEAR(B::norm(op.apply(x)) / B::norm(x), 1.0, tol) << op.name() << ": not norm-preserving";
    EXPECT_LT(B::norm(B::axpy(cfloat(-1), op.adjoint(op.apply(x)), x)) / B::norm(x), tol)
        << op.name() << ": A^H A != I";
  }
}

}  // namespace reconlab::test_support
