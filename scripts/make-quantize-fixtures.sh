#!/usr/bin/env bash
# Records llama-quantize's per-tensor choices (type, and the first 16 hex digits of each tensor's
# sha256) for every mix on the tiny golden models, with and without an importance matrix, as
# tests/data/quantize/types-<model>[-imatrix].json (tests/quantize_mix_test.cpp reads them).
#
#   scripts/make-quantize-fixtures.sh LLAMA_CPP_BIN_DIR [IMATRIX_FOR_LLAMA IMATRIX_FOR_QWEN3]
#
# Runs `llama-quantize [--imatrix F] IN OUT MIX` for each mix; a mix llama-quantize refuses
# (those needing an importance matrix, when none is given) is left out of that file. Types and
# digests are read with scripts/gguf_tensor_types.py (gguf-py's fields, without numpy).
set -euo pipefail
BIN=$1
cd "$(dirname "$0")/.."
G=../shared/golden/models
OUT=tests/data/quantize
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
MIXES="Q1_0 Q2_0 Q4_0 Q4_1 MXFP4_MOE Q5_0 Q5_1 IQ2_XXS IQ2_XS IQ2_S IQ2_M IQ1_S IQ1_M TQ1_0 TQ2_0 Q2_K Q2_K_S
IQ3_XXS IQ3_S IQ3_M IQ3_XS Q3_K_S Q3_K_M Q3_K_L IQ4_NL IQ4_XS Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K Q8_0 F16 BF16 F32"
run() {  # model suffix imatrix
  local model=$1 suffix=$2 im=$3
  local json="$OUT/types-$model$suffix.json"
  echo "{" > "$TMP/all"
  local first=1
  for mix in $MIXES; do
    local args=()
    [ -n "$im" ] && args=(--imatrix "$im")
    if ! "$BIN/llama-quantize" "${args[@]}" "$G/$model-f32.gguf" "$TMP/q.gguf" "$mix" 1 > "$TMP/log" 2>&1; then
      echo "$model$suffix $mix: refused by llama-quantize ($(grep -m1 -iE 'error|imatrix' "$TMP/log" || true))"
      continue
    fi
    [ $first -eq 1 ] || echo "," >> "$TMP/all"
    first=0
    printf '"%s": ' "$(tr 'A-Z' 'a-z' <<<"$mix")" >> "$TMP/all"
    python3 scripts/gguf_tensor_types.py "$TMP/q.gguf" --sha256 | python3 -c '
import json, sys
j = json.load(sys.stdin)
for t in j["tensors"].values():
    t["sha256"] = t["sha256"][:16]
print(json.dumps(j, sort_keys=True))' >> "$TMP/all"
  done
  echo "}" >> "$TMP/all"
  python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), indent=0, sort_keys=True)' "$TMP/all" "$json"
  echo "wrote $json"
}
run tiny-llama "" ""
run tiny-qwen3 "" ""
if [ $# -ge 3 ]; then
  run tiny-llama -imatrix "$2"
  run tiny-qwen3 -imatrix "$3"
fi
