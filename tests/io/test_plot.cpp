#include <catch2/catch.hpp>
#include <cmath>

#include "sinklab/io/plot.hpp"
#include "tmpdir.hpp"

using namespace sinklab;

namespace {
std::size_t count(const std::string& s, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("heatmap SVG and CSV", "[io][plot]") {
  test::TempDir dir("plot");
  const std::vector<double> v = {0.0, 0.5, 1.0, 0.25, NAN, 0.75};
  io::HeatmapOptions opt;
  opt.title = "sink score <layer, head>";
  opt.row_labels = {"L0", "L1"};
  opt.col_labels = {"h0", "h1", "h2"};
  io::write_heatmap(dir / "h.svg", std::span<const double>(v), 2, 3, opt);
  const auto svg = io::read_text_file(dir / "h.svg");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.size() > 100);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  CHECK(count(svg, "<rect") == 1 + 6 + io::kColorbarSteps);
  CHECK(count(svg, "&lt;layer, head&gt;") == 1);
  CHECK(count(svg, "#440154") >= 1);  // vmin colour
  CHECK(count(svg, "#fde725") >= 1);  // vmax colour
  CHECK(io::read_text_file(dir / "h.csv") == "row,h0,h1,h2\nL0,0,0.5,1\nL1,0.25,nan,0.75\n");
  // a small grid under a long title: the canvas widens so the title is not clipped (≈ 8.5 px per glyph at 15 px)
  opt.title = std::string(70, 'x');
  io::write_heatmap(dir / "wide.svg", std::span<const double>(v), 2, 3, opt);
  const auto wide = io::read_text_file(dir / "wide.svg");
  const auto at = wide.find("width=\"") + 7;
  CHECK(std::stod(wide.substr(at, wide.find('"', at) - at)) >= 8.5 * 70);
}

TEST_CASE("line plot SVG and CSV, linear and log", "[io][plot]") {
  test::TempDir dir("plot");
  const std::vector<io::Series> s = {{"softmax", {1, 2, 3}, {4.0, 3.5, 3.25}},
                                     {"sigmoid, no norm", {1, 2}, {5.0, 0.1}}};
  io::LinePlotOptions opt;
  opt.title = "loss";
  io::write_line_plot(dir / "loss.svg", s, opt);
  const auto svg = io::read_text_file(dir / "loss.svg");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(count(svg, "<polyline") == 2);
  CHECK(count(svg, "softmax") == 1);
  CHECK(
      io::read_text_file(dir / "loss.csv") ==
      "series,x,y\nsoftmax,1,4\nsoftmax,2,3.5\nsoftmax,3,3.25\n\"sigmoid, no norm\",1,5\n\"sigmoid, no norm\",2,0.1\n");
  opt.log_y = true;
  io::write_line_plot(dir / "loss_log.svg", s, opt);
  const auto log_svg = io::read_text_file(dir / "loss_log.svg");
  CHECK(count(log_svg, "<polyline") == 2);
  CHECK(count(log_svg, ">0.1<") == 1);  // decade tick labels
  CHECK(count(log_svg, ">10<") == 1);
}

TEST_CASE("bar plot with error bars and points, SVG and CSV", "[io][plot]") {
  test::TempDir dir("plot");
  const std::vector<io::Bar> bars = {
      {"softmax", 18.5, 2.5, {16.0, 21.0}}, {"sigmoid <no norm>", 0.5, NAN, {0.5}}, {"diverged", NAN, NAN, {NAN}}};
  io::BarPlotOptions opt;
  opt.title = "Sink1 (%)";
  io::write_bar_plot(dir / "bars.svg", bars, opt);
  const auto svg = io::read_text_file(dir / "bars.svg");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  CHECK(count(svg, "<rect") == 1 + 2);  // background + the two finite bars
  CHECK(count(svg, "<path") == 1);      // one error bar: the others have no finite error
  CHECK(count(svg, "<circle") == 3);    // finite points only
  CHECK(count(svg, "sigmoid &lt;no norm&gt;") >= 1);
  CHECK(count(svg, ">n/a<") == 1);
  CHECK(count(svg, ">20<") == 1);  // a tick at 20: the axis reaches the top of the error bar (21), not just 18.5
  CHECK(io::read_text_file(dir / "bars.csv") ==
        "bar,kind,value\nsoftmax,value,18.5\nsoftmax,error,2.5\nsoftmax,point,16\nsoftmax,point,21\n"
        "sigmoid <no norm>,value,0.5\nsigmoid <no norm>,point,0.5\ndiverged,value,nan\ndiverged,point,nan\n");

  // The axis always holds zero and every error-bar end: a negative value draws its bar below the baseline.
  const std::vector<io::Bar> neg = {{"a", -2.0, 1.0, {}}, {"b", 1.0, 0.5, {}}};
  io::write_bar_plot(dir / "neg.svg", neg);
  const auto nsvg = io::read_text_file(dir / "neg.svg");
  CHECK(count(nsvg, ">-3<") == 1);  // tick at the lower end of a's error bar
  CHECK(count(nsvg, "<path") == 2);
}
