#!/usr/bin/env bash
# Installs the Debian packages trident's build and tests need, only those missing.
set -euo pipefail
pkgs=(g++ cmake ninja-build make pkg-config nlohmann-json3-dev libcli11-dev libfmt-dev
      libpcre2-dev libgtest-dev libbenchmark-dev libcpp-httplib-dev)
# scripts/fuzz.sh builds with clang and libFuzzer: `install-deps.sh fuzz` adds them.
[ "${1:-}" = fuzz ] && pkgs+=(clang libclang-rt-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
