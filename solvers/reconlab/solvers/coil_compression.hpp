#pragma once
/// @file coil_compression.hpp
/// SVD (PCA) coil compression: F. Huang, S. Vijayakumar, Y. Li, S. Hertel, G. R. Duensing, "A software channel
/// compression technique for faster reconstruction with many channels", MRI 26 (2008) 133-141; M. Buehrer,
/// K. P. Pruessmann, P. Boesiger, S. Kozerke, "Array compression for MRI with large coil arrays", MRM 57 (2007)
/// 1131-1139. The c x c coil covariance C = sum_k y(k) y(k)^H over acquired samples has eigenvectors U (largest
/// eigenvalues first); the v virtual coils are y'(k) = U_v^H y(k). The same matrix compresses sensitivity maps,
/// since the model is linear in the coil axis.
#include <Eigen/Dense>

#include "reconlab/array.hpp"

namespace reconlab::solvers {

/// A coil compression: `matrix` (c x v, orthonormal columns U_v) and the fraction of the signal energy kept.
struct CoilCompression {
  Eigen::MatrixXcf matrix;
  double energy_kept = 1;  ///< sum of the v largest eigenvalues / trace(C), in (0, 1]
};

/// Compression of the coils of `kspace` (nx, ny, c, 1, 1) to `virtual_coils` (1 <= v <= c).
/// Throws Error on v out of range or an all-zero k-space.
inline CoilCompression coil_compression(const CArray& kspace, Index virtual_coils) {
  const Dims d = dims_of(kspace);
  const Index nc = d[2], plane = d[0] * d[1] * d[3] * d[4];
  require(virtual_coils >= 1 && virtual_coils <= nc, "coil compression: virtual coils must be in [1, " +
                                                         std::to_string(nc) + "], got " + std::to_string(virtual_coils));
  require(d[3] == 1 && d[4] == 1, "coil compression: k-space dims (nx, ny, coils, 1, 1) expected");
  Eigen::Map<const Eigen::MatrixXcf> Y(kspace.data(), plane, nc);  // column c = coil c
  const Eigen::MatrixXcd C = (Y.transpose() * Y.conjugate()).cast<std::complex<double>>();  // sum_k y(k) y(k)^H
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXcd> es(C);  // ascending eigenvalues
  const double total = es.eigenvalues().sum();
  require(total > 0, "coil compression: k-space is all zero");
  CoilCompression cc;
  cc.matrix = es.eigenvectors().rightCols(virtual_coils).rowwise().reverse().cast<std::complex<float>>();
  cc.energy_kept = es.eigenvalues().tail(virtual_coils).sum() / total;
  return cc;
}

/// Applies a compression to coil data (k-space, coil images or maps) of dims (nx, ny, c, 1, 1):
/// out(., ., j) = sum_c conj(U(c, j)) in(., ., c). Returns (nx, ny, v, 1, 1). Throws Error on a coil count that
/// differs from the matrix's rows.
inline CArray compress_coils(const CArray& a, const CoilCompression& cc) {
  const Dims d = dims_of(a);
  require(d[2] == cc.matrix.rows(), "coil compression: data has " + std::to_string(d[2]) +
                                        " coils, the compression matrix expects " + std::to_string(cc.matrix.rows()));
  require(d[3] == 1 && d[4] == 1, "coil compression: dims (nx, ny, coils, 1, 1) expected");
  const Index plane = d[0] * d[1];
  CArray out(d[0], d[1], cc.matrix.cols(), 1, 1);
  Eigen::Map<const Eigen::MatrixXcf> X(a.data(), plane, d[2]);
  Eigen::Map<Eigen::MatrixXcf> O(out.data(), plane, cc.matrix.cols());
  O = X * cc.matrix.conjugate();
  return out;
}

}  // namespace reconlab::solvers
