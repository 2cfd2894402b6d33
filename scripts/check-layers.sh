#!/usr/bin/env bash
# Fails if a source file includes a header from a layer to its right (docs/architecture.md).
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A allowed=(
  [format]="format"
  [tensor]="format tensor"
  [kernels]="format tensor kernels"
  [tokenizer]="format tokenizer"
  [grammar]="format tensor tokenizer grammar"
  [chat]="format tokenizer chat"
  [model]="format tensor kernels tokenizer model"
  [runtime]="format tensor kernels tokenizer model runtime"
  [convert]="format tensor kernels tokenizer model convert"
  [api]="format tensor kernels tokenizer grammar model runtime chat api"
  [server]="format tensor kernels tokenizer model runtime api server"
  [cli]="format tensor kernels tokenizer grammar model runtime convert chat api server cli"
)
bad=0
for layer in "${!allowed[@]}"; do
  [ -d "src/$layer" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$line")
    case " ${allowed[$layer]} " in
      *" $inc "*) ;;
      *) echo "layering: $file includes $inc/ (src/$layer may include: ${allowed[$layer]})"; bad=1 ;;
    esac
  done < <(grep -HE '^#include "[a-z_]+/' -r "src/$layer" || true)
done
[ $bad -eq 0 ] && echo "layering: ok"
exit $bad
