#!/usr/bin/env bash
# Builds the fuzz targets and runs them with libFuzzer.
#
#   fuzz/run.sh [-t SECONDS] [-j JOBS] [TARGET...]
#                                          fuzz each TARGET (default: all) for SECONDS
#                                          (default $FUZZ_SECONDS, else 60), JOBS targets
#                                          at a time (default 1; one per core is the most
#                                          that helps)
#   fuzz/run.sh --build                    only build
#   fuzz/run.sh --replay TARGET FILE...    run inputs once (a crash, a regression)
#   fuzz/run.sh --minimize TARGET FILE     shrink a crashing input for SECONDS (libFuzzer
#                                          -minimize_crash); prints the smallest file
#
# Per target: the inputs kept in fuzz/regressions/TARGET are replayed first (each must
# pass), then the committed seeds (fuzz/corpus-seed/TARGET) and the regressions are
# copied into the working corpus fuzz/corpus/TARGET (kept between runs, not
# committed) and libFuzzer runs for SECONDS with the target's dictionary. A crash or
# a failed check leaves its input in fuzz/artifacts/TARGET/ and the log in
# fuzz/target/logs/TARGET.log. One summary line per target ends the output; the exit
# status is non-zero if any target failed.
#
# Built with plain cargo and the flags cargo-fuzz 0.13 uses (sancov, ASan, debug
# assertions), plus overflow checks, on the stable toolchain with RUSTC_BOOTSTRAP=1;
# fuzz/ is a cargo-fuzz layout, so `cargo fuzz run TARGET` works too (fuzz/setup.sh
# --cargo-fuzz installs it). Extra libFuzzer flags: FUZZ_ARGS="-use_value_profile=1".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ALL_TARGETS=(operation location timestamp batch_answer)
seconds=${FUZZ_SECONDS:-60}
mode=fuzz
jobs=1

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    -t) [ "$#" -ge 2 ] || usage; seconds=$2; shift 2 ;;
    -j) [ "$#" -ge 2 ] || usage; jobs=$2; shift 2 ;;
    --build) mode=build; shift ;;
    --replay) mode=replay; shift ;;
    --minimize) mode=minimize; shift ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- ${args[@]+"${args[@]}"}
case "$seconds" in ''|*[!0-9]*) echo "fuzz/run.sh: SECONDS must be a whole number" >&2; exit 2 ;; esac
case "$jobs" in ''|0|*[!0-9]*) echo "fuzz/run.sh: JOBS must be a whole number from 1" >&2; exit 2 ;; esac

is_target() { local t; for t in "${ALL_TARGETS[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

"$here/setup.sh"

host=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${CARGO_TARGET_DIR:-$here/target}
bin_dir=$target_dir/$host/release
logs=$target_dir/logs
mkdir -p "$logs"

build() {
  local flags=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    -Cllvm-args=-sanitizer-coverage-stack-depth
    -Cllvm-args=-simplifycfg-branch-fold-threshold=0
    --cfg fuzzing
    -Zsanitizer=address
    -Cdebug-assertions
    -Coverflow-checks
    -Ccodegen-units=1
    -Cforce-frame-pointers
  )
  local start=$SECONDS
  echo "fuzz: building ${ALL_TARGETS[*]} (sancov + ASan, release)"
  # --target: the flags reach the targets, not build scripts and proc macros.
  RUSTC_BOOTSTRAP=1 \
    RUSTFLAGS="${flags[*]} ${RUSTFLAGS:-}" \
    cargo build --manifest-path "$here/Cargo.toml" --target "$host" --release \
      --config 'profile.release.debug="line-tables-only"' --bins
  echo "fuzz: build took $((SECONDS - start)) s"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}

max_len() {
  case "$1" in
    operation) echo 4096 ;;
    location) echo 512 ;;
    timestamp) echo 64 ;;
    batch_answer) echo 8192 ;;
  esac
}

# Runs the given inputs once each; fails on the first that fails.
replay() {
  local t=$1; shift
  [ "$#" -gt 0 ] || return 0
  "$bin_dir/$t" -runs=1 "$@"
}

case "$mode" in
  replay) if [ "$#" -lt 2 ] || ! is_target "$1"; then usage; fi ;;
  minimize) if [ "$#" -ne 2 ] || ! is_target "$1"; then usage; fi ;;
esac

build
[ "$mode" = build ] && exit 0

if [ "$mode" = replay ]; then
  replay "$@"
  exit
fi

if [ "$mode" = minimize ]; then
  t=$1
  out=$here/artifacts/$t/minimized-$(basename "$2")
  mkdir -p "$here/artifacts/$t"
  "$bin_dir/$t" -minimize_crash=1 -max_total_time="${seconds}" -exact_artifact_path="$out" \
    -dict="$here/dict/$t.dict" "$2" >"$logs/$t.minimize.log" 2>&1 || true
  [ -f "$out" ] || { echo "fuzz: nothing minimized (does $2 crash?), see $logs/$t.minimize.log" >&2; exit 1; }
  echo "fuzz: minimized $2 ($(wc -c <"$2") bytes) to $out ($(wc -c <"$out") bytes)"
  exit 0
fi

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do is_target "$t" || { echo "fuzz/run.sh: no target $t (${ALL_TARGETS[*]})" >&2; exit 2; }; done

# JOBS at a time: the targets dealt into JOBS groups, each group a run of this
# script in the background (the build above is then a no-op for them); their
# outputs follow one another once all have ended, and any failure fails the run.
if [ "$jobs" -gt 1 ] && [ "${#targets[@]}" -gt 1 ]; then
  pids=()
  outs=()
  for ((j = 0; j < jobs && j < ${#targets[@]}; j++)); do
    group=()
    for ((i = j; i < ${#targets[@]}; i += jobs)); do group+=("${targets[i]}"); done
    out=$logs/group-$j.out
    "$0" -t "$seconds" "${group[@]}" >"$out" 2>&1 &
    pids+=("$!")
    outs+=("$out")
  done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  grep -hv '^fuzz: building\|^fuzz: build took\|^ *\(Compiling\|Finished\|Blocking\)' "${outs[@]}" || true
  exit "$failed"
fi

summary=()
failed=0
for t in "${targets[@]}"; do
  seeds=$here/corpus-seed/$t
  regressions=$here/regressions/$t
  corpus=$here/corpus/$t
  artifacts=$here/artifacts/$t
  log=$logs/$t.log
  mkdir -p "$corpus" "$artifacts"

  # Known crashes first: each must now pass.
  mapfile -t kept < <(find "$regressions" -type f ! -name '*.md' 2>/dev/null | sort)
  still=()
  : >"$logs/$t.regressions.log"
  for input in ${kept[@]+"${kept[@]}"}; do
    if ! replay "$t" "$input" >"$logs/$t.last-replay.log" 2>&1; then
      still+=("$(basename "$input")")
      echo "fuzz: $t: kept regression $input still fails:" >&2
      { grep -A1 -m1 "panicked at" "$logs/$t.last-replay.log" || grep -m3 "ERROR\|SUMMARY" "$logs/$t.last-replay.log"; } | cut -c1-400 | sed 's/^/    /' >&2 || true
    fi
    cat "$logs/$t.last-replay.log" >>"$logs/$t.regressions.log"
  done
  if [ "${#still[@]}" -gt 0 ]; then
    summary+=("fuzz: $t: FAILED ${#still[@]} of ${#kept[@]} kept regressions (fuzz/regressions/$t: ${still[*]}); not fuzzed")
    failed=1
    continue
  fi

  cp -f "$seeds"/* "$corpus"/
  [ "${#kept[@]}" -gt 0 ] && cp -f "${kept[@]}" "$corpus"/

  echo "fuzz: $t for ${seconds} s ($(find "$corpus" -type f | wc -l) inputs in fuzz/corpus/$t)"
  status=0
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
  "$bin_dir/$t" "$corpus" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
    -dict="$here/dict/$t.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    ${FUZZ_ARGS:-} >"$log" 2>&1 || status=$?

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    # No final stats (a crash): the last progress line's count, if any (sed, not
    # grep: no match must not end the script under set -e before its summary).
    execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  fi
  execs=${execs:-0}
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  size=$(find "$corpus" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    summary+=("fuzz: $t: ok, $execs execs in ${took:-$seconds} s (${rate:-?}/s), corpus $size inputs")
  else
    failed=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    { grep -E "panicked at|^thread '|ERROR: AddressSanitizer|ERROR: libFuzzer|SUMMARY:" "$log" || tail -n 3 "$log"; } | head -n 8 >&2 || true
    summary+=("fuzz: $t: FAILED (exit $status) after $execs execs; input: ${artifact:-none written}; log: $log")
    if [ -n "$artifact" ]; then
      summary+=("      reproduce: fuzz/run.sh --replay $t $artifact; shrink: fuzz/run.sh --minimize $t $artifact")
    fi
  fi
done

printf '%s\n' "${summary[@]}"
exit "$failed"
