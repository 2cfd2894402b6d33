#include "cli/bench_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

namespace trident::cli {
namespace {

std::string size_label(uint64_t bytes) {
  return bytes < (uint64_t(1) << 30) ? fmt::format("{:.2f} MiB", bytes / 1048576.0)
                                     : fmt::format("{:.2f} GiB", bytes / 1073741824.0);
}

std::string params_label(uint64_t n) {
  return n < 1000000000ull ? fmt::format("{:.2f} M", n / 1e6) : fmt::format("{:.2f} B", n / 1e9);
}

std::string fused_label(const BenchCase& c) {
  return fmt::format("{}/{}", fusion_mode_name(c.fuse_qkv), fusion_mode_name(c.fuse_gate_up));
}

bool kv_is_default(const BenchReport& r) {
  for (const BenchResult& x : r.results)
    if (x.c.k_type != KvType::F16 || x.c.v_type != KvType::F16) return false;
  return true;
}

bool any_roofline(const BenchReport& r) {
  for (const BenchResult& x : r.results)
    if (x.roofline_pct) return true;
  return false;
}

// The scalar fields of one result, in the order JSON and CSV print them. Names follow
// llama-bench where it has the field.
nlohmann::ordered_json row_json(const BenchReport& r, const BenchResult& x) {
  const BenchModelInfo& m = r.models.at(x.c.model);
  nlohmann::ordered_json j;
  j["model_filename"] = m.filename;
  j["model_type"] = m.type;
  j["model_size"] = m.size;
  j["model_n_params"] = m.n_params;
  j["backends"] = "CPU";
  j["kernels"] = r.kernels;
  j["load_s"] = m.load_seconds;
  j["repacked_bytes"] = m.packed_bytes;
  j["n_ubatch"] = x.c.n_ubatch;
  j["n_threads"] = x.c.n_threads;
  j["type_k"] = bench_kv_type_name(x.c.k_type);
  j["type_v"] = bench_kv_type_name(x.c.v_type);
  j["fuse_qkv"] = fusion_mode_name(x.c.fuse_qkv);
  j["fuse_gate_up"] = fusion_mode_name(x.c.fuse_gate_up);
  j["n_prompt"] = x.c.n_prompt;
  j["n_gen"] = x.c.n_gen;
  j["n_depth"] = 0;
  j["test_time"] = x.test_time;
  j["avg_ns"] = uint64_t(std::llround(x.avg_ns));
  j["stddev_ns"] = uint64_t(std::llround(x.stddev_ns));
  j["avg_ts"] = x.avg_ts;
  j["stddev_ts"] = x.stddev_ts;
  if (r.show_ratio) j["ratio"] = x.ratio ? nlohmann::ordered_json(*x.ratio) : nlohmann::ordered_json();
  if (r.membw) {
    j["membw_gbs"] = r.membw->gb_per_s;
    j["weight_bytes"] = m.weight_bytes;
    j["roofline_pct"] = x.roofline_pct ? nlohmann::ordered_json(*x.roofline_pct) : nlohmann::ordered_json();
  }
  return j;
}

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

std::string format_markdown(const BenchReport& r) {
  const bool kv = !kv_is_default(r), roof = any_roofline(r);
  std::vector<std::string> head = {"model", "size", "params", "threads", "ubatch"};
  if (kv) head.insert(head.end(), {"type_k", "type_v"});
  head.insert(head.end(), {"fused (qkv/gate-up)", "test", "t/s"});
  if (r.show_ratio) head.push_back("ratio");
  if (roof) head.push_back("% roofline");
  std::vector<std::vector<std::string>> rows;
  for (const BenchResult& x : r.results) {
    const BenchModelInfo& m = r.models.at(x.c.model);
    std::vector<std::string> row = {m.type, size_label(m.size), params_label(m.n_params),
                                    std::to_string(x.c.n_threads), std::to_string(x.c.n_ubatch)};
    if (kv) row.insert(row.end(), {bench_kv_type_name(x.c.k_type), bench_kv_type_name(x.c.v_type)});
    row.insert(row.end(), {fused_label(x.c), bench_test_name(x.c.n_prompt, x.c.n_gen),
                           fmt::format("{:.2f} ± {:.2f}", x.avg_ts, x.stddev_ts)});
    if (r.show_ratio) row.push_back(x.ratio ? fmt::format("{:.3f}", *x.ratio) : "-");
    if (roof) row.push_back(x.roofline_pct ? fmt::format("{:.1f}", *x.roofline_pct) : "-");
    rows.push_back(std::move(row));
  }
  // Column widths in characters, not bytes ("±" is two bytes).
  auto width = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i) {
    w[i] = std::max<size_t>(width(head[i]), 3);
    for (const auto& row : rows) w[i] = std::max(w[i], width(row[i]));
  }
  // Text columns left-aligned, numbers right-aligned, as llama-bench does.
  auto left = [&](size_t i) { return i == 0 || head[i] == "fused (qkv/gate-up)" || head[i] == "test" || head[i].rfind("type_", 0) == 0; };
  auto cell = [&](size_t i, const std::string& s) {
    const std::string pad(w[i] - width(s), ' ');
    return left(i) ? s + pad : pad + s;
  };
  std::string out = "|";
  for (size_t i = 0; i < head.size(); ++i) out += " " + cell(i, head[i]) + " |";
  out += "\n|";
  for (size_t i = 0; i < head.size(); ++i) out += " " + (left(i) ? std::string(w[i], '-') : std::string(w[i] - 1, '-') + ":") + " |";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (size_t i = 0; i < row.size(); ++i) out += " " + cell(i, row[i]) + " |";
    out += "\n";
  }
  for (const BenchModelInfo& m : r.models)
    out += fmt::format("\nload: {} in {:.2f} s ({} MiB repacked in {:.2f} s)", m.filename, m.load_seconds,
                       m.packed_bytes >> 20, m.pack_seconds);
  out += fmt::format("\nkernels: {}", r.kernels);
  if (r.membw)
    out += fmt::format(" | memory read bandwidth: {:.2f} GB/s ({} MiB, {} threads, best of {})", r.membw->gb_per_s,
                       r.membw->bytes >> 20, r.membw->n_threads, r.membw->runs);
  return out + "\n";
}

std::string format_json(const BenchReport& r) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const BenchResult& x : r.results) {
    nlohmann::ordered_json j = row_json(r, x);
    j["samples_ns"] = x.samples_ns;
    j["samples_ts"] = x.samples_ts;
    arr.push_back(std::move(j));
  }
  return arr.dump(2) + "\n";
}

std::string format_csv(const BenchReport& r) {
  std::string out;
  bool header = false;
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  for (const BenchResult& x : r.results) {
    const nlohmann::ordered_json j = row_json(r, x);
    std::string names, values;
    for (const auto& [k, v] : j.items()) {
      names += (names.empty() ? "" : ",") + k;
      values += (values.empty() ? "" : ",") + quote(v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump());
    }
    if (!header) out += names + "\n", header = true;
    out += values + "\n";
  }
  return out;
}

std::string format_svg(const BenchReport& r) {
  // Group results by (model, test); within a chart, one series per everything-but-ubatch.
  std::map<std::pair<size_t, std::string>, std::vector<const BenchResult*>> charts;
  std::vector<std::pair<size_t, std::string>> order;
  for (const BenchResult& x : r.results) {
    auto key = std::make_pair(x.c.model, bench_test_name(x.c.n_prompt, x.c.n_gen));
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
