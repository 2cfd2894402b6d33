#!/usr/bin/env bash
# Runs llama-bench and `trident bench` with the same settings on the same GGUF files and
# prints one markdown table: both speeds and trident / llama.cpp per test.
#
# Usage: bench/compare-llama.sh LLAMA_BUILD_DIR MODEL...
#   LLAMA_BUILD_DIR  folder holding llama-bench (e.g. ~/llama.cpp/build/bin)
# Environment (defaults in brackets):
#   TRIDENT [<repo>/build/trident]  THREADS [2]  P [512]  N [128]  REPS [5]
#   ROUNDS [1]    run both engines this many times, alternating, on a machine whose speed
#                 drifts (shared hosts); t/s are averaged over rounds, the ratio is the
#                 median of the per-round ratios
#   TRIDENT_ARGS  extra flags for trident bench (e.g. "--fuse-qkv on,off")
#   PLOT          write trident's SVG chart of the last round with llama.cpp's speeds from
#                 the same round (trident bench --plot --plot-llama): PLOT itself for one
#                 model, PLOT with "-MODEL" before ".svg" for each of several
# Needs bash and python3; no network.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2
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
rounds=${ROUNDS:-1}
for m in "$@"; do
  [[ -f $m ]] || { echo "compare-llama: no such model file: $m" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# llama-bench's shared libraries usually sit beside it.
export LD_LIBRARY_PATH="$llama_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

i=0
for m in "$@"; do
  for ((k = 0; k < rounds; k++)); do
    echo "compare-llama: round $((k + 1))/$rounds: llama-bench on $m" >&2
    if ! "$llama_bench" -m "$m" -p "$p" -n "$n" -t "$threads" -r "$reps" -o json >"$tmp/llama-$i-$k.json" 2>"$tmp/llama.log"; then
      cat "$tmp/llama.log" >&2
      exit 1
    fi
    echo "compare-llama: round $((k + 1))/$rounds: trident bench on $m" >&2
    plot=()
    if [[ -n ${PLOT:-} && $k -eq $((rounds - 1)) ]]; then
      out=$PLOT
      [[ $# -eq 1 ]] || out="${PLOT%.svg}-$(basename "$m" .gguf).svg"
      plot=(--plot "$out" --plot-llama "$tmp/llama-$i-$k.json")
    fi
    # shellcheck disable=SC2086  # TRIDENT_ARGS is a list of flags
    "$trident" bench -m "$m" -p "$p" -n "$n" -t "$threads" -r "$reps" ${TRIDENT_ARGS:-} "${plot[@]}" -o json \
      >"$tmp/trident-$i-$k.json"
  done
  i=$((i + 1))
done

commit=$(git -C "$llama_dir" rev-parse --short HEAD 2>/dev/null || true)
python3 - "$tmp" "$i" "$commit" "$rounds" <<'PY'
import json, os, statistics, sys

tmp, count, git_commit, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def load_rounds(engine, i):
    """Per round, the engine's rows; rows of the same test line up across rounds."""
    out = []
    for k in range(rounds):
        with open(os.path.join(tmp, f"{engine}-{i}-{k}.json")) as f:
            out.append(json.load(f))
    return out

def test_name(r):
    p, n = r["n_prompt"], r["n_gen"]
    return f"pp{p}" if n == 0 else f"tg{n}" if p == 0 else f"pp{p}+tg{n}"

rows, commits = [], set()
for i in range(count):
    llama_rounds, trident_rounds = load_rounds("llama", i), load_rounds("trident", i)
    for r in llama_rounds[0]:
        if r.get("build_commit") not in (None, "", "unknown"):  # "unknown": built without git
            commits.add(f'{r["build_commit"]} ({r.get("build_number", "?")})')
    # trident may run several fusion settings per test; each gets its own line.
    for j, t in enumerate(trident_rounds[0]):
        per_round = []  # (llama row, trident row) of each round
        for k in range(rounds):
            tk = trident_rounds[k][j]
            match = [r for r in llama_rounds[k] if r["n_prompt"] == tk["n_prompt"] and r["n_gen"] == tk["n_gen"]]
            per_round.append((match[0] if match else None, tk))
        l = per_round[0][0]
        rows.append({
            "model": os.path.basename(t["model_filename"]),
            "type": l["model_type"] if l else t["model_type"],
            "test": test_name(t),
            "fused": f'{t["fuse_qkv"]}/{t["fuse_gate_up"]}',
            "rounds": per_round,
        })

def ts(pairs, side):
    rs = [p[side] for p in pairs if p[side]]
    if not rs:
        return "-"
    avg = statistics.mean(r["avg_ts"] for r in rs)
    sd = statistics.mean(r["stddev_ts"] for r in rs) if len(rs) == 1 else statistics.stdev(r["avg_ts"] for r in rs)
    return f"{avg:.2f} ± {sd:.2f}"

def ratio(pairs):
    rs = [t["avg_ts"] / l["avg_ts"] for l, t in pairs if l and l["avg_ts"] > 0]
    if not rs:
        return "-"
    text = f"{statistics.median(rs):.3f}"
    return text + (" (" + ", ".join(f"{x:.2f}" for x in rs) + ")" if len(rs) > 1 else "")

head = ["model", "type", "test", "trident fused (qkv/gate-up)", "llama.cpp t/s", "trident t/s", "trident / llama.cpp"]
table = []
for r in rows:
    table.append([r["model"], r["type"], r["test"], r["fused"], ts(r["rounds"], 0), ts(r["rounds"], 1), ratio(r["rounds"])])
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
