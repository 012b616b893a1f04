#!/usr/bin/env bash
# Checks (and where it can, brings) what the fuzz targets need; called by fuzz/run.sh,
# so `make fuzz` and `make fuzz-smoke` work on a clean machine.
#
#   fuzz/setup.sh               check the toolchain: stable rustc + RUSTC_BOOTSTRAP=1
#                               must accept -Zsanitizer=address and link the ASan
#                               runtime; a C++ compiler must build libFuzzer.
#   fuzz/setup.sh --cargo-fuzz  also install cargo-fuzz (pinned) into target/tools,
#                               for `cargo fuzz tmin|cmin|coverage` by hand. Not needed
#                               by run.sh, which builds the same targets with plain cargo.
#
# Only one stable toolchain exists here; RUSTC_BOOTSTRAP=1 unlocks the -Z flags
# that fuzzing needs (sanitizer, sancov). Nothing is downloaded unless asked.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
CARGO_FUZZ_VERSION=0.13.2
TOOLS=${TEAMSOP_TOOLS:-$root/target/tools}

die() { echo "fuzz/setup.sh: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found (install a stable Rust toolchain)"
command -v rustc >/dev/null || die "rustc not found"
command -v "${CXX:-c++}" >/dev/null || die "no C++ compiler (${CXX:-c++}) to build libFuzzer: run .ci/install-deps.sh (build-essential)"

# -Zsanitizer=address on stable, through RUSTC_BOOTSTRAP: compile and link a tiny program.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'fn main() { let v = vec![1u8]; std::hint::black_box(&v); }' >"$probe/p.rs"
if ! RUSTC_BOOTSTRAP=1 rustc -Zsanitizer=address -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 -o "$probe/p" "$probe/p.rs" 2>"$probe/err"; then
  cat "$probe/err" >&2
  die "rustc $(rustc -V | cut -d' ' -f2) cannot build with -Zsanitizer=address under RUSTC_BOOTSTRAP=1"
fi
"$probe/p" || die "an ASan-instrumented program does not run here"

if [ "${1:-}" = "--cargo-fuzz" ]; then
  have=$("$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" != "$CARGO_FUZZ_VERSION" ]; then
    echo "fuzz/setup.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS (about 1-2 min)"
    start=$(date +%s)
    cargo install cargo-fuzz --version "=$CARGO_FUZZ_VERSION" --locked --root "$TOOLS" --quiet
    echo "fuzz/setup.sh: cargo-fuzz installed in $(( $(date +%s) - start )) s"
  fi
  echo "fuzz/setup.sh: use it as: RUSTC_BOOTSTRAP=1 $TOOLS/bin/cargo-fuzz run --fuzz-dir fuzz TARGET"
fi
