#!/usr/bin/env bash
# Runs one libFuzzer target: scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags]
# Targets: fuzz/*.cpp (gguf_load gguf_roundtrip safetensors_header hf_json tokenizer chat_template grammar_parse
# recurrent_state seq_file server_request).
# Builds with clang, ASan+UBSan and libFuzzer in build-fuzz/, starts from fuzz/corpus/TARGET/
# and writes new inputs to build-fuzz/corpus-TARGET/ (merge the useful ones back by hand, small).
# Crashes, leaks and inputs slower than 1 s are written to build-fuzz/artifacts-TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
shift 2
[ -f "fuzz/$target.cpp" ] || { echo "fuzz.sh: no target fuzz/$target.cpp" >&2; exit 1; }
bash scripts/install-deps.sh fuzz
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DTRIDENT_FUZZ=ON -DTRIDENT_TESTS=OFF -DTRIDENT_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "fuzz_$target" -j "$(nproc)"
mkdir -p "build-fuzz/corpus-$target" "build-fuzz/artifacts-$target"
dict=()
[ -f "fuzz/$target.dict" ] && dict=(-dict="fuzz/$target.dict")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exec "build-fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="build-fuzz/artifacts-$target/" "${dict[@]}" "$@" "build-fuzz/corpus-$target" "fuzz/corpus/$target"
