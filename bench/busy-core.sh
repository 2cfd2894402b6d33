#!/usr/bin/env bash
# Decode speed of `trident run` with and without another process busy on one core (issue 18).
#
#   bench/busy-core.sh MODEL.gguf [MODEL.gguf ...]
#
# For each model, ROUNDS rounds; each round runs every case once, in turn, so host drift hits
# all cases alike. Cases: `-t 1` and `-t 2` of $TRIDENT with a busy loop pinned to core
# $BUSY_CORE (a `while :; do :; done` bash loop under `taskset`, started before and killed
# after each busy case), and, without the loop, `-t 2` of $TRIDENT and of $BASE (another build,
# e.g. main's) when BASE is set. Prints each case's per-round tok/s, the median, and the ratios
# the acceptance asks for (medians of per-round ratios).
#
# Environment: TRIDENT (default build/trident), BASE (unset: skip the comparison), ROUNDS (5),
# N (tokens to generate, 200), BUSY_CORE (0), LIMIT (seconds after which every busy loop dies
# on its own, 1800, in case this script is killed before its trap runs).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 MODEL.gguf [MODEL.gguf ...]" >&2; exit 1; }
TRIDENT=${TRIDENT:-build/trident}
BASE=${BASE:-}
ROUNDS=${ROUNDS:-5}
N=${N:-200}
BUSY_CORE=${BUSY_CORE:-0}
LIMIT=${LIMIT:-1800}

busy_pid=""
stop_busy() {
  if [ -n "$busy_pid" ]; then
    kill "$busy_pid" 2>/dev/null || true
    wait "$busy_pid" 2>/dev/null || true
    busy_pid=""
  fi
}
trap stop_busy EXIT INT TERM
start_busy() {
  taskset -c "$BUSY_CORE" timeout "$LIMIT" bash -c 'while :; do :; done' &
  busy_pid=$!
  sleep 0.2  # let the scheduler place it
}

# tok/s of one generation (trident run --json: timings.gen_tps).
gen_tps() {
  local bin=$1 model=$2 threads=$3
  "$bin" run -m "$model" -p "Once upon a time" -n "$N" --temp 0 --ignore-eos -t "$threads" --json 2>/dev/null |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["timings"]["gen_tps"], 2))'
}

echo "# $(date -u +%FT%TZ) load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; N=$N ROUNDS=$ROUNDS"
for model in "$@"; do
  declare -A runs=()
  cases=("busy t1" "busy t2")
  [ -n "$BASE" ] && cases+=("idle t2" "idle base-t2") || cases+=("idle t2")
  for ((r = 1; r <= ROUNDS; r++)); do
    for c in "${cases[@]}"; do
      read -r mode what <<<"$c"
      bin=$TRIDENT
      threads=${what#*t}
      [ "${what%%-*}" = base ] && bin=$BASE
      [ "$mode" = busy ] && start_busy
      v=$(gen_tps "$bin" "$model" "$threads")
      stop_busy
      runs[$c]+="$v "
    done
  done
  echo "## $(basename "$model")"
  for c in "${cases[@]}"; do echo "$c: ${runs[$c]}"; done | python3 -c '
import sys, statistics as st
rows = {}
for line in sys.stdin:
    name, vals = line.split(":")
    rows[name] = [float(v) for v in vals.split()]
for name, v in rows.items():
    print(f"{name:14s} median {st.median(v):9.1f} tok/s   rounds: {v}")
def ratio(a, b):
    if a in rows and b in rows:
        per = [x / y for x, y in zip(rows[a], rows[b])]
        print(f"{a} / {b}: median {st.median(per):.3f}  (min {min(per):.3f}; rounds {[round(p, 3) for p in per]})")
ratio("busy t2", "busy t1")
ratio("idle t2", "idle base-t2")
'
  unset runs
done
