#pragma once
/// @file png.hpp
/// PNG writer (8-bit grayscale) and reader (grayscale 1/2/4/8/16-bit) through libpng 1.6.
///
/// Format source: PNG specification (W3C Recommendation / ISO/IEC 15948), https://www.w3.org/TR/png/ ; library
/// http://www.libpng.org/pub/png/libpng.html. libpng reports errors by longjmp; the setjmp frames below hold only
/// trivially destructible state, and the error text is turned into a reconlab::Error after libpng returns.
#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <png.h>

#include "reconlab/array.hpp"
#include "reconlab/error.hpp"
#include "reconlab/io/atomic.hpp"

namespace reconlab::io {

namespace png_detail {

/// State shared with libpng's callbacks; lives in the caller's frame.
struct Ctx {
  char message[256] = {0};
};

inline void on_error(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<Ctx*>(png_get_error_ptr(png));
  if (ctx) std::snprintf(ctx->message, sizeof(ctx->message), "%s", msg ? msg : "libpng error");
  png_longjmp(png, 1);
}

inline void on_warning(png_structp, png_const_charp) {}

/// Writes an 8-bit grayscale PNG of `width` x `height` from row-major bytes. Returns false with ctx->message set on
/// failure. Only trivially destructible objects live in this frame.
inline bool write_gray8(FILE* fp, const unsigned char* pixels, png_uint_32 width, png_uint_32 height, Ctx* ctx) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
  if (!png) {
    std::snprintf(ctx->message, sizeof(ctx->message), "cannot create libpng write struct");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_write_struct(&png, nullptr);
    std::snprintf(ctx->message, sizeof(ctx->message), "cannot create libpng info struct");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_init_io(png, fp);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (png_uint_32 y = 0; y < height; ++y) png_write_row(png, pixels + static_cast<std::size_t>(y) * width);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

/// Output of read_gray: header fields and the stored samples (row-major), filled by libpng callbacks' caller.
struct ReadOut {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  std::vector<std::uint16_t>* samples = nullptr;  // owned by the caller
  std::vector<unsigned char>* rowbuf = nullptr;   // owned by the caller
};

/// Reads a grayscale PNG's stored samples. Returns 0 on success, 1 on a libpng error (ctx->message), 2 when the
/// image is not grayscale (out->color_type set).
inline int read_gray(FILE* fp, ReadOut* out, Ctx* ctx) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
  if (!png) {
    std::snprintf(ctx->message, sizeof(ctx->message), "cannot create libpng read struct");
    return 1;
  }
  png_infop info = png_create_info_struct(png);
  if (!info) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(ctx->message, sizeof(ctx->message), "cannot create libpng info struct");
    return 1;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return 1;
  }
  png_init_io(png, fp);
  png_read_info(png, info);
  out->width = png_get_image_width(png, info);
  out->height = png_get_image_height(png, info);
  out->bit_depth = png_get_bit_depth(png, info);
  out->color_type = png_get_color_type(png, info);
  if (out->color_type != PNG_COLOR_TYPE_GRAY) {
    png_destroy_read_struct(&png, &info, nullptr);
    return 2;
  }
  if (out->bit_depth < 8) png_set_packing(png);  // one byte per sample, values unscaled
  const int passes = png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const std::size_t rowbytes = png_get_rowbytes(png, info);
  const std::size_t w = out->width, h = out->height;
  if (w * h > (std::size_t(1) << 31)) {
    std::snprintf(ctx->message, sizeof(ctx->message), "image of %zu x %zu pixels is too large", w, h);
    png_destroy_read_struct(&png, &info, nullptr);
    return 1;
  }
  out->rowbuf->resize(rowbytes * h);
  out->samples->resize(w * h);
  // Row by row, once per interlace pass (libpng merges the passes into the rows).
  for (int p = 0; p < passes; ++p)
    for (std::size_t y = 0; y < h; ++y) png_read_row(png, out->rowbuf->data() + y * rowbytes, nullptr);
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  const unsigned char* b = out->rowbuf->data();
  for (std::size_t y = 0; y < h; ++y)
    for (std::size_t x = 0; x < w; ++x)
      (*out->samples)[y * w + x] = out->bit_depth == 16
                                       ? static_cast<std::uint16_t>((b[y * rowbytes + 2 * x] << 8) |
                                                                    b[y * rowbytes + 2 * x + 1])
                                       : b[y * rowbytes + x];
  return 0;
}

}  // namespace png_detail

/// Writes the (x, y) plane of `image` (dims (nx, ny, 1, 1, 1)) as an 8-bit grayscale PNG of nx columns and ny rows
/// (PNG row y = image(·, y), column x = image(x, ·)), atomically (io::atomic_write). Values map linearly lo -> 0,
/// hi -> 255, rounded to nearest and clipped to [0, 255]; NaN maps to 0.
/// Throws Error when the image has coil/frame/batch dims > 1, is empty, hi <= lo (or either is not finite), or the
/// file cannot be written.
inline void write_png(const std::string& path, const RArray& image, float lo, float hi) {
  const Dims d = dims_of(image);
  if (d[2] != 1 || d[3] != 1 || d[4] != 1)
    throw Error("write_png " + path + ": expected a 2D image with dims (nx, ny, 1, 1, 1), got " + dims_string(d));
  if (d[0] < 1 || d[1] < 1) throw Error("write_png " + path + ": empty image (dims " + dims_string(d) + ")");
  if (d[0] > 0x7fffffff || d[1] > 0x7fffffff) throw Error("write_png " + path + ": image too large for PNG");
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(hi > lo))
    throw Error("write_png " + path + ": bad display range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "] (need finite lo < hi)");
  const std::size_t n = static_cast<std::size_t>(image.size());
  std::vector<unsigned char> px(n);
  const double scale = 255.0 / (static_cast<double>(hi) - lo);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = (static_cast<double>(image.data()[i]) - lo) * scale;
    px[i] = std::isnan(v) ? 0 : static_cast<unsigned char>(std::clamp(std::round(v), 0.0, 255.0));
  }
  atomic_write(path, [&](const std::filesystem::path& tmp) {
    FILE* fp = std::fopen(tmp.c_str(), "wb");
    if (!fp) throw Error("write_png: cannot open " + tmp.string() + " for writing");
    png_detail::Ctx ctx;
    const bool ok = png_detail::write_gray8(fp, px.data(), static_cast<png_uint_32>(d[0]),
                                            static_cast<png_uint_32>(d[1]), &ctx);
    const bool closed = std::fclose(fp) == 0;
    if (!ok) throw Error("write_png " + path + ": libpng: " + ctx.message);
    if (!closed) throw Error("write_png: cannot write " + tmp.string());
  });
}

/// As write_png(path, image, lo, hi) with lo = 0 and hi = the largest finite value of the image; an image whose
/// maximum is <= 0 (or all NaN) is written black.
inline void write_png(const std::string& path, const RArray& image) {
  float mx = 0.0f;
  for (Index i = 0; i < image.size(); ++i)
    if (std::isfinite(image.data()[i])) mx = std::max(mx, image.data()[i]);
  write_png(path, image, 0.0f, mx > 0.0f ? mx : 1.0f);
}

/// Reads a grayscale PNG (bit depth 1, 2, 4, 8 or 16, any interlace) as dims (width, height, 1, 1, 1) holding the
/// stored sample values as float (0..255 for 8-bit, 0..65535 for 16-bit; no gamma or scaling applied).
/// Throws Error naming the file for: missing file, bad PNG signature, colour/palette/alpha images, and libpng errors
/// (CRC errors, truncated data).
inline RArray read_png(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error("PNG file " + path + ": missing file");
  FILE* fp = std::fopen(path.c_str(), "rb");
  if (!fp) throw Error("PNG file " + path + ": cannot open for reading");
  unsigned char sig[8];
  if (std::fread(sig, 1, 8, fp) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
    std::fclose(fp);
    throw Error("PNG file " + path + ": bad magic: not a PNG file (signature mismatch)");
  }
  std::rewind(fp);
  std::vector<std::uint16_t> samples;
  std::vector<unsigned char> rowbuf;
  png_detail::ReadOut out;
  out.samples = &samples;
  out.rowbuf = &rowbuf;
  png_detail::Ctx ctx;
  const int rc = png_detail::read_gray(fp, &out, &ctx);
  std::fclose(fp);
  if (rc == 1) throw Error("PNG file " + path + ": corrupt or truncated data: libpng: " + ctx.message);
  if (rc == 2)
    throw Error("PNG file " + path + ": unsupported colour type " + std::to_string(out.color_type) +
                " (only grayscale without alpha is supported)");
  RArray img(static_cast<Index>(out.width), static_cast<Index>(out.height), 1, 1, 1);
  for (std::size_t i = 0; i < samples.size(); ++i) img.data()[i] = static_cast<float>(samples[i]);
  return img;
}

}  // namespace reconlab::io
