#pragma once
// Self-contained SVG plots (no dependencies, open in any browser) with the numbers beside them as CSV, so a figure
// can be re-plotted elsewhere without re-running. Heatmaps for attention maps / sink scores per (layer, head);
// line plots for loss curves; bar charts with error bars for one number per experiment arm. Layout is deliberately
// simple and fixed; readability over configurability.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sinklab/core/error.hpp"
#include "sinklab/io/atomic_file.hpp"

namespace sinklab::io {

inline constexpr int kColorbarSteps = 64;  // the colour bar is drawn as this many <rect>s

namespace detail {
inline std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

inline std::string csv_escape(std::string_view s) {
  if (s.find_first_of(",\"\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// "%.*g": CSV uses 10 significant digits (float-exact), tick labels 4.
inline std::string fmt(double v, int digits = 10) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Viridis sampled at 9 stops, linearly interpolated: perceptually ordered and colour-blind safe.
inline std::string viridis(double t) {
  static constexpr std::array<std::array<int, 3>, 9> stops = {{{68, 1, 84},
                                                               {71, 44, 122},
                                                               {59, 81, 139},
                                                               {44, 113, 142},
                                                               {33, 144, 141},
                                                               {39, 173, 129},
                                                               {92, 200, 99},
                                                               {170, 220, 50},
                                                               {253, 231, 37}}};
  if (!std::isfinite(t)) return "#bbbbbb";
  t = std::clamp(t, 0.0, 1.0) * (stops.size() - 1);
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(t), stops.size() - 2);
  const double f = t - static_cast<double>(i);
  char buf[8];
  int rgb[3];
  for (int c = 0; c < 3; ++c) rgb[c] = static_cast<int>(std::lround(stops[i][c] + f * (stops[i + 1][c] - stops[i][c])));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

// 1-2-5 ticks covering [lo, hi], about `target` of them.
inline std::vector<double> nice_ticks(double lo, double hi, int target = 6) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = mag * (raw / mag < 1.5 ? 1 : raw / mag < 3.5 ? 2 : raw / mag < 7.5 ? 5 : 10);
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

// Series and bars take these colours in order, so an arm keeps its colour across a curve plot and a bar chart.
inline constexpr std::array<const char*, 8> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                        "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

inline std::filesystem::path csv_path(const std::filesystem::path& svg) {
  auto p = svg;
  return p.replace_extension(".csv");
}
}  // namespace detail

struct HeatmapOptions {
  std::string title;
  std::vector<std::string> row_labels, col_labels;  // default: 0, 1, 2, ...
  std::string x_label, y_label;
  std::optional<double> vmin, vmax;  // colour range; default: finite min / max of the data
};

// values: (rows, cols) row-major. Writes `svg_path` and the CSV beside it (same name, .csv): a header line
// "row,<col labels>" then one line per row "<row label>,v0,v1,...". NaN cells are grey.
// SVG content: 1 background <rect>, rows*cols cell <rect>s, kColorbarSteps colour-bar <rect>s.
inline void write_heatmap(const std::filesystem::path& svg_path, std::span<const double> values, std::size_t rows,
                          std::size_t cols, const HeatmapOptions& opt = {}) {
  SINKLAB_CHECK(values.size() == rows * cols, "write_heatmap '", svg_path.string(), "': ", values.size(),
                " values for a ", rows, "x", cols, " matrix");
  SINKLAB_CHECK(opt.row_labels.empty() || opt.row_labels.size() == rows, "write_heatmap: ", opt.row_labels.size(),
                " row labels for ", rows, " rows");
  SINKLAB_CHECK(opt.col_labels.empty() || opt.col_labels.size() == cols, "write_heatmap: ", opt.col_labels.size(),
                " column labels for ", cols, " columns");
  auto row_label = [&](std::size_t r) { return opt.row_labels.empty() ? std::to_string(r) : opt.row_labels[r]; };
  auto col_label = [&](std::size_t c) { return opt.col_labels.empty() ? std::to_string(c) : opt.col_labels[c]; };

  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  lo = opt.vmin.value_or(lo), hi = opt.vmax.value_or(hi);
  const double span = hi > lo ? hi - lo : 1.0;

  const double cell = std::clamp(640.0 / static_cast<double>(std::max(rows, cols)), 2.0, 40.0);
  const double left = 90, top = 50, pw = cell * cols, ph = cell * rows;
  // Wide enough for the title too: a small grid (4 layers x 4 heads) is narrower than its title at 15 px.
  std::size_t title_chars = 0;
  for (unsigned char ch : opt.title) title_chars += (ch & 0xC0) != 0x80;  // UTF-8 code points
  const double width = std::max(left + pw + 110, 8.5 * static_cast<double>(title_chars) + 40), height = top + ph + 60;
  const std::size_t row_every = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(12.0 / cell)));
  const std::size_t col_every = row_every;

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect x=\"0\" y=\"0\" width=\"" << width << "\" height=\"" << height << "\" fill=\"white\"/>\n";
  s << "<text x=\"" << width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
    << detail::xml_escape(opt.title) << "</text>\n";
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      const double v = values[r * cols + c];
      s << "<rect x=\"" << left + cell * c << "\" y=\"" << top + cell * r << "\" width=\"" << cell << "\" height=\""
        << cell << "\" fill=\"" << detail::viridis((v - lo) / span) << "\"><title>" << detail::xml_escape(row_label(r))
        << ", " << detail::xml_escape(col_label(c)) << ": " << detail::fmt(v, 6) << "</title></rect>\n";
    }
    if (r % row_every == 0)
      s << "<text x=\"" << left - 4 << "\" y=\"" << top + cell * (r + 0.5) + 4 << "\" text-anchor=\"end\">"
        << detail::xml_escape(row_label(r)) << "</text>\n";
  }
  for (std::size_t c = 0; c < cols; c += col_every)
    s << "<text x=\"" << left + cell * (c + 0.5) << "\" y=\"" << top + ph + 14 << "\" text-anchor=\"middle\">"
      << detail::xml_escape(col_label(c)) << "</text>\n";
  if (!opt.x_label.empty())
    s << "<text x=\"" << left + pw / 2 << "\" y=\"" << top + ph + 36 << "\" text-anchor=\"middle\">"
      << detail::xml_escape(opt.x_label) << "</text>\n";
  if (!opt.y_label.empty())
    s << "<text transform=\"translate(16," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << detail::xml_escape(opt.y_label) << "</text>\n";
  // Colour bar: top = vmax.
  const double bx = left + pw + 24, bh = std::max(ph, 120.0), sh = bh / kColorbarSteps;
  for (int i = 0; i < kColorbarSteps; ++i)
    s << "<rect x=\"" << bx << "\" y=\"" << top + sh * i << "\" width=\"16\" height=\"" << sh + 0.5 << "\" fill=\""
      << detail::viridis(1.0 - (i + 0.5) / kColorbarSteps) << "\"/>\n";
  s << "<text x=\"" << bx + 20 << "\" y=\"" << top + 10 << "\">" << detail::fmt(hi, 4) << "</text>\n";
  s << "<text x=\"" << bx + 20 << "\" y=\"" << top + bh << "\">" << detail::fmt(lo, 4) << "</text>\n";
  s << "</svg>\n";
  write_file_atomic(svg_path, std::string_view(s.str()));

  std::ostringstream csv;
  csv << "row";
  for (std::size_t c = 0; c < cols; ++c) csv << ',' << detail::csv_escape(col_label(c));
  csv << '\n';
  for (std::size_t r = 0; r < rows; ++r) {
    csv << detail::csv_escape(row_label(r));
    for (std::size_t c = 0; c < cols; ++c) csv << ',' << detail::fmt(values[r * cols + c]);
    csv << '\n';
  }
  write_file_atomic(detail::csv_path(svg_path), std::string_view(csv.str()));
}

inline void write_heatmap(const std::filesystem::path& svg_path, std::span<const float> values, std::size_t rows,
                          std::size_t cols, const HeatmapOptions& opt = {}) {
  const std::vector<double> d(values.begin(), values.end());
  write_heatmap(svg_path, std::span<const double>(d), rows, cols, opt);
}

struct Series {
  std::string name;
  std::vector<double> x, y;
};

struct LinePlotOptions {
  std::string title, x_label, y_label;
  bool log_y = false;  // points with y <= 0 are skipped on a log axis
  int width = 760, height = 460;
};

// One <polyline> per series (non-finite points skipped), 1-2-5 ticks (powers of ten on a log axis), a legend.
// CSV beside it in long form: "series,x,y" then one line per point, series in the given order.
inline void write_line_plot(const std::filesystem::path& svg_path, std::span<const Series> series,
                            const LinePlotOptions& opt = {}) {
  const auto& palette = detail::kPalette;
  auto usable = [&](double x, double y) { return std::isfinite(x) && std::isfinite(y) && (!opt.log_y || y > 0); };
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series) {
    SINKLAB_CHECK(s.x.size() == s.y.size(), "write_line_plot '", svg_path.string(), "': series '", s.name, "' has ",
                  s.x.size(), " x and ", s.y.size(), " y values");
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      const double y = opt.log_y ? std::log10(s.y[i]) : s.y[i];
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  if (opt.log_y)
    y0 = std::floor(y0), y1 = std::ceil(y1);
  else {
    const double pad = 0.04 * (y1 - y0);
    y0 -= pad, y1 += pad;
  }
  const double left = 70, right = 170, top = 40, bottom = 50;
  const double pw = opt.width - left - right, ph = opt.height - top - bottom;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return top + ph - ((opt.log_y ? std::log10(y) : y) - y0) / (y1 - y0) * ph; };

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << opt.width << "\" height=\"" << opt.height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect x=\"0\" y=\"0\" width=\"" << opt.width << "\" height=\"" << opt.height << "\" fill=\"white\"/>\n";
  s << "<text x=\"" << left + pw / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
    << detail::xml_escape(opt.title) << "</text>\n";
  s << "<g stroke=\"#e5e5e5\">\n";
  for (double t : detail::nice_ticks(x0, x1))
    s << "<line x1=\"" << px(t) << "\" y1=\"" << top << "\" x2=\"" << px(t) << "\" y2=\"" << top + ph << "\"/>\n";
  std::vector<double> yt;
  if (opt.log_y) {
    for (double e = y0; e <= y1; e += std::max(1.0, std::ceil((y1 - y0) / 8))) yt.push_back(std::pow(10.0, e));
  } else {
    yt = detail::nice_ticks(y0, y1);
  }
  for (double t : yt)
    s << "<line x1=\"" << left << "\" y1=\"" << py(t) << "\" x2=\"" << left + pw << "\" y2=\"" << py(t) << "\"/>\n";
  s << "</g>\n";
  for (double t : detail::nice_ticks(x0, x1))
    s << "<text x=\"" << px(t) << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">" << detail::fmt(t, 4)
      << "</text>\n";
  for (double t : yt)
    s << "<text x=\"" << left - 6 << "\" y=\"" << py(t) + 4 << "\" text-anchor=\"end\">" << detail::fmt(t, 4)
      << "</text>\n";
  s << "<line x1=\"" << left << "\" y1=\"" << top + ph << "\" x2=\"" << left + pw << "\" y2=\"" << top + ph
    << "\" stroke=\"black\"/>\n<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << top + ph
    << "\" stroke=\"black\"/>\n";
  s << "<text x=\"" << left + pw / 2 << "\" y=\"" << opt.height - 12 << "\" text-anchor=\"middle\">"
    << detail::xml_escape(opt.x_label) << "</text>\n";
  s << "<text transform=\"translate(16," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << detail::xml_escape(opt.y_label) << (opt.log_y ? " (log)" : "") << "</text>\n";
  for (std::size_t k = 0; k < series.size(); ++k) {
    const char* colour = palette[k % palette.size()];
    s << "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" << colour << "\" points=\"";
    for (std::size_t i = 0; i < series[k].x.size(); ++i)
      if (usable(series[k].x[i], series[k].y[i])) s << px(series[k].x[i]) << ',' << py(series[k].y[i]) << ' ';
    s << "\"/>\n";
    const double ly = top + 12 + 18.0 * k;
    s << "<line x1=\"" << left + pw + 14 << "\" y1=\"" << ly << "\" x2=\"" << left + pw + 38 << "\" y2=\"" << ly
      << "\" stroke=\"" << colour << "\" stroke-width=\"2\"/>\n<text x=\"" << left + pw + 44 << "\" y=\"" << ly + 4
      << "\">" << detail::xml_escape(series[k].name) << "</text>\n";
  }
  s << "</svg>\n";
  write_file_atomic(svg_path, std::string_view(s.str()));

  std::ostringstream csv;
  csv << "series,x,y\n";
  for (const auto& sr : series)
    for (std::size_t i = 0; i < sr.x.size(); ++i)
      csv << detail::csv_escape(sr.name) << ',' << detail::fmt(sr.x[i]) << ',' << detail::fmt(sr.y[i]) << '\n';
  write_file_atomic(detail::csv_path(svg_path), std::string_view(csv.str()));
}

struct Bar {
  std::string name;
  double value = std::numeric_limits<double>::quiet_NaN();  // NaN: no bar ("n/a")
  double error = std::numeric_limits<double>::quiet_NaN();  // half-height of the error bar; NaN: none
  std::vector<double> points;                               // individual observations, drawn as dots
};

struct BarPlotOptions {
  std::string title, y_label;
  int width = 760, height = 460;
};

// One bar per entry from zero to its value, an error bar value ± error, and the points as dots spread across the
// bar; the axis spans zero, every bar end, error-bar end and point. Bars take the line plot's colours in order.
// SVG content: 1 background <rect> plus one <rect> per finite value, one <path> per finite error, one <circle> per
// finite point. CSV beside it in long form: "bar,kind,value" with kind value, error or point, bars in order.
inline void write_bar_plot(const std::filesystem::path& svg_path, std::span<const Bar> bars,
                           const BarPlotOptions& opt = {}) {
  double y0 = 0, y1 = 0;  // the baseline is always on the axis: a bar's length is its value
  for (const auto& b : bars) {
    for (double v : {b.value, b.value - b.error, b.value + b.error})
      if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
    for (double v : b.points)
      if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
  }
  if (y1 == y0) y1 = y0 + 1;
  const double pad = 0.06 * (y1 - y0);
  if (y1 > 0) y1 += pad;
  if (y0 < 0) y0 -= pad;
  std::size_t longest = 0;
  for (const auto& b : bars) longest = std::max(longest, b.name.size());
  const double left = 70, right = 30, top = 40;
  const double slot = (opt.width - left - right) / static_cast<double>(std::max<std::size_t>(1, bars.size()));
  const bool slanted = 6.5 * static_cast<double>(longest) > slot;  // names wider than their slot are set at an angle
  const double bottom = slanted ? 34 + 4.0 * static_cast<double>(std::min<std::size_t>(longest, 40)) : 50;
  const double height = opt.height + (slanted ? bottom - 50 : 0);
  const double pw = opt.width - left - right, ph = height - top - bottom;
  const double bar_w = 0.6 * slot;
  auto py = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << opt.width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect x=\"0\" y=\"0\" width=\"" << opt.width << "\" height=\"" << height << "\" fill=\"white\"/>\n";
  s << "<text x=\"" << left + pw / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
    << detail::xml_escape(opt.title) << "</text>\n";
  const auto ticks = detail::nice_ticks(y0, y1);
  s << "<g stroke=\"#e5e5e5\">\n";
  for (double t : ticks)
    s << "<line x1=\"" << left << "\" y1=\"" << py(t) << "\" x2=\"" << left + pw << "\" y2=\"" << py(t) << "\"/>\n";
  s << "</g>\n";
  for (double t : ticks)
    s << "<text x=\"" << left - 6 << "\" y=\"" << py(t) + 4 << "\" text-anchor=\"end\">" << detail::fmt(t, 4)
      << "</text>\n";
  s << "<text transform=\"translate(16," << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
    << detail::xml_escape(opt.y_label) << "</text>\n";
  for (std::size_t k = 0; k < bars.size(); ++k) {
    const Bar& b = bars[k];
    const char* colour = detail::kPalette[k % detail::kPalette.size()];
    const double cx = left + slot * (static_cast<double>(k) + 0.5);
    const std::string name = detail::xml_escape(b.name);
    if (std::isfinite(b.value)) {
      s << "<rect x=\"" << cx - bar_w / 2 << "\" y=\"" << std::min(py(0), py(b.value)) << "\" width=\"" << bar_w
        << "\" height=\"" << std::abs(py(b.value) - py(0)) << "\" fill=\"" << colour
        << "\" fill-opacity=\"0.7\"><title>" << name << ": " << detail::fmt(b.value, 6)
        << (std::isfinite(b.error) ? " ± " + detail::fmt(b.error, 3) : "") << "</title></rect>\n";
      // The value's label clears the error bar and the dots beyond the bar's end.
      double end = b.value;
      for (double v : b.points)
        if (std::isfinite(v)) end = b.value >= 0 ? std::max(end, v) : std::min(end, v);
      if (std::isfinite(b.error))
        end = b.value >= 0 ? std::max(end, b.value + b.error) : std::min(end, b.value - b.error);
      s << "<text x=\"" << cx << "\" y=\"" << (b.value >= 0 ? py(end) - 5 : py(end) + 14)
        << "\" text-anchor=\"middle\" fill=\"#555\">" << detail::fmt(b.value, 4) << "</text>\n";
    } else {
      s << "<text x=\"" << cx << "\" y=\"" << py(0) - 4 << "\" text-anchor=\"middle\" fill=\"#555\">n/a</text>\n";
    }
    if (std::isfinite(b.value) && std::isfinite(b.error)) {
      const double lo = py(b.value - b.error), hi = py(b.value + b.error), cap = std::min(bar_w / 6, 8.0);
      s << "<path d=\"M" << cx << ' ' << lo << "V" << hi << "M" << cx - cap << ' ' << hi << "H" << cx + cap << "M"
        << cx - cap << ' ' << lo << "H" << cx + cap << "\" stroke=\"black\" stroke-width=\"1.2\" fill=\"none\"/>\n";
    }
    // Dots spread evenly over the middle of the bar, so equal values stay distinguishable.
    const double n = static_cast<double>(b.points.size()), step = n > 1 ? std::min(bar_w * 0.6 / (n - 1), 10.0) : 0;
    for (std::size_t i = 0; i < b.points.size(); ++i) {
      if (!std::isfinite(b.points[i])) continue;
      s << "<circle cx=\"" << cx + (static_cast<double>(i) - (n - 1) / 2) * step << "\" cy=\"" << py(b.points[i])
        << "\" r=\"2.8\" fill=\"#222\"><title>" << name << ": " << detail::fmt(b.points[i], 6) << "</title></circle>\n";
    }
    if (slanted)
      s << "<text transform=\"translate(" << cx << ',' << top + ph + 12 << ") rotate(-35)\" text-anchor=\"end\">"
        << name << "</text>\n";
    else
      s << "<text x=\"" << cx << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">" << name << "</text>\n";
  }
  s << "<line x1=\"" << left << "\" y1=\"" << py(0) << "\" x2=\"" << left + pw << "\" y2=\"" << py(0)
    << "\" stroke=\"black\"/>\n<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << top + ph
    << "\" stroke=\"black\"/>\n";
  s << "</svg>\n";
  write_file_atomic(svg_path, std::string_view(s.str()));

  std::ostringstream csv;
  csv << "bar,kind,value\n";
  for (const auto& b : bars) {
    const std::string name = detail::csv_escape(b.name);
    csv << name << ",value," << detail::fmt(b.value) << '\n';
    if (!std::isnan(b.error)) csv << name << ",error," << detail::fmt(b.error) << '\n';
    for (double v : b.points) csv << name << ",point," << detail::fmt(v) << '\n';
  }
  write_file_atomic(detail::csv_path(svg_path), std::string_view(csv.str()));
}

}  // namespace sinklab::io
