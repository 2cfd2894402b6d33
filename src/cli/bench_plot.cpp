// The SVG chart of `trident bench --plot` (the text formats are in bench_output.cpp):
//  - a header with what the numbers depend on: CPU, kernels, threads, repetitions, commit, date;
//  - per model and prompt test, t/s against ubatch: one colour per configuration (threads, K/V
//    types), the fusion setting as the line style (fused solid, unfused dashed, one part fused
//    dotted), llama.cpp's speed from `--plot-llama` in the configuration's colour, thin and grey-
//    dashed; under it a ratio panel: fused / unfused and trident / llama.cpp, with 1 marked;
//  - per model and generation test, a bar per configuration and fusion setting: tg does not
//    depend on ubatch, so it gets no ubatch axis (the bar is the mean of the ubatch values run).
// Two models with the same description are told apart by file name.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "cli/bench_report.h"
#include "format/error.h"

namespace trident::cli {
namespace {

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
constexpr double kWidth = 780, kLeft = 64, kRight = 290;

// The line style of a fusion setting: both parts fused solid, both unfused dashed, one of the
// two fused dotted (Q/K/V) or dash-dotted (gate/up).
const char* fusion_dash(const BenchCase& c) {
  const bool qkv = c.fuse_qkv != FusionMode::Off, gu = c.fuse_gate_up != FusionMode::Off;
  if (qkv && gu) return "";
  if (!qkv && !gu) return " stroke-dasharray=\"7 4\"";
  return qkv ? " stroke-dasharray=\"2 3\"" : " stroke-dasharray=\"9 3 2 3\"";
}

struct PlotSeries {
  std::string label;
  size_t color = 0;
  const char* dash = "";
  std::vector<const BenchResult*> points;  // sorted by ubatch
  std::vector<const LlamaBenchRow*> llama;  // the matching llama.cpp rows, same order (may be null)
};

struct PlotContext {
  const BenchReport& r;
  bool threads_vary = false, kv_vary = false;
  std::vector<std::string> config_labels;  // one colour each

  std::string config_label(const BenchCase& c) const {
    std::string s;
    if (threads_vary) s += fmt::format("t={}", c.n_threads);
    if (kv_vary) s += fmt::format("{}kv {}/{}", s.empty() ? "" : ", ", bench_kv_type_name(c.k_type), bench_kv_type_name(c.v_type));
    return s;
  }
  size_t color_of(const BenchCase& c) {
    const std::string l = config_label(c);
    const auto it = std::find(config_labels.begin(), config_labels.end(), l);
    if (it != config_labels.end()) return size_t(it - config_labels.begin());
    config_labels.push_back(l);
    return config_labels.size() - 1;
  }
  std::string series_label(const BenchCase& c) const {
    const std::string cfg = config_label(c);
    return fmt::format("{}qkv {}, gate-up {}", cfg.empty() ? "" : cfg + ": ", fusion_mode_name(c.fuse_qkv),
                       fusion_mode_name(c.fuse_gate_up));
  }
  const LlamaBenchRow* llama_row(const BenchResult& x) const {
    const std::string file = std::filesystem::path(r.models.at(x.c.model).filename).filename().string();
    for (const LlamaBenchRow& l : r.llama)
      if (l.model_file == file && l.n_prompt == x.c.n_prompt && l.n_gen == x.c.n_gen && l.n_threads == x.c.n_threads &&
          (x.c.n_prompt == 0 || l.n_ubatch == x.c.n_ubatch))
        return &l;
    return nullptr;
  }
};

void legend_entry(std::string& svg, double x, double y, const char* color, const char* dash, double width,
                  const std::string& text) {
  svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n", x, y, x + 24,
                     y, color, width, dash);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", x + 30, y + 4, xml_escape(text));
}

// A frame with a horizontal grid line and tick at every step from y_lo to y_hi.
void frame(std::string& svg, double top, double height, double y_lo, double y_hi, double step, const std::string& unit,
           const std::function<double(double)>& ypos) {
  const double pw = kWidth - kLeft - kRight;
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", kLeft, top,
                     pw, height);
  for (double v = y_lo; v <= y_hi + step / 2; v += step) {
    const double y = ypos(v);
    svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", kLeft, y, kLeft + pw, y);
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n", kLeft - 6, y + 4,
                       fmt_tick(v));
  }
  svg += fmt::format("<text x=\"14\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">{}</text>\n",
                     top + height / 2, top + height / 2, unit);
}

// t/s against ubatch, then the ratio panel. Returns the height used.
double draw_ubatch_chart(std::string& svg, const std::string& title, const std::vector<PlotSeries>& series,
                         const std::vector<int64_t>& ubatches, double y0) {
  constexpr double kTop = 30, kMainH = 200, kGap = 34, kRatioH = 110, kBottom = 40;
  const double pw = kWidth - kLeft - kRight;
  auto xpos = [&](int64_t ub) {
    const double i = double(std::find(ubatches.begin(), ubatches.end(), ub) - ubatches.begin());
    // Points sit 6% in from each side so end markers and error bars clear the frame.
    return kLeft + (ubatches.size() == 1 ? pw / 2 : pw * (0.06 + 0.88 * i / double(ubatches.size() - 1)));
  };
  double top = 0, rmin = 1, rmax = 1;
  for (const PlotSeries& s : series)
    for (size_t i = 0; i < s.points.size(); ++i) {
      top = std::max(top, s.points[i]->avg_ts + s.points[i]->stddev_ts);
      if (s.llama[i]) {
        top = std::max(top, s.llama[i]->avg_ts);
        const double q = s.points[i]->avg_ts / s.llama[i]->avg_ts;
        rmin = std::min(rmin, q), rmax = std::max(rmax, q);
      }
      if (s.points[i]->ratio) rmin = std::min(rmin, *s.points[i]->ratio), rmax = std::max(rmax, *s.points[i]->ratio);
    }
  if (!(top > 0)) top = 1;
  const double step = nice_step(top * 1.05), ymax = std::ceil(top * 1.05 / step) * step;
  const double main_top = y0 + kTop;
  auto ypos = [&](double v) { return main_top + kMainH - kMainH * std::clamp(v, 0.0, ymax) / ymax; };
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", kLeft, y0 + 20,
                     xml_escape(title));
  frame(svg, main_top, kMainH, 0, ymax, step, "t/s", ypos);

  // The ratio panel's range always shows 1.
  const double rstep = nice_step(std::max(rmax - rmin, 0.05) * 1.2);
  const double rlo = std::floor((rmin - rstep * 0.1) / rstep) * rstep, rhi = std::ceil((rmax + rstep * 0.1) / rstep) * rstep;
  const double ratio_top = main_top + kMainH + kGap;
  auto rpos = [&](double v) { return ratio_top + kRatioH - kRatioH * (std::clamp(v, rlo, rhi) - rlo) / (rhi - rlo); };
  frame(svg, ratio_top, kRatioH, rlo, rhi, rstep, "ratio", rpos);
  svg += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#444\"/>\n", kLeft, rpos(1.0), kLeft + pw,
                     rpos(1.0));
  for (int64_t ub : ubatches) {
    for (double y : {main_top + kMainH + 15, ratio_top + kRatioH + 15})
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n", xpos(ub), y, ub);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">ubatch</text>\n", kLeft + pw / 2,
                     ratio_top + kRatioH + 32);

  double ly = main_top + 10;
  const double lx = kLeft + pw + 14;
  bool any_llama = false, any_fusion_ratio = false;
  for (const PlotSeries& s : series) {
    const char* color = kColors[s.color % std::size(kColors)];
    std::string pts, llama_pts, ratio_pts, llama_ratio_pts;
    for (size_t i = 0; i < s.points.size(); ++i) {
      const BenchResult* p = s.points[i];
      const double x = xpos(p->c.n_ubatch);
      pts += fmt::format("{:.1f},{:.1f} ", x, ypos(p->avg_ts));
      svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\"/>\n", x,
                         ypos(p->avg_ts - p->stddev_ts), x, ypos(p->avg_ts + p->stddev_ts), color);
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{:.2f} ± {:.2f} t/s</title></circle>\n",
                         x, ypos(p->avg_ts), color, p->avg_ts, p->stddev_ts);
      if (p->ratio && !(p->c.fuse_qkv == FusionMode::Off && p->c.fuse_gate_up == FusionMode::Off))
        ratio_pts += fmt::format("{:.1f},{:.1f} ", x, rpos(*p->ratio));
      if (s.llama[i]) {
        llama_pts += fmt::format("{:.1f},{:.1f} ", x, ypos(s.llama[i]->avg_ts));
        llama_ratio_pts += fmt::format("{:.1f},{:.1f} ", x, rpos(p->avg_ts / s.llama[i]->avg_ts));
      }
    }
    svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", pts, color, s.dash);
    legend_entry(svg, lx, ly, color, s.dash, 2, s.label), ly += 16;
    if (!ratio_pts.empty()) {
      any_fusion_ratio = true;
      svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", ratio_pts, color,
                         s.dash);
    }
    if (!llama_pts.empty()) {
      any_llama = true;
      svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1\" stroke-dasharray=\"1 3\"/>\n",
                         llama_pts, color);
      svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"3\" opacity=\"0.45\"{}/>\n",
                         llama_ratio_pts, color, s.dash);
    }
  }
  if (any_llama) legend_entry(svg, lx, ly, "#555", " stroke-dasharray=\"1 3\"", 1, "llama.cpp (same file, threads)"), ly += 16;
  double ry = ratio_top + 10;
  if (any_fusion_ratio) legend_entry(svg, lx, ry, "#555", "", 2, "fused ÷ unfused"), ry += 16;
  if (any_llama) legend_entry(svg, lx, ry, "#555", "", 3, "trident ÷ llama.cpp (wide, pale)");
  return kTop + kMainH + kGap + kRatioH + kBottom;
}

// One horizontal bar per series for a generation test. Returns the height used.
double draw_gen_bars(std::string& svg, const std::string& title, const std::vector<PlotSeries>& series, double y0) {
  constexpr double kTop = 30, kBar = 20, kPitch = 30, kBottom = 36;
  const double pw = kWidth - kLeft - kRight;
  struct Bar {
    const PlotSeries* s;
    double ts, sd, llama, ratio;
  };
  std::vector<Bar> bars;
  double top = 0;
  for (const PlotSeries& s : series) {
    Bar b{&s, 0, 0, 0, 0};
    double nl = 0, nr = 0;
    for (size_t i = 0; i < s.points.size(); ++i) {
      b.ts += s.points[i]->avg_ts / double(s.points.size());
      b.sd = std::max(b.sd, s.points[i]->stddev_ts);
      if (s.llama[i]) b.llama += s.llama[i]->avg_ts, ++nl;
      if (s.points[i]->ratio) b.ratio += *s.points[i]->ratio, ++nr;
    }
    if (nl) b.llama /= nl;
    if (nr) b.ratio /= nr;
    top = std::max({top, b.ts + b.sd, b.llama});
    bars.push_back(b);
  }
  if (!(top > 0)) top = 1;
  const double step = nice_step(top * 1.05), xmax = std::ceil(top * 1.05 / step) * step;
  const double h = kPitch * double(bars.size()) + 8, ftop = y0 + kTop;
  auto xpos = [&](double v) { return kLeft + pw * std::clamp(v, 0.0, xmax) / xmax; };
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", kLeft, y0 + 20,
                     xml_escape(title));
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", kLeft, ftop, pw, h);
  for (double v = 0; v <= xmax + step / 2; v += step)
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#eee\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3}\" font-size=\"11\" text-anchor=\"middle\">{4}</text>\n",
                       xpos(v), ftop, ftop + h, ftop + h + 14, fmt_tick(v));
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">t/s (no ubatch axis: generation "
                     "does not depend on it)</text>\n", kLeft + pw / 2, ftop + h + 30);
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const char* color = kColors[b.s->color % std::size(kColors)];
    const double y = ftop + 8 + kPitch * double(i);
    const bool hollow = *b.s->dash != '\0';
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}>"
                       "<title>{:.2f} ± {:.2f} t/s</title></rect>\n",
                       kLeft, y, xpos(b.ts) - kLeft, kBar, hollow ? "white" : color, color, b.s->dash, b.ts, b.sd);
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#333\"/>\n", xpos(b.ts - b.sd),
                       y + kBar / 2, xpos(b.ts + b.sd), y + kBar / 2);
    // The label, then the ratios on a second line: both fit the legend column.
    std::string ratios;
    if (b.ratio > 0 && *b.s->dash == '\0') ratios += fmt::format("×{:.2f} fused ÷ unfused", b.ratio);
    if (b.llama > 0) {
      svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#555\" stroke-width=\"2\" "
                         "stroke-dasharray=\"2 2\"/>\n", xpos(b.llama), y - 3, y + kBar + 3);
      ratios += fmt::format("{}×{:.2f} trident ÷ llama.cpp", ratios.empty() ? "" : " · ", b.ts / b.llama);
    }
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", kLeft + pw + 14, y + 9,
                       xml_escape(b.s->label));
    if (!ratios.empty())
      svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#555\">{}</text>\n", kLeft + pw + 14,
                         y + 21, ratios);
  }
  return kTop + h + kBottom;
}

}  // namespace

std::vector<LlamaBenchRow> read_llama_bench_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("--plot-llama {}: cannot read: {}", path, std::strerror(errno));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in, nullptr, true, false);
  } catch (const nlohmann::json::exception& e) {
    fail("--plot-llama {}: not JSON (llama-bench -o json writes it): byte {}", path,
         e.id == 101 ? fmt::format("{}", static_cast<const nlohmann::json::parse_error&>(e).byte) : std::string("?"));
  }
  if (!j.is_array()) fail("--plot-llama {}: expected llama-bench's JSON array of rows", path);
  std::vector<LlamaBenchRow> rows;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& o = j[i];
    enum Kind { kString, kInteger, kNumber };
    auto need = [&](const char* key, Kind kind) -> const nlohmann::json& {
      static constexpr const char* kWhat[] = {"a string", "an integer in 0..2^30", "a number"};
      const bool ok = o.is_object() && o.contains(key) &&
                      (kind == kString    ? o[key].is_string()
                       : kind == kInteger ? o[key].is_number_integer() && o[key].get<int64_t>() >= 0 &&
                                                o[key].get<int64_t>() <= (int64_t{1} << 30)
                                          : o[key].is_number());
      if (!ok) fail("--plot-llama {}: row {}: expected {} field '{}'", path, i, kWhat[kind], key);
      return o[key];
    };
    LlamaBenchRow r;
    r.model_file = std::filesystem::path(need("model_filename", kString).get<std::string>()).filename().string();
    r.n_prompt = need("n_prompt", kInteger).get<int64_t>();
    r.n_gen = need("n_gen", kInteger).get<int64_t>();
    r.n_ubatch = need("n_ubatch", kInteger).get<int64_t>();
    r.n_threads = need("n_threads", kInteger).get<int>();
    r.avg_ts = need("avg_ts", kNumber).get<double>();
    if (!(r.avg_ts > 0)) fail("--plot-llama {}: row {}: expected avg_ts > 0", path, i);
    rows.push_back(r);
  }
  return rows;
}

std::string format_svg(const BenchReport& r) {
  PlotContext ctx{r, false, false, {}};
  std::vector<int> threads;
  for (const BenchResult& x : r.results) {
    ctx.threads_vary |= x.c.n_threads != r.results.front().c.n_threads;
    ctx.kv_vary |= x.c.k_type != r.results.front().c.k_type || x.c.v_type != r.results.front().c.v_type;
    if (std::find(threads.begin(), threads.end(), x.c.n_threads) == threads.end()) threads.push_back(x.c.n_threads);
  }
  // Charts by (model, test) in the order the results came.
  std::map<std::pair<size_t, std::string>, std::vector<const BenchResult*>> charts;
  std::vector<std::pair<size_t, std::string>> order;
  for (const BenchResult& x : r.results) {
    auto key = std::make_pair(x.c.model, bench_test_name(x.c.n_prompt, x.c.n_gen, x.c.n_depth));
    if (!charts.count(key)) order.push_back(key);
    charts[key].push_back(&x);
  }
  std::string body;
  double y = 0;
  std::string thread_list;
  for (int t : threads) thread_list += fmt::format("{}{}", thread_list.empty() ? "" : ",", t);
  body += fmt::format("<text x=\"{}\" y=\"22\" font-size=\"16\" font-weight=\"bold\">trident bench</text>\n", kLeft);
  body += fmt::format("<text x=\"{}\" y=\"42\" font-size=\"11\" fill=\"#333\">{} · kernels {} · threads {} · {} "
                      "repetition{} · commit {} · {}</text>\n",
                      kLeft, xml_escape(r.cpu.empty() ? "unknown CPU" : r.cpu), xml_escape(r.kernels), thread_list,
                      r.repetitions, r.repetitions == 1 ? "" : "s", xml_escape(r.build_commit),
                      xml_escape(r.results.empty() ? std::string() : r.results.front().test_time));
  y = 56;
  for (const auto& key : order) {
    const BenchModelInfo& m = r.models.at(key.first);
    std::string title = fmt::format("{} — {}", m.type, key.second);
    for (size_t other = 0; other < r.models.size(); ++other)
      if (other != key.first && r.models[other].type == m.type) {
        title += fmt::format(" ({})", std::filesystem::path(m.filename).filename().string());
        break;
      }
    std::vector<PlotSeries> series;
    std::vector<int64_t> ubatches;
    for (const BenchResult* p : charts[key]) {
      const std::string label = ctx.series_label(p->c);
      auto it = std::find_if(series.begin(), series.end(), [&](const PlotSeries& s) { return s.label == label; });
      if (it == series.end()) {
        series.push_back({label, ctx.color_of(p->c), fusion_dash(p->c), {}, {}});
        it = series.end() - 1;
      }
      it->points.push_back(p);
      if (std::find(ubatches.begin(), ubatches.end(), p->c.n_ubatch) == ubatches.end()) ubatches.push_back(p->c.n_ubatch);
    }
    std::sort(ubatches.begin(), ubatches.end());
    for (PlotSeries& s : series) {
      std::sort(s.points.begin(), s.points.end(), [](auto* a, auto* b) { return a->c.n_ubatch < b->c.n_ubatch; });
      for (const BenchResult* p : s.points) s.llama.push_back(ctx.llama_row(*p));
    }
    const bool generation_only = charts[key].front()->c.n_prompt == 0;
    y += generation_only ? draw_gen_bars(body, title, series, y) : draw_ubatch_chart(body, title, series, ubatches, y);
  }
  return fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{:.0f}\" "
                     "font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n",
                     kWidth, y, body);
}

}  // namespace trident::cli
