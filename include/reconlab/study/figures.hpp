#pragma once
/// @file figures.hpp
/// Paper figures through gnuplot (Debian's gnuplot-nox, pngcairo terminal): box plots of a metric per method
/// and acceleration, image panels (ground truth, reconstructions, error maps), masks, and training curves.
/// Images are handed to gnuplot as raw float32 files (x fastest), drawn with `with image`, row 0 at the top.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "reconlab/array.hpp"
#include "reconlab/io/atomic.hpp"
#include "reconlab/study/results.hpp"
#include "reconlab/subprocess.hpp"

namespace reconlab::study {

/// `text` as a gnuplot single-quoted string literal: 'text' with each ' doubled (gnuplot's only escape inside
/// single quotes), so file names and titles with quotes, spaces or backslashes reach gnuplot unchanged.
inline std::string gnuplot_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

/// Runs gnuplot on `script` (written next to the figure as <png>.gp, so the figure can be re-made by hand), without
/// a shell (subprocess.hpp), so any characters in the path work; what gnuplot prints is written to <png>.gp.log.
/// Paths inside `script` must be quoted with gnuplot_quote. Throws Error if gnuplot is missing or fails (the
/// message names the log).
inline void run_gnuplot(const std::filesystem::path& png, const std::string& script) {
  const auto gp = std::filesystem::path(png).replace_extension(".gp");
  io::atomic_write_text(gp, script);
  const auto log = std::filesystem::path(gp.string() + ".log");
  const ProcessResult r = run_process({"gnuplot", gp.string()});
  io::atomic_write_text(log, r.output);
  require(r.exit_status == 0, "gnuplot failed for " + png.string() + " (exit " + std::to_string(r.exit_status) +
                                  "; see " + log.string() + ")");
}

/// Writes the (x, y) plane of `img` as raw float32 for gnuplot; returns the path.
inline std::filesystem::path write_f32(const std::filesystem::path& path, const RArray& img) {
  io::atomic_write(path, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(img.data()), sizeof(float) * img.dimension(0) * img.dimension(1));
  });
  return path;
}

/// Box plots of `metric` ("psnr", "ssim" or "nmse") of one dataset: one box per method, grouped by R.
/// Each box is its own data block of the .dat file (gnuplot `index`), drawn at a fixed x position.
inline void boxplot_figure(const ResultsTable& table, const std::string& dataset, const std::string& metric,
                           const std::vector<std::string>& methods, const std::vector<double>& rs,
                           const std::filesystem::path& png) {
  std::ostringstream data, plots, xtics;
  int block = 0;
  double x_max = 1;
  for (std::size_t g = 0; g < rs.size(); ++g)
    for (std::size_t m = 0; m < methods.size(); ++m) {
      std::vector<double> values;
      for (const auto& r : table.rows())
        if (r.dataset == dataset && r.method == methods[m] && r.acceleration == rs[g])
          values.push_back(metric == "psnr" ? r.metrics.psnr : metric == "ssim" ? r.metrics.ssim : r.metrics.nmse);
      if (values.empty()) continue;
      for (double v : values) data << v << "\n";
      data << "\n\n";
      const double x = double(g) * (double(methods.size()) + 1) + double(m) + 1;
      x_max = std::max(x_max, x);
      plots << (block ? ", " : "") << "DAT index " << block << " using (" << x << "):1 lc " << (m + 1);
      std::ostringstream label;
      label << methods[m] << " R" << rs[g];
      xtics << (block ? ", " : "") << gnuplot_quote(label.str()) << " " << x;
      ++block;
    }
  require(block > 0, "boxplot_figure: no rows for dataset " + dataset);
  const auto dat = std::filesystem::path(png).replace_extension(".dat");
  io::atomic_write_text(dat, data.str());
  std::ostringstream gp;
  gp << "set terminal pngcairo size 1000,500 font 'Sans,10'\nset output " << gnuplot_quote(png.string()) << "\n"
     << "DAT = " << gnuplot_quote(dat.string()) << "\n"
     << "set style data boxplot\nset style boxplot outliers pointtype 7\nset style fill solid 0.4 border -1\n"
     << "set boxwidth 0.6\nset key off\nset grid ytics\nset ylabel " << gnuplot_quote(metric) << "\n"
     << "set title " << gnuplot_quote(dataset + ": " + metric + " per method and R") << "\n"
     << "set xrange [0:" << x_max + 1 << "]\n"  // explicit: autoscaling fails for boxes of two samples
     << "set xtics rotate by -30 (" << xtics.str() << ")\nplot " << plots.str() << "\n";
  run_gnuplot(png, gp.str());
}

/// One labelled image of a panel.
struct PanelImage {
  std::string title;
  RArray image;  ///< dims (nx, ny, 1, 1, 1)
  float lo, hi;  ///< grey-scale window
  /// Optional outlined rectangle {x0, y0, x1, y1} (pixels [x0, x1) x [y0, y1), row 0 at the top), e.g. the window
  /// of a zoomed region (zoom_window).
  std::optional<std::array<Index, 4>> box = std::nullopt;
};

/// A zoomed region of a panel's images (the inset a paper figure shows to compare fine detail): the window of
/// (nx / factor) x (ny / factor) pixels centred at (cx nx, cy ny), shown enlarged to the panel's image size.
struct ZoomRegion {
  double cx = 0.5, cy = 0.5;  ///< window centre as fractions of the image width and height, in [0, 1]
  int factor = 3;             ///< magnification, >= 2
};

/// The pixel window {x0, y0, x1, y1} ([x0, x1) x [y0, y1)) of `z` in an nx x ny image: max(1, nx / factor) x
/// max(1, ny / factor) pixels centred at (cx nx, cy ny), shifted to lie inside the image. Throws Error for a factor
/// < 2, a centre outside [0, 1] or an empty image.
inline std::array<Index, 4> zoom_window(Index nx, Index ny, const ZoomRegion& z) {
  require(z.factor >= 2, "zoom region: the factor must be >= 2, got " + std::to_string(z.factor));
  require(z.cx >= 0 && z.cx <= 1 && z.cy >= 0 && z.cy <= 1,
          "zoom region: the centre must be fractions in [0, 1], got (" + std::to_string(z.cx) + ", " +
              std::to_string(z.cy) + ")");
  require(nx > 0 && ny > 0, "zoom region: empty image");
  const Index w = std::max<Index>(1, nx / z.factor), h = std::max<Index>(1, ny / z.factor);
  const Index x0 = std::clamp<Index>(Index(std::lround(z.cx * double(nx) - double(w) / 2)), 0, nx - w);
  const Index y0 = std::clamp<Index>(Index(std::lround(z.cy * double(ny) - double(h) / 2)), 0, ny - h);
  return {x0, y0, x0 + w, y0 + h};
}

/// The window zoom_window(nx, ny, z) of `img` (nx, ny, 1, 1, 1) enlarged to (nx, ny, 1, 1, 1) by nearest-neighbour
/// replication (pixel (x, y) shows window pixel (x0 + x w / nx, y0 + y h / ny)): pixels stay visible as blocks, no
/// interpolation invents detail. Throws Error as zoom_window.
inline RArray zoom_image(const RArray& img, const ZoomRegion& z) {
  const Index nx = img.dimension(0), ny = img.dimension(1);
  const auto [x0, y0, x1, y1] = zoom_window(nx, ny, z);
  RArray out(nx, ny, 1, 1, 1);
  for (Index y = 0; y < ny; ++y)
    for (Index x = 0; x < nx; ++x) out(x, y, 0, 0, 0) = img(x0 + x * (x1 - x0) / nx, y0 + y * (y1 - y0) / ny, 0, 0, 0);
  return out;
}

/// A grid of images (`columns` per row), each with its title, in grey scale; row 0 of each image at the top.
inline void image_panel(const std::vector<PanelImage>& images, int columns, const std::filesystem::path& png,
                        const std::string& title) {
  require(!images.empty() && columns > 0, "image_panel: nothing to draw");
  const int rows = int((images.size() + columns - 1) / columns);
  const Index nx = images[0].image.dimension(0), ny = images[0].image.dimension(1);
  const int w = 260 * columns, h = int(290.0 * rows * double(ny) / double(nx)) + 40;
  std::ostringstream gp;
  gp << "set terminal pngcairo size " << w << "," << h << " font 'Sans,9'\n"
     << "set output " << gnuplot_quote(png.string()) << "\n"
     << "set multiplot layout " << rows << "," << columns << " title " << gnuplot_quote(title) << "\n"
     << "unset key\nunset colorbox\nunset tics\nunset border\nset palette grey\nset size ratio -1\n"
     << "set margins 0,0,0,4\n"
     << "set xrange [-0.5:" << nx - 0.5 << "]\nset yrange [-0.5:" << ny - 0.5 << "]\n";
  for (std::size_t i = 0; i < images.size(); ++i) {
    const auto f = std::filesystem::path(png).replace_extension("." + std::to_string(i) + ".f32");
    write_f32(f, images[i].image);
    gp << "set title " << gnuplot_quote(images[i].title) << "\nset cbrange [" << images[i].lo << ":" << images[i].hi
       << "]\n";
    if (const auto& b = images[i].box)  // flipy: image row y is drawn at ny - 1 - y
      gp << "set object 1 rect from " << (*b)[0] - 0.5 << "," << double(ny - (*b)[3]) - 0.5 << " to " << (*b)[2] - 0.5
         << "," << double(ny - 1 - (*b)[1]) + 0.5 << " front fillstyle empty border lc rgb 'yellow' lw 1.5\n";
    gp << "plot " << gnuplot_quote(f.string()) << " binary array=(" << nx << "," << ny
       << ") format='%float' flipy with image\n";
    if (images[i].box) gp << "unset object 1\n";
  }
  gp << "unset multiplot\n";
  run_gnuplot(png, gp.str());
}

/// One curve of a line plot: its legend title and its points.
struct LineSeries {
  std::string title;
  std::vector<double> x, y;
};

/// A line plot (lines with points) of `series`, e.g. PSNR per frame per method. Throws Error when there is no
/// series, a series has x and y of different lengths or no point, or gnuplot fails.
inline void line_plot_figure(const std::vector<LineSeries>& series, const std::filesystem::path& png,
                             const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  require(!series.empty(), "line_plot_figure: no series for " + png.string());
  std::ostringstream data, plots;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    require(!s.x.empty() && s.x.size() == s.y.size(),
            "line_plot_figure: series '" + s.title + "' has " + std::to_string(s.x.size()) + " x and " +
                std::to_string(s.y.size()) + " y values");
    for (std::size_t j = 0; j < s.x.size(); ++j) data << s.x[j] << " " << s.y[j] << "\n";
    data << "\n\n";
    plots << (i ? ", " : "") << "DAT index " << i << " using 1:2 with linespoints lc " << (i + 1) << " title "
          << gnuplot_quote(s.title);
  }
  const auto dat = std::filesystem::path(png).replace_extension(".dat");
  io::atomic_write_text(dat, data.str());
  std::ostringstream gp;
  gp << "set terminal pngcairo size 900,500 font 'Sans,10'\nset output " << gnuplot_quote(png.string()) << "\n"
     << "DAT = " << gnuplot_quote(dat.string()) << "\n"
     << "set key outside right\nset grid\nset xlabel " << gnuplot_quote(xlabel) << "\nset ylabel "
     << gnuplot_quote(ylabel) << "\nset title " << gnuplot_quote(title) << "\nplot " << plots.str() << "\n";
  run_gnuplot(png, gp.str());
}

/// The x-t profile of a cine (nx, ny, 1, T, 1) along row `y`: an image (nx, T * repeat, 1, 1, 1) whose row
/// t * repeat + r (r < repeat) is row y of frame t, so time runs downwards in image_panel (the field's x-t figure
/// of a cine: a line through the heart over the cardiac cycle). `repeat` stretches time for display.
/// Throws Error for y outside the image or repeat < 1.
inline RArray xt_profile(const RArray& cine, Index y, Index repeat = 1) {
  const Index nx = cine.dimension(0), ny = cine.dimension(1), nt = cine.dimension(3);
  require(y >= 0 && y < ny, "xt_profile: row " + std::to_string(y) + " outside 0.." + std::to_string(ny - 1));
  require(repeat >= 1, "xt_profile: repeat must be >= 1");
  RArray out(nx, nt * repeat, 1, 1, 1);
  for (Index t = 0; t < nt; ++t)
    for (Index r = 0; r < repeat; ++r)
      for (Index x = 0; x < nx; ++x) out(x, t * repeat + r, 0, 0, 0) = cine(x, y, 0, t, 0);
  return out;
}

/// Training curves from a trainer loss.csv (header epoch,train_loss,val_loss[,lr,seconds,lr_<name>...,<recorded>...],
/// trainer.hpp): a row of up to three plots against epoch: (1) the training and validation loss, log scale; (2) the
/// values a training step recorded (StepContext::record, e.g. a GAN's d_loss, g_adversarial, g_content), linear
/// scale, when there are any; (3) the learning rates (lr and every lr_<name>, e.g. lr_discriminator), log scale,
/// when the file has them. 800 x 500 pixels per plot. Throws Error when the file cannot be read, its header lacks
/// epoch, train_loss or val_loss, or gnuplot fails.
inline void loss_curve_figure(const std::filesystem::path& loss_csv, const std::filesystem::path& png,
                              const std::string& title) {
  std::ifstream in(loss_csv);
  std::string header;
  require(in && std::getline(in, header), "loss_curve_figure: cannot read the header of " + loss_csv.string());
  if (!header.empty() && header.back() == '\r') header.pop_back();
  std::vector<std::string> columns;
  for (std::istringstream hs(header); std::getline(hs, columns.emplace_back(), ',');) {
  }
  if (!columns.empty() && columns.back().empty()) columns.pop_back();
  auto column = [&](const std::string& name) {
    const auto it = std::find(columns.begin(), columns.end(), name);
    return it == columns.end() ? 0 : int(it - columns.begin()) + 1;
  };
  require(column("epoch") == 1 && column("train_loss") && column("val_loss"),
          "loss_curve_figure: " + loss_csv.string() + " must start with the columns epoch,train_loss,val_loss, got '" +
              header + "'");
  std::vector<std::string> rates, recorded;
  for (const auto& c : columns) {
    if (c == "lr" || c.rfind("lr_", 0) == 0) rates.push_back(c);
    else if (c != "epoch" && c != "train_loss" && c != "val_loss" && c != "seconds") recorded.push_back(c);
  }
  const int plots = 1 + !recorded.empty() + !rates.empty();
  const std::string data = gnuplot_quote(loss_csv.string());
  auto curves = [&](const std::vector<std::string>& names) {
    std::ostringstream p;
    for (std::size_t i = 0; i < names.size(); ++i)
      p << (i ? ", " : "plot ") << (i ? "''" : data) << " every ::1 using 1:" << column(names[i])
        << " with linespoints title " << gnuplot_quote(names[i]) << " noenhanced";  // '_' is no subscript
    return p.str() + "\n";
  };
  std::ostringstream gp;
  gp << "set terminal pngcairo size " << 800 * plots << ",500 font 'Sans,10'\nset output "
     << gnuplot_quote(png.string()) << "\nset datafile separator ','\nset key top right\nset grid\n"
     << "set xlabel 'epoch'\nset multiplot layout 1," << plots << " title " << gnuplot_quote(title) << "\n"
     << "set logscale y\nset ylabel 'loss'\nset title 'training and validation loss'\n"
     << "plot " << data << " every ::1 using 1:" << column("train_loss") << " with linespoints title 'train', '' "
     << "every ::1 using 1:" << column("val_loss") << " with linespoints title 'validation'\n";
  if (!recorded.empty())
    gp << "unset logscale y\nset ylabel 'value'\nset title 'recorded per step (epoch mean)'\n" << curves(recorded);
  if (!rates.empty())
    gp << "set logscale y\nset ylabel 'learning rate'\nset title 'learning-rate schedules'\n" << curves(rates);
  gp << "unset multiplot\n";
  run_gnuplot(png, gp.str());
}

}  // namespace reconlab::study
