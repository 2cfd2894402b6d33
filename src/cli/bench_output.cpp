// The text formats of `trident bench`, one row at a time (see bench_report.h).
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/bench_report.h"
#include "format/error.h"

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

// The scalar fields of one result, in the order CSV, JSON and SQL print them. Names follow
// llama-bench where it has the field.
nlohmann::ordered_json row_json(const BenchReport& r, const BenchResult& x) {
  const BenchModelInfo& m = r.models.at(x.c.model);
  nlohmann::ordered_json j;
  j["model_filename"] = m.filename;
  j["model_type"] = m.type;
  j["model_size"] = m.size;
  j["model_n_params"] = m.n_params;
  j["build_commit"] = r.build_commit;
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
  if (!x.fusion_verdicts.empty()) j["fusion_verdicts"] = x.fusion_verdicts;
  j["n_prompt"] = x.c.n_prompt;
  j["n_gen"] = x.c.n_gen;
  j["n_depth"] = x.c.n_depth;
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

nlohmann::ordered_json row_with_samples(const BenchReport& r, const BenchResult& x) {
  nlohmann::ordered_json j = row_json(r, x);
  j["samples_ns"] = x.samples_ns;
  j["samples_ts"] = x.samples_ts;
  return j;
}

// ---- markdown: fixed column widths (llama-bench's), so the header needs no rows ------------

struct Column {
  const char* name;
  int width;  // at least; a longer cell widens its own row only
  bool left;  // text left-aligned, numbers right-aligned, as llama-bench does
};

std::vector<Column> md_columns(const BenchReport& r) {
  std::vector<Column> c = {{"model", 30, true}, {"size", 10, false}, {"params", 10, false},
                           {"threads", 7, false}, {"ubatch", 6, false}};
  if (r.show_kv) c.insert(c.end(), {{"type_k", 6, true}, {"type_v", 6, true}});
  c.insert(c.end(), {{"fused (qkv/gate-up)", 19, true}, {"test", 15, true}, {"t/s", 20, false}});
  if (r.show_ratio) c.push_back({"ratio", 6, false});
  if (r.membw) c.push_back({"% roofline", 10, false});
  return c;
}

size_t display_width(const std::string& s) {  // characters, not bytes ("±" is two bytes)
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

std::string md_line(const std::vector<Column>& cols, const std::vector<std::string>& cells) {
  std::string out = "|";
  for (size_t i = 0; i < cols.size(); ++i) {
    const std::string pad(std::max<size_t>(size_t(cols[i].width), display_width(cells[i])) - display_width(cells[i]), ' ');
    out += " " + (cols[i].left ? cells[i] + pad : pad + cells[i]) + " |";
  }
  return out + "\n";
}

std::string md_header(const BenchReport& r) {
  const std::vector<Column> cols = md_columns(r);
  std::vector<std::string> names, rules;
  for (const Column& c : cols) {
    names.push_back(c.name);
    rules.push_back(c.left ? std::string(size_t(c.width), '-') : std::string(size_t(c.width) - 1, '-') + ":");
  }
  return md_line(cols, names) + md_line(cols, rules);
}

std::string md_row(const BenchReport& r, const BenchResult& x) {
  const BenchModelInfo& m = r.models.at(x.c.model);
  std::vector<std::string> row = {m.type, size_label(m.size), params_label(m.n_params), std::to_string(x.c.n_threads),
                                  std::to_string(x.c.n_ubatch)};
  if (r.show_kv) row.insert(row.end(), {bench_kv_type_name(x.c.k_type), bench_kv_type_name(x.c.v_type)});
  row.insert(row.end(), {fused_label(x.c), bench_test_name(x.c.n_prompt, x.c.n_gen, x.c.n_depth),
                         fmt::format("{:.2f} ± {:.2f}", x.avg_ts, x.stddev_ts)});
  if (r.show_ratio) row.push_back(x.ratio ? fmt::format("{:.3f}", *x.ratio) : "-");
  if (r.membw) row.push_back(x.roofline_pct ? fmt::format("{:.1f}", *x.roofline_pct) : "-");
  return md_line(md_columns(r), row);
}

std::string md_footer(const BenchReport& r) {
  std::string out;
  for (const BenchModelInfo& m : r.models)
    out += fmt::format("\nload: {} in {:.2f} s ({} MiB repacked in {:.2f} s)", m.filename, m.load_seconds,
                       m.packed_bytes >> 20, m.pack_seconds);
  out += fmt::format("\nkernels: {}", r.kernels);
  if (r.membw)
    out += fmt::format(" | memory read bandwidth: {:.2f} GB/s ({} MiB, {} threads, best of {})", r.membw->gb_per_s,
                       r.membw->bytes >> 20, r.membw->n_threads, r.membw->runs);
  return out + fmt::format("\nbuild: {}\n", r.build_commit);
}

// ---- CSV and SQL ---------------------------------------------------------------------------

std::string csv_quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string json_value_text(const nlohmann::ordered_json& v) {
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
}

std::string sql_value(const nlohmann::ordered_json& v) {
  if (v.is_null()) return "NULL";
  if (!v.is_string()) return v.dump();
  std::string q = "'";
  for (char c : v.get<std::string>()) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

// llama-bench's table name and column types.
std::string sql_create(const nlohmann::ordered_json& j) {
  std::string out = "CREATE TABLE IF NOT EXISTS test (\n";
  size_t i = 0;
  for (const auto& [k, v] : j.items()) {
    const char* type = v.is_string() ? "TEXT" : v.is_number_integer() ? "INTEGER" : "REAL";
    out += fmt::format("  {} {}{}\n", k, type, ++i == j.size() ? "" : ",");
  }
  return out + ");\n\n";
}

std::string sql_insert(const nlohmann::ordered_json& j) {
  std::string names, values;
  for (const auto& [k, v] : j.items()) {
    names += (names.empty() ? "" : ", ") + k;
    values += (values.empty() ? "" : ", ") + sql_value(v);
  }
  return fmt::format("INSERT INTO test ({}) VALUES ({});\n", names, values);
}

}  // namespace

void check_bench_format(const std::string& f) {
  if (f != "md" && f != "csv" && f != "json" && f != "jsonl" && f != "sql")
    fail("-o: expected md, csv, json, jsonl or sql, found '{}'", f);
}

std::string BenchPrinter::row(const BenchReport& r, const BenchResult& x) {
  const bool first = rows_++ == 0;
  if (format_ == "md") return (first ? md_header(r) : "") + md_row(r, x);
  if (format_ == "jsonl") return row_with_samples(r, x).dump() + "\n";
  if (format_ == "json") {
    std::string obj = row_with_samples(r, x).dump(2), indented;
    for (char c : obj) indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
    return (first ? "[\n  " : ",\n  ") + indented;
  }
  const nlohmann::ordered_json j = row_json(r, x);
  if (format_ == "sql") return (first ? sql_create(j) : "") + sql_insert(j);
  std::string names, values;  // csv
  for (const auto& [k, v] : j.items()) {
    names += (names.empty() ? "" : ",") + k;
    values += (values.empty() ? "" : ",") + csv_quote(json_value_text(v));
  }
  return (first ? names + "\n" : "") + values + "\n";
}

std::string BenchPrinter::finish(const BenchReport& r) {
  if (format_ == "md") return (rows_ == 0 ? md_header(r) : "") + md_footer(r);
  if (format_ == "json") return rows_ == 0 ? "[]\n" : "\n]\n";
  return "";
}

std::string format_report(const BenchReport& r, const std::string& format) {
  BenchPrinter p(format);
  std::string out;
  for (const BenchResult& x : r.results) out += p.row(r, x);
  return out + p.finish(r);
}

}  // namespace trident::cli
