// The SVG chart of `trident bench --plot`; the text formats are in bench_output.cpp.
#include "cli/bench_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace trident::cli {
namespace {

// ---- SVG -------------------------------------------------------------------------------

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

// A round step (1, 2 or 5 times a power of ten) giving about five ticks up to `top`.
double nice_step(double top) {
  const double raw = top / 5.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * p) return m * p;
  return 10.0 * p;
}

std::string fmt_tick(double v) {
  return std::fabs(v - std::round(v)) < 1e-9 ? fmt::format("{:.0f}", v) : fmt::format("{:g}", v);
}

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};

struct Series {
  std::string label;
  bool unfused = false;  // some projection group runs unfused: drawn dashed
  std::vector<const BenchResult*> points;  // sorted by ubatch
};

void draw_chart(std::string& svg, const std::string& title, std::vector<Series>& series,
                const std::vector<int64_t>& ubatches, double y0) {
  constexpr double W = 640, H = 280, L = 64, R = 190, T = 34, B = 44;
  const double pw = W - L - R, ph = H - T - B;
  double top = 0;
  for (const Series& s : series)
    for (const BenchResult* p : s.points) top = std::max(top, p->avg_ts + p->stddev_ts);
  if (!(top > 0)) top = 1;
  const double step = nice_step(top * 1.05);
  const double ymax = std::ceil(top * 1.05 / step) * step;
  auto xpos = [&](int64_t ub) {
    const auto it = std::find(ubatches.begin(), ubatches.end(), ub);
    const double i = double(it - ubatches.begin());
    // Points sit 6% in from each side so end markers and error bars clear the frame.
    return L + (ubatches.size() == 1 ? pw / 2 : pw * (0.06 + 0.88 * i / double(ubatches.size() - 1)));
  };
  auto ypos = [&](double v) { return y0 + T + ph - ph * std::clamp(v, 0.0, ymax) / ymax; };

  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", L, y0 + 20, xml_escape(title));
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", L, y0 + T, pw, ph);
  for (double v = 0; v <= ymax + step / 2; v += step) {
    const double y = ypos(v);
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", L, y, L + pw, y);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n", L - 6, y + 4, fmt_tick(v));
  }
  for (int64_t ub : ubatches) {
    const double x = xpos(ub);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n", x, y0 + T + ph + 16, ub);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">ubatch</text>\n", L + pw / 2, y0 + H - 6);
  svg += fmt::format("<text x=\"14\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">t/s</text>\n",
                     y0 + T + ph / 2, y0 + T + ph / 2);
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const char* color = kColors[i % std::size(kColors)];
    const char* dash = s.unfused ? " stroke-dasharray=\"6 4\"" : "";
    std::string pts;
    for (const BenchResult* p : s.points) pts += fmt::format("{:.1f},{:.1f} ", xpos(p->c.n_ubatch), ypos(p->avg_ts));
    svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", pts, color, dash);
    for (const BenchResult* p : s.points) {
      const double x = xpos(p->c.n_ubatch);
      svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\"/>\n", x,
                         ypos(p->avg_ts - p->stddev_ts), x, ypos(p->avg_ts + p->stddev_ts), color);
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{:.2f} ± {:.2f} t/s</title></circle>\n",
                         x, ypos(p->avg_ts), color, p->avg_ts, p->stddev_ts);
    }
    const double ly = y0 + T + 12 + 18 * double(i);
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", L + pw + 12, ly,
                       L + pw + 36, ly, color, dash);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", L + pw + 42, ly + 4, xml_escape(s.label));
  }
}

}  // namespace

std::string format_svg(const BenchReport& r) {
  // Group results by (model, test); within a chart, one series per everything-but-ubatch.
  std::map<std::pair<size_t, std::string>, std::vector<const BenchResult*>> charts;
  std::vector<std::pair<size_t, std::string>> order;
  for (const BenchResult& x : r.results) {
    auto key = std::make_pair(x.c.model, bench_test_name(x.c.n_prompt, x.c.n_gen, x.c.n_depth));
    if (!charts.count(key)) order.push_back(key);
    charts[key].push_back(&x);
  }
  bool threads_vary = false, kv_vary = false;
  for (const BenchResult& x : r.results) {
    threads_vary |= x.c.n_threads != r.results.front().c.n_threads;
    kv_vary |= x.c.k_type != r.results.front().c.k_type || x.c.v_type != r.results.front().c.v_type;
  }
  constexpr double kChartH = 290;
  std::string body;
  double y0 = 0;
  for (const auto& key : order) {
    std::vector<Series> series;
    std::vector<int64_t> ubatches;
    for (const BenchResult* p : charts[key]) {
      std::string label = fmt::format("qkv {}, gate-up {}", fusion_mode_name(p->c.fuse_qkv), fusion_mode_name(p->c.fuse_gate_up));
      if (threads_vary) label += fmt::format(", t={}", p->c.n_threads);
      if (kv_vary) label += fmt::format(", kv {}/{}", bench_kv_type_name(p->c.k_type), bench_kv_type_name(p->c.v_type));
      auto it = std::find_if(series.begin(), series.end(), [&](const Series& s) { return s.label == label; });
      if (it == series.end()) {
        series.push_back({label, p->c.fuse_qkv == FusionMode::Off || p->c.fuse_gate_up == FusionMode::Off, {}});
        it = series.end() - 1;
      }
      it->points.push_back(p);
      if (std::find(ubatches.begin(), ubatches.end(), p->c.n_ubatch) == ubatches.end()) ubatches.push_back(p->c.n_ubatch);
    }
    std::sort(ubatches.begin(), ubatches.end());
    for (Series& s : series)
      std::sort(s.points.begin(), s.points.end(), [](auto* a, auto* b) { return a->c.n_ubatch < b->c.n_ubatch; });
    draw_chart(body, fmt::format("{} — {}", r.models.at(key.first).type, key.second), series, ubatches, y0);
    y0 += kChartH;
  }
  return fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{}\" "
                     "font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n",
                     std::max(y0, 1.0), body);
}

}  // namespace trident::cli
