#!/usr/bin/env bash
# Runs README.md as a newcomer would, in a fresh copy of the repository: make
# readme-test (part of make test).
#
#   scripts/readme-test.sh [--steps-only] [--keep]
#
# 1. README's Testing table names the steps of `make test-steps`, in order.
# 2. A fresh copy of the repository: HEAD (git archive) with the working tree's
#    uncommitted changes and untracked files on top (on CI, a clean clone: HEAD
#    alone), in <cargo's target directory>/readme-test/tree, rebuilt each run (a
#    fixed place, so that cargo's units for it stay the same from run to run; its
#    two crates are compiled again each run, their dependencies are not).
# 3. In it, with CARGO_TARGET_DIR set to this repository's target directory and
#    no target/ of its own: `make demo c-static-test` (every path of the Makefile
#    and scripts must follow cargo's target directory).
# 4. In it, every command block README.md marks as a recipe, as written, in
#    document order, in one bash (set -euo pipefail; each command is echoed):
#      <!-- recipe -->              before a ```sh block: its commands are run
#      <!-- recipe-file: PATH -->   before any fenced block: its text is written
#                                   to PATH (relative to the copy's root) first
#    with target/ a link to this repository's target directory (a warm build
#    cache; the sources are the fresh copy's), HOME an empty temporary directory
#    (CARGO_HOME and RUSTUP_HOME kept), and none of TEAMSOP_*, LD_LIBRARY_PATH,
#    PKG_CONFIG_PATH, CARGO_TARGET_DIR or make's variables from outside. The
#    recipes run in a process group of their own, killed at the end (they start
#    the emulator in the background). The link libteamsop.so.0 of the release
#    directory is removed first: `make release` must make it.
#
# The copy builds the same sources into the same target directory as this
# repository (cdylib outputs have fixed names): what it leaves there is what this
# repository would build. --steps-only does step 1 only; --keep keeps the copy
# and the temporary HOME. Exit status 0 when everything passed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
steps_only=0 keep=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --steps-only) steps_only=1; shift ;;
    --keep) keep=1; shift ;;
    *) echo "readme-test: unknown option $1" >&2; exit 64 ;;
  esac
done
make_cmd=${MAKE:-make}
# A make of our own, as a user's shell would run it: no flags from a parent make.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
say() { echo "readme-test: $*"; }
fail() { echo "readme-test: FAIL: $*" >&2; exit 1; }

# ------------------------------------------------------------ 1. the steps table

want=$("$make_cmd" --no-print-directory -s test-steps)
# The first cell of each row of the table under "## Testing" whose header is
# "| step |": every `name` in it, in order.
got=$(awk '
  /^## / { in_testing = ($0 == "## Testing") }
  in_testing && /^\| step \|/ { in_table = 1; next }
  in_table && !/^\|/ { in_table = 0 }
  in_table && /^\|---/ { next }
  in_table {
    split($0, cells, "|")
    cell = cells[2]
    while (match(cell, /`[^`]+`/)) {
      printf "%s ", substr(cell, RSTART + 1, RLENGTH - 2)
      cell = substr(cell, RSTART + RLENGTH)
    }
  }' README.md | sed 's/ $//')
if [ "$got" != "$want" ]; then
  echo "readme-test: README.md's Testing table lists:" >&2
  echo "  $got" >&2
  echo "but make test-steps runs:" >&2
  echo "  $want" >&2
  fail "update the table in README.md (one row per step or group of steps, in that order)"
fi
say "README.md's Testing table lists make test's $(wc -w <<<"$want") steps, in order"
[ "$steps_only" = 0 ] || exit 0

# ------------------------------------------------------------ 2. a fresh copy

target_dir=$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"\\]*\)".*/\1/p')
[ -n "$target_dir" ] || fail "cannot ask cargo for its target directory"
work=$target_dir/readme-test
tree=$work/tree
home=$work/home
mkdir -p "$work"
# One run at a time per target directory (it may be shared by several checkouts).
exec 9>"$work/lock"
flock -n 9 || { say "waiting for another readme-test using $work"; flock 9; }
rm -rf "$tree" "$home"
mkdir -p "$tree" "$home"
cleanup() {
  local status=$?
  rm -f "$tree/target"
  if [ "$keep" = 1 ]; then
    say "kept $tree and $home"
  else
    rm -rf "$tree" "$home"
  fi
  exit "$status"
}
trap cleanup EXIT

head=$(git rev-parse --short HEAD)
# tar -m: every file is new (cargo judges freshness by modification times, and
# git archive's are the commit's, which may be older than what it built last).
git archive --format=tar HEAD | tar -x -m -C "$tree"
# The working tree's state on top: changed and untracked files copied as they are
# (modes and links kept), deleted ones removed.
: >"$work/present"
changed=0 untracked=0
while IFS= read -r -d '' f; do
  changed=$((changed + 1))
  if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f" >>"$work/present"; else rm -f "$tree/$f"; fi
done < <(git diff -z --name-only --no-renames HEAD)
while IFS= read -r -d '' f; do
  untracked=$((untracked + 1))
  printf '%s\0' "$f" >>"$work/present"
done < <(git ls-files -z --others --exclude-standard)
if [ -s "$work/present" ]; then
  tar --null -T "$work/present" -c | tar -x -m -C "$tree"
fi
[ ! -e "$tree/target" ] && [ ! -e "$tree/out" ] || fail "the copy has a target/ or out/"
for f in README.md Makefile; do cmp -s "$f" "$tree/$f" || fail "the copy's $f is not the working tree's"; done
say "a fresh copy of $head, $changed changed and $untracked untracked file(s), in $tree"

# The environment of a newcomer's shell.
clean_env=(env -u LD_LIBRARY_PATH -u PKG_CONFIG_PATH -u PKG_CONFIG_SYSROOT_DIR -u CARGO_TARGET_DIR
  "CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}" "RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}" "HOME=$home")
while IFS= read -r name; do clean_env+=(-u "$name"); done < <(env | sed -n 's/^\(TEAMSOP_[A-Za-z0-9_]*\)=.*/\1/p')

# ------------------------------------------------------------ 3. CARGO_TARGET_DIR

say "in the copy: CARGO_TARGET_DIR=$target_dir make demo c-static-test"
(cd "$tree" && "${clean_env[@]}" CARGO_TARGET_DIR="$target_dir" "$make_cmd" --no-print-directory demo c-static-test) ||
  fail "make demo c-static-test with CARGO_TARGET_DIR set, in a copy without target/"
[ ! -e "$tree/target" ] || fail "make wrote into target/ although CARGO_TARGET_DIR is set"
rm -rf "$tree/out"

# ------------------------------------------------------------ 4. the recipes

# Writes the recipe files into the copy and the recipe script to $1.
extract() {
  awk -v tree="$tree" -v script="$1" '
    function fail(msg) { printf "README.md:%d: %s\n", NR, msg > "/dev/stderr"; bad = 1; exit 1 }
    mode == "" && /^<!-- recipe -->$/ { mode = "want-sh"; next }
    mode == "" && /^<!-- recipe-file: [^ ]+ -->$/ {
      file = $3
      if (file ~ /^\// || file ~ /\.\./) fail("recipe-file must be a path inside the repository")
      mode = "want-file"; next
    }
    mode == "want-sh" {
      if ($0 != "```sh") fail("<!-- recipe --> must come right before a ```sh block")
      mode = "sh"; blocks++; printf "\n# README.md, line %d\n", NR + 1 > script; next
    }
    mode == "want-file" {
      if ($0 !~ /^```/) fail("<!-- recipe-file --> must come right before a fenced block")
      mode = "file"; path = tree "/" file; printf "" > path; files++; next
    }
    (mode == "sh" || mode == "file") && /^```$/ {
      if (mode == "file") close(path)
      mode = ""; next
    }
    mode == "sh" { print > script; next }
    mode == "file" { print > path; next }
    END {
      if (bad) exit 1
      if (mode != "") fail("unterminated recipe block")
      printf "%d %d\n", blocks, files
    }' "$tree/README.md"
}
read -r blocks files < <(extract "$work/recipes.sh") || fail "cannot read the recipes of README.md"
[ "$blocks" -gt 0 ] || fail "README.md marks no recipe"
say "README.md: $blocks recipe block(s), $files file(s); running them in the copy (HOME=$home)"

ln -s "$target_dir" "$tree/target"
rm -f "$target_dir/release/libteamsop.so.0"
(
  cd "$tree"
  exec setsid "${clean_env[@]}" timeout 1800 bash -euo pipefail -x "$work/recipes.sh"
) &
pid=$!
status=0
wait "$pid" || status=$?
# The recipes' own processes (the emulator), if a recipe failed before stopping them.
kill -TERM -- "-$pid" 2>/dev/null || true
[ "$status" -eq 0 ] || fail "a recipe of README.md failed (exit status $status; the commands are above)"
say "passed: the steps table, make demo c-static-test with CARGO_TARGET_DIR, and $blocks recipe block(s)"
