#!/usr/bin/env bash
# Serving throughput side by side: `trident serve -np 1`, `trident serve -np N` and llama.cpp's
# `llama-server -np N` on the same GGUF, each loaded by scripts/serve-load.py (CLIENTS streaming
# clients for RUN_SECONDS), alternately ROUNDS times; prints each run and the ratios of the medians.
#
# Usage: bench/serve-compare.sh LLAMA_BUILD_DIR MODEL
#   LLAMA_BUILD_DIR  folder holding llama-server (e.g. ~/llama.cpp/build/bin)
# Environment (defaults in brackets):
#   TRIDENT [<repo>/build/trident]  THREADS [2]  NP [8]  CTX [4096: shared by the slots, both engines]
#   CLIENTS [16]  RUN_SECONDS [60]  MAX_TOKENS [64]  ROUNDS [3]  PORT [18080]
# Needs bash and python3; loopback only.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
llama_dir=$1
model=$2
repo=$(cd "$(dirname "$0")/.." && pwd)
trident=${TRIDENT:-$repo/build/trident}
llama_server="$llama_dir/llama-server"
[[ -x $llama_server ]] || { echo "serve-compare: no executable llama-server in $llama_dir" >&2; exit 1; }
[[ -x $trident ]] || { echo "serve-compare: no trident binary at $trident (set TRIDENT)" >&2; exit 1; }
[[ -f $model ]] || { echo "serve-compare: no such model file: $model" >&2; exit 1; }
threads=${THREADS:-2}
np=${NP:-8}
ctx=${CTX:-4096}
clients=${CLIENTS:-16}
seconds=${RUN_SECONDS:-60}
max_tokens=${MAX_TOKENS:-64}
rounds=${ROUNDS:-3}
port=${PORT:-18080}
export LD_LIBRARY_PATH="$llama_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

tmp=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_ready() {
  for _ in $(seq 1 600); do
    if python3 -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=2).status == 200 else 1)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; return 1; }
    sleep 0.5
  done
  echo "serve-compare: the server did not become ready" >&2
  return 1
}

# run NAME COMMAND...: starts the server, loads it, stops it; appends "NAME tok/s" to results.
run() {
  local name=$1
  shift
  port=$((port + 1))  # a fresh port each run: the last server's may linger in TIME_WAIT
  "${@//@PORT@/$port}" >"$tmp/server.log" 2>&1 &
  server_pid=$!
  wait_ready
  local line
  line=$(python3 "$repo/scripts/serve-load.py" "http://127.0.0.1:$port" --clients "$clients" \
    --seconds "$seconds" --max-tokens "$max_tokens" --json) || { echo "serve-compare: $name: $line" >&2; }
  echo "$name $line" >&2
  echo "$name $(python3 -c "import json,sys; print(json.loads(sys.argv[1])['tok_per_s'])" "$line")" >>"$tmp/results"
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

for ((k = 1; k <= rounds; k++)); do
  echo "serve-compare: round $k/$rounds" >&2
  run "trident-np$np" "$trident" serve -m "$model" --port @PORT@ -np "$np" -c "$ctx" -t "$threads"
  run "llama-server-np$np" "$llama_server" -m "$model" --port @PORT@ -np "$np" -c "$ctx" -t "$threads" \
    --metrics --no-webui
  run "trident-np1" "$trident" serve -m "$model" --port @PORT@ -np 1 -c "$((ctx / np))" -t "$threads"
done

python3 - "$tmp/results" "$np" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, v = line.split()
    runs.setdefault(name, []).append(float(v))
np = sys.argv[2]
print("| server | tok/s per round | median |")
print("|---|---|---|")
med = {}
for name, vs in runs.items():
    med[name] = statistics.median(vs)
    print(f"| {name} | {', '.join(f'{v:.1f}' for v in vs)} | {med[name]:.1f} |")
t8, t1, l8 = med.get(f"trident-np{np}"), med.get("trident-np1"), med.get(f"llama-server-np{np}")
if t8 and t1:
    print(f"\ntrident -np {np} / -np 1: {t8 / t1:.2f}x")
if t8 and l8:
    print(f"trident -np {np} / llama-server -np {np}: {t8 / l8:.2f}x")
EOF
