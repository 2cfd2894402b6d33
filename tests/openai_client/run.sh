#!/usr/bin/env bash
# A real client against `trident serve`: installs the `openai` npm package under the build tree
# (kept there for later runs), starts the server on a free loopback port with stories260K, and
# runs client.mjs (a streamed chat completion equal to `trident run --temp 0` on the rendered
# prompt, a required tool call, a json_schema answer). Exit 77 (ctest's SKIP_RETURN_CODE) with
# the reason when node, npm or the registry is missing.
# Usage: run.sh TRIDENT MODEL TEMPLATE WORKDIR
set -u
trident=$1 model=$2 template=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }

command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' || skip "node >= 18 needed"
mkdir -p "$work"
if [ ! -f "$work/node_modules/openai/package.json" ]; then
  (cd "$work" && [ -f package.json ] || echo '{"private": true}' > package.json)
  timeout 10 npm ping --fetch-retries=0 --fetch-timeout=5000 >"$work/npm.log" 2>&1 ||
    skip "the npm registry is unreachable (offline?)"
  if ! (cd "$work" && timeout 60 npm install --no-audit --no-fund --loglevel=error --fetch-retries=1 openai >>npm.log 2>&1); then
    skip "npm install openai failed: $(grep -m1 -i err "$work/npm.log")"
  fi
fi
cp "$here/client.mjs" "$work/client.mjs"

# What the template renders for the one user message, with \n escaped for `run -p`.
prompt='<|im_start|>user\nTell me a story.<|im_end|>\n<|im_start|>assistant\n'
expected=$("$trident" run -m "$model" -p "$prompt" --temp 0 -n 24 --json |
           node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0, "utf8")).text)') ||
  { echo "trident run failed"; exit 1; }

log="$work/serve.log"
"$trident" serve -m "$model" --chat-template "$template" --host 127.0.0.1 --port 0 -c 512 -t 1 --api-key sekret \
  2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
  [ -n "$port" ] && break
  kill -0 $pid 2>/dev/null || { echo "trident serve exited:"; cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "trident serve did not start"; cat "$log"; exit 1; }

cd "$work" && BASE_URL="http://127.0.0.1:$port/v1" EXPECTED="$expected" timeout 40 node client.mjs
