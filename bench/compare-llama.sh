#!/usr/bin/env bash
# Runs llama-bench and `trident bench` with the same settings on the same GGUF files and
# prints one markdown table: both speeds and trident / llama.cpp per test.
#
# Usage: bench/compare-llama.sh LLAMA_BUILD_DIR MODEL...
#   LLAMA_BUILD_DIR  folder holding llama-bench (e.g. ~/llama.cpp/build/bin)
# Environment (defaults in brackets):
#   TRIDENT [<repo>/build/trident]  THREADS [2]  P [512]  N [128]  REPS [5]
#   TRIDENT_ARGS  extra flags for trident bench (e.g. "--fuse-qkv on,off")
# Needs bash and python3; no network.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
llama_dir=$1
shift
llama_bench="$llama_dir/llama-bench"
[[ -x $llama_bench ]] || { echo "compare-llama: no executable llama-bench in $llama_dir" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/.." && pwd)
trident=${TRIDENT:-$repo/build/trident}
[[ -x $trident ]] || { echo "compare-llama: no trident binary at $trident (set TRIDENT)" >&2; exit 1; }
threads=${THREADS:-2}
p=${P:-512}
n=${N:-128}
reps=${REPS:-5}
for m in "$@"; do
  [[ -f $m ]] || { echo "compare-llama: no such model file: $m" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# llama-bench's shared libraries usually sit beside it.
export LD_LIBRARY_PATH="$llama_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

i=0
for m in "$@"; do
  echo "compare-llama: llama-bench on $m" >&2
  if ! "$llama_bench" -m "$m" -p "$p" -n "$n" -t "$threads" -r "$reps" -o json >"$tmp/llama-$i.json" 2>"$tmp/llama-$i.log"; then
    cat "$tmp/llama-$i.log" >&2
    exit 1
  fi
  echo "compare-llama: trident bench on $m" >&2
  # shellcheck disable=SC2086  # TRIDENT_ARGS is a list of flags
  "$trident" bench -m "$m" -p "$p" -n "$n" -t "$threads" -r "$reps" ${TRIDENT_ARGS:-} -o json >"$tmp/trident-$i.json"
  i=$((i + 1))
done

commit=$(git -C "$llama_dir" rev-parse --short HEAD 2>/dev/null || true)
python3 - "$tmp" "$i" "$commit" <<'PY'
import json, os, sys

tmp, count, git_commit = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def test_name(r):
    p, n = r["n_prompt"], r["n_gen"]
    return f"pp{p}" if n == 0 else f"tg{n}" if p == 0 else f"pp{p}+tg{n}"

rows, commits = [], set()
for i in range(count):
    with open(os.path.join(tmp, f"llama-{i}.json")) as f:
        llama = json.load(f)
    with open(os.path.join(tmp, f"trident-{i}.json")) as f:
        trident = json.load(f)
    for r in llama:
        if r.get("build_commit") not in (None, "", "unknown"):  # "unknown": built without git
            commits.add(f'{r["build_commit"]} ({r.get("build_number", "?")})')
    # trident may run several fusion settings per test; each gets its own line.
    for t in trident:
        match = [r for r in llama if r["n_prompt"] == t["n_prompt"] and r["n_gen"] == t["n_gen"]]
        l = match[0] if match else None
        rows.append({
            "model": os.path.basename(t["model_filename"]),
            "type": l["model_type"] if l else t["model_type"],
            "test": test_name(t),
            "fused": f'{t["fuse_qkv"]}/{t["fuse_gate_up"]}',
            "llama": l,
            "trident": t,
        })

def ts(r):
    return f'{r["avg_ts"]:.2f} ± {r["stddev_ts"]:.2f}' if r else "-"

head = ["model", "type", "test", "trident fused (qkv/gate-up)", "llama.cpp t/s", "trident t/s", "trident / llama.cpp"]
table = []
for r in rows:
    ratio = f'{r["trident"]["avg_ts"] / r["llama"]["avg_ts"]:.3f}' if r["llama"] and r["llama"]["avg_ts"] > 0 else "-"
    table.append([r["model"], r["type"], r["test"], r["fused"], ts(r["llama"]), ts(r["trident"]), ratio])
width = [max([len(h)] + [len(row[c]) for row in table]) for c, h in enumerate(head)]
right = {4, 5, 6}
def line(cells):
    return "| " + " | ".join(c.rjust(width[k]) if k in right else c.ljust(width[k]) for k, c in enumerate(cells)) + " |"
print(line(head))
print("| " + " | ".join(("-" * (width[k] - 1) + ":") if k in right else "-" * width[k] for k in range(len(head))) + " |")
for row in table:
    print(line(row))
print()
if commits:
    print("llama.cpp build: " + ", ".join(sorted(commits)))
elif git_commit:
    print(f"llama.cpp build: {git_commit} (from git)")
else:
    print("llama.cpp build: unknown")
PY
