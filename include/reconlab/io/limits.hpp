#pragma once
/// @file limits.hpp
/// The bound readers check before they allocate what a file's header claims (issue 12's memory bombs): data can
/// be at most as large as the bytes that store it, or 1032 times that when deflate compressed them.
///
/// Source: deflate (RFC 1951) codes a run of 258 bytes in at least 2 bits once its code tables are set, so a
/// stream can inflate at most about 1032:1 (M. Adler, zlib technical details, "Maximum compression factor").
/// gzip (.nii.gz), HDF5's deflate filter (fastMRI) and MATLAB v7's compressed variables all use it.

namespace reconlab::io {

/// Deflate's largest expansion ratio (see the file comment).
inline constexpr long double kDeflateMaxRatio = 1032.0L;

/// The most bytes `stored_bytes` of a file can decode to: the same bytes when stored raw, kDeflateMaxRatio times
/// them when deflate-compressed. A reader refuses a header that claims more before allocating it.
inline constexpr long double max_decoded_bytes(long double stored_bytes, bool deflate) {
  return (deflate ? kDeflateMaxRatio : 1.0L) * stored_bytes;
}

}  // namespace reconlab::io
