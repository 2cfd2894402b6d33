#!/usr/bin/env bash
# Makes the family references of tests/data/archs (see its README) for the named
# test-llama-archs files: a skeleton of DIR/NAME.gguf, the seed-7 model synth fills it with, and
# llama.cpp's prompt logits on that model from DUMP_LOGITS, our small libllama program (built
# outside this repository: one thread, F32 K/V cache, flash attention off, n_ctx 512).
#
# With DUMP_GREEDY set (our libllama program printing N greedy steps of one token each, same
# settings), the fixture also stores llama.cpp's 32 greedy ids as `greedy_ids`, which
# tests/arch_reference_test.cpp compares with trident's decoding.
#
# Usage: [DUMP_GREEDY=PATH] scripts/make-arch-fixture.sh TRIDENT DUMP_LOGITS DIR NAME...
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 TRIDENT DUMP_LOGITS DIR NAME..." >&2; exit 1; }
trident=$1 dump=$2 dir=$3
shift 3
out=$(cd "$(dirname "$0")/../tests/data/archs" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prompt=1,17,42,99,5,64,23,120,7,88,31,2,77,54,13,101
for name in "$@"; do
  "$trident" synth --force --skeleton-of "$dir/$name.gguf" -o "$out/$name.skel.gguf" > /dev/null
  "$trident" synth --from-skeleton "$out/$name.skel.gguf" --seed 7 -o "$tmp/$name.gguf" > /dev/null
  "$dump" "$tmp/$name.gguf" "$prompt" 2> /dev/null > "$tmp/$name.json"
  echo '{}' > "$tmp/$name.greedy.json"
  if [ -n "${DUMP_GREEDY:-}" ]; then "$DUMP_GREEDY" "$tmp/$name.gguf" "$prompt" 32 2> /dev/null > "$tmp/$name.greedy.json"; fi
  python3 - "$tmp/$name.json" "$out/$name.json" "$name" "$tmp/$name.greedy.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ref = {"model": sys.argv[3] + ".skel.gguf", "seed": 7, "llama_cpp_commit": "3f545bec",
       "prompt_ids": d["prompt_ids"], "prompt_logits": d["prompt_logits"]}
g = json.load(open(sys.argv[4]))
if "generated" in g:
    ref["greedy_ids"] = g["generated"]
json.dump(ref, open(sys.argv[2], "w"), separators=(",", ":"))
PY
  echo "$name: $out/$name.json"
done
