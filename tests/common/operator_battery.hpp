#pragma once
// The one battery of tests every linear operator passes, on any backend: the adjoint dot test
// <A x, y> = <x, A^H y>, linearity, normal = A^H A, and (where it should hold) unitarity. Ranges may be block
// arrays (std::vector or std::tuple of arrays: gradients, stacks). For host (Eigen) operators of small size,
// run_dense_checks builds the dense matrix of A column by column from apply() alone and checks the adjoint and
// the normal against its conjugate transpose and A^H A: an independent reference, not the implementation.
#include <gtest/gtest.h>

#include <complex>
#include <tuple>
#include <vector>

#include "reconlab/linear_operator.hpp"

namespace reconlab::test_support {

/// Relative gap |a - b| / max(|a|, |b|, tiny).
inline double rel_gap(std::complex<double> a, std::complex<double> b) {
  return std::abs(a - b) / std::max({std::abs(a), std::abs(b), 1e-30});
}

/// Runs the battery on `op` with random inputs x (domain) and y (range) and scalars; `tol` relative.
/// B is the backend. `unitary`: also checks ||A x|| = ||x|| and A^H A x = x.
template <class B, LinearOperator Op>
void run_operator_battery(const Op& op, const typename Op::Domain& x, const typename Op::Domain& x2,
                          const typename Op::Range& y, double tol, bool unitary) {
  using V = Blocks<B>;
  // Adjoint dot test.
  const auto lhs = V::dot(op.apply(x), y);
  const auto rhs = V::dot(x, op.adjoint(y));
  EXPECT_LT(rel_gap(lhs, rhs), tol) << op.name() << ": <Ax,y>=" << lhs << " <x,A^H y>=" << rhs;
  // Linearity: A(a x + x2) = a A x + A x2.
  const cfloat a(0.7f, -1.3f);
  auto left = op.apply(V::axpy(a, x, x2));
  auto right = V::axpy(a, op.apply(x), op.apply(x2));
  auto diff = V::axpy(cfloat(-1), left, right);
  EXPECT_LT(V::norm(diff) / V::norm(right), tol) << op.name() << ": not linear";
  // Normal: Hermitian and positive, <x, N x> = ||A x||^2 (the dense check below compares it entry by entry).
  auto n1 = normal(op, x);
  const auto xnx = V::dot(x, n1);
  const double ax2 = std::pow(V::norm(op.apply(x)), 2);
  EXPECT_LT(rel_gap(xnx, ax2), tol) << op.name() << ": <x, N x> != ||A x||^2";
  // The into forms (solvers' hot loops, reconlab::apply_into / adjoint_into / adjoint_add_into, whether the
  // operator has its own or the fallback): into buffers that hold other values, they give apply / adjoint.
  {
    auto k = op.apply(x2);
    reconlab::apply_into(op, x, k);
    EXPECT_LT(V::norm(V::axpy(cfloat(-1), k, op.apply(x))) / V::norm(op.apply(x)), tol) << op.name() << ": apply_into";
    typename Op::Domain back = x2;
    reconlab::adjoint_into(op, y, back);
    const auto ahy = op.adjoint(y);
    EXPECT_LT(V::norm(V::axpy(cfloat(-1), back, ahy)) / V::norm(ahy), tol) << op.name() << ": adjoint_into";
    typename Op::Domain acc = x2;
    reconlab::adjoint_add_into(op, y, acc);
    const auto want = V::axpy(cfloat(1), ahy, x2);
    EXPECT_LT(V::norm(V::axpy(cfloat(-1), acc, want)) / V::norm(want), tol) << op.name() << ": adjoint_add_into";
  }
  if (unitary) {
    EXPECT_NEAR(V::norm(op.apply(x)) / V::norm(x), 1.0, tol) << op.name() << ": not norm-preserving";
    EXPECT_LT(V::norm(V::axpy(cfloat(-1), op.adjoint(op.apply(x)), x)) / V::norm(x), tol)
        << op.name() << ": A^H A != I";
  }
}

// Flattening of host values (CArray, std::vector<CArray>, std::tuple<...>) into one vector and back.
inline void flatten_into(const CArray& a, std::vector<std::complex<double>>& out) {
  for (Index i = 0; i < a.size(); ++i) out.emplace_back(a.data()[i]);
}
template <class T>
void flatten_into(const std::vector<T>& v, std::vector<std::complex<double>>& out) {
  for (const auto& a : v) flatten_into(a, out);
}
template <class... T>
void flatten_into(const std::tuple<T...>& t, std::vector<std::complex<double>>& out) {
  std::apply([&](const auto&... a) { (flatten_into(a, out), ...); }, t);
}
template <class T>
std::vector<std::complex<double>> flatten(const T& v) {
  std::vector<std::complex<double>> out;
  flatten_into(v, out);
  return out;
}
inline void unflatten_from(CArray& a, const std::vector<std::complex<double>>& in, std::size_t& k) {
  for (Index i = 0; i < a.size(); ++i) a.data()[i] = cfloat(in[k++]);
}
template <class T>
void unflatten_from(std::vector<T>& v, const std::vector<std::complex<double>>& in, std::size_t& k) {
  for (auto& a : v) unflatten_from(a, in, k);
}
template <class... T>
void unflatten_from(std::tuple<T...>& t, const std::vector<std::complex<double>>& in, std::size_t& k) {
  std::apply([&](auto&... a) { (unflatten_from(a, in, k), ...); }, t);
}

/// Dense checks for a host operator on a small domain (x: any array of the domain's dims, used for its shape):
/// builds A (m x n) from apply() on the n unit vectors, then checks adjoint(e_i) against row i of A conjugated,
/// and normal(e_j) against column j of A^H A, to `tol` relative to the largest entry.
template <LinearOperator Op>
void run_dense_checks(const Op& op, const typename Op::Domain& x, double tol) {
  const std::size_t n = static_cast<std::size_t>(x.size());
  ASSERT_LE(n, 2000u) << "dense checks are for small operators";
  typename Op::Domain e = x;
  std::vector<std::vector<std::complex<double>>> cols(n);
  typename Op::Range into = op.apply(x);  // reused for every column: apply_into overwrites it
  for (std::size_t j = 0; j < n; ++j) {
    e.setZero();
    e.data()[j] = cfloat(1);
    cols[j] = flatten(op.apply(e));
    reconlab::apply_into(op, e, into);
    const auto col_into = flatten(into);
    for (std::size_t i = 0; i < col_into.size(); ++i)
      ASSERT_EQ(col_into[i], cols[j][i]) << op.name() << ": apply_into column " << j << " entry " << i;
  }
  const std::size_t m = cols[0].size();
  double amax = 0;
  for (const auto& c : cols)
    for (const auto& v : c) amax = std::max(amax, std::abs(v));
  ASSERT_GT(amax, 0) << op.name() << ": zero operator";
  // Adjoint: A^H e_i = conj(row i of A).
  typename Op::Range r = op.apply(x);
  for (std::size_t i = 0; i < m; i += std::max<std::size_t>(1, m / 97)) {
    std::vector<std::complex<double>> ei(m, 0.0);
    ei[i] = 1.0;
    std::size_t k = 0;
    unflatten_from(r, ei, k);
    const auto got = flatten(op.adjoint(r));
    for (std::size_t j = 0; j < n; ++j)
      ASSERT_LT(std::abs(got[j] - std::conj(cols[j][i])), tol * amax) << op.name() << ": adjoint entry " << i << "," << j;
    // The into form, into a buffer that holds other values.
    typename Op::Domain adj_into = x;
    reconlab::adjoint_into(op, r, adj_into);
    const auto got_into = flatten(adj_into);
    for (std::size_t j = 0; j < n; ++j)
      ASSERT_LT(std::abs(got_into[j] - std::conj(cols[j][i])), tol * amax)
          << op.name() << ": adjoint_into entry " << i << "," << j;
  }
  // Normal: N e_j = column j of A^H A.
  for (std::size_t j = 0; j < n; j += std::max<std::size_t>(1, n / 61)) {
    e.setZero();
    e.data()[j] = cfloat(1);
    const auto got = flatten(normal(op, e));
    for (std::size_t l = 0; l < n; ++l) {
      std::complex<double> s = 0;
      for (std::size_t i = 0; i < m; ++i) s += std::conj(cols[l][i]) * cols[j][i];
      ASSERT_LT(std::abs(got[l] - s), tol * amax * amax) << op.name() << ": normal entry " << l << "," << j;
    }
  }
}

}  // namespace reconlab::test_support
