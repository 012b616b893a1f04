#!/usr/bin/env bash
# Installs the Debian packages that `make test`, `make demo` and `make bench` need.
# Idempotent: packages already present are not fetched again. Needs root or sudo.
set -euo pipefail

packages=(
  build-essential pkg-config curl  # C/C++ callers, pkg-config install test, demo, README's recipes
  python3                      # the benchmark driver, teamsop-get's --json checks
  cmake                        # find_package(teamsop) install test
  valgrind                     # memcheck over the C test programs
  mono-mcs mono-runtime libmono-system-core4.0-cil   # .NET binding tests (mcs + mono)
  libcurl4-openssl-dev libcjson-dev  # the benchmark's hand-written peer
  clang libclang-rt-14-dev llvm      # AddressSanitizer build of the C tests
)
[ "$#" -gt 0 ] && packages=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
