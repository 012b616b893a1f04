#!/usr/bin/env bash
# tests/install/run.sh: `make install` as a packager and as a user would, then
# builds tests/install/app.c against the installed files only and runs it
# against the emulator.
#
# 1. Staged:  make install PREFIX=/usr DESTDIR=$tmp/stage; checks the tree (file
#    names, symlinks, SONAME, no staging path written into any file, bin/teamsop-get
#    without RUNPATH and working: --help, usage errors, --json), then builds
#    app.c five ways: pkg-config shared, pkg-config static, CMake shared, CMake
#    static (teamsop::teamsop_static), CMake with TEAMSOP_USE_STATIC=ON. Checks
#    ldd (libteamsop.so.0 from the installed tree, or no libteamsop at all), and
#    the CMake package's version rules. `make uninstall` must leave no file.
# 2. Direct:  make install-build, then make install NOBUILD=1 with
#    PREFIX=$tmp/direct LIBDIR=$tmp/direct/lib/<multiarch> (and a refused NOBUILD=1
#    install whose BINDIR needs another RUNPATH); bin/teamsop-get runs without
#    LD_LIBRARY_PATH ($ORIGIN RUNPATH); pkg-config shared and CMake shared builds,
#    then `make uninstall`.
#
# The library is built with PROFILE=debug (cargo's dev profile), to save time.
# Needs: cc, cmake, pkg-config, readelf, ldd, and the debug emulator (`make
# build`; scripts/with-emulator.sh finds it). KEEP=1 keeps the temporary directory.
set -euo pipefail

cd "$(dirname "$0")/../.."
repo=$PWD
make_cmd=${MAKE:-make}
cc=${CC:-cc}
cflags="-Wall -Wextra -Werror -std=c11"
unset LD_LIBRARY_PATH PKG_CONFIG_SYSROOT_DIR

tmp=$(mktemp -d "${TMPDIR:-/tmp}/teamsop-install.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
  echo "install-test: keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi

fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
step() { echo; echo "== $*"; }

version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
real=libteamsop.so.${version%%[-+]*}
soname=libteamsop.so.${version%%.*}
results=()

# Lists a tree: files with their mode, symlinks with their target.
list_tree() {
  (cd "$1" && find . -mindepth 1 \( -type l -printf '%M  %p -> %l\n' \) -o \
    \( -type f -printf '%M  %p  (%s bytes)\n' \) -o \( -type d -printf '%M  %p/\n' \) | sort -k2)
}

# Checks the installed libraries in $1 (a lib directory).
check_libdir() {
  local libdir=$1
  [ -f "$libdir/$real" ] && [ ! -L "$libdir/$real" ] || fail "$libdir/$real is not a regular file"
  [ "$(readlink "$libdir/$soname")" = "$real" ] || fail "$soname does not point to $real"
  [ "$(readlink "$libdir/libteamsop.so")" = "$soname" ] || fail "libteamsop.so does not point to $soname"
  [ -f "$libdir/libteamsop.a" ] || fail "no libteamsop.a"
  local got
  got=$(readelf -d "$libdir/$real" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
  [ "$got" = "$soname" ] || fail "SONAME of $real is '$got', not $soname"
  echo "ok: $real (SONAME $got), $soname -> $real, libteamsop.so -> $soname, libteamsop.a"
}

# Runs a built program against a fresh emulator; it must print "app: ok".
run_app() {
  local out
  out=$(scripts/with-emulator.sh -- "$1" 2>&1) || { echo "$out" >&2; fail "$1 failed"; }
  echo "$out" | sed 's/^/    /'
  echo "$out" | grep -qx "libteamsop $version" || fail "$1 did not report libteamsop $version"
  echo "$out" | grep -qx 'app: ok' || fail "$1 did not print 'app: ok'"
}

# The program must load libteamsop.so.0 from the installed lib directory $2.
check_shared() {
  local line
  line=$(ldd "$1" | grep 'libteamsop' || true)
  echo "    ldd: ${line:-no libteamsop}"
  case "$line" in
    *"$soname => $2/$soname "*) ;;
    *) fail "$1 does not load $soname from $2" ;;
  esac
}

# Checks an installed teamsop-get ($1), run as `$2... teamsop-get` (e.g. under
# env LD_LIBRARY_PATH=...): its manual, a usage error, a fetch and a failed call
# with --json, against a fresh emulator.
check_tool() {
  local tool=$1
  shift
  local out status
  [ -x "$tool" ] || fail "$tool is not installed"
  out=$("$@" "$tool" --version) || fail "$tool --version failed"
  [ "$out" = "teamsop-get (libteamsop $version)" ] || fail "$tool --version: $out"
  out=$("$@" "$tool" --help) || fail "$tool --help failed"
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT 'EXIT STATUS' EXAMPLES; do
    printf '%s\n' "$out" | grep -qx "$section" || fail "$tool --help has no $section section"
  done
  status=0
  out=$("$@" "$tool" --no-such-option 2>&1 >/dev/null) || status=$?
  [ "$status" -eq 64 ] || fail "$tool --no-such-option exited $status, not 64"
  [ "$out" = "teamsop-get: unknown option --no-such-option
Try 'teamsop-get --help'." ] || fail "$tool --no-such-option said: $out"
  # shellcheck disable=SC2016 # expanded by the inner shell, under the emulator
  out=$(scripts/with-emulator.sh -- "$@" sh -c '
    "$0" --base-url "$TEAMSOP_BASE_URL" --team 8b081ef6-4792-4def-b2c9-c363a1bf41d5 \
      --operation create-succeeded || exit
    "$0" --base-url "$TEAMSOP_BASE_URL" --team 8b081ef6-4792-4def-b2c9-c363a1bf41d5 \
      --operation nope --json 2>/dev/null
    echo "exit status $?"' "$tool") || fail "$tool against the emulator: $out"
  printf '%s\n' "$out" | grep -q '^status  *succeeded$' || fail "$tool did not print the operation: $out"
  printf '%s\n' "$out" | grep -q '^{"error":{"result":"TEAMSOP_ERR_NOT_FOUND",.*"httpStatus":404,' ||
    fail "$tool --json printed no error object: $out"
  printf '%s\n' "$out" | grep -qx 'exit status 6' || fail "$tool: a 404 did not exit 6: $out"
  echo "ok: $tool: --version, --help, a usage error, a GET, a 404 with --json"
}

# The program must not need libteamsop at all, and must hold its code.
check_static() {
  # Each tool's whole output first: with pipefail, `tool | grep -q` fails when grep
  # stops reading early and the tool, still writing, gets SIGPIPE.
  if grep -q libteamsop <<<"$(ldd "$1")"; then fail "$1 links libteamsop dynamically"; fi
  if grep -q 'NEEDED.*libteamsop' <<<"$(readelf -d "$1")"; then fail "$1 needs libteamsop"; fi
  grep -q ' T teamsop_client_new$' <<<"$(nm "$1")" || fail "$1 does not contain teamsop_client_new"
  echo "    ldd: no libteamsop (teamsop_* linked in)"
}

cmake_build() { # name prefix [cmake args...]
  local name=$1 prefix=$2
  shift 2
  cmake -S tests/install -B "$tmp/$name" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug \
    "$@" >"$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log" >&2; fail "cmake configure ($name)"; }
  cmake --build "$tmp/$name" >>"$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log" >&2; fail "cmake build ($name)"; }
  grep -E '^(teamsop_DIR|TEAMSOP_USE_STATIC|APP_STATIC)' "$tmp/$name/CMakeCache.txt" | sed 's/^/    /' || true
}

# ---------------------------------------------------------------- staged install

step "make install PREFIX=/usr DESTDIR=$tmp/stage PROFILE=debug"
stage=$tmp/stage
"$make_cmd" --no-print-directory install PROFILE=debug PREFIX=/usr DESTDIR="$stage"
root=$stage/usr

step "the installed tree ($stage)"
list_tree "$stage"

step "checks of the tree"
check_libdir "$root/lib"
[ -f "$root/include/teamsop.h" ] || fail "no include/teamsop.h"
cmp -s include/teamsop.h "$root/include/teamsop.h" || fail "the installed teamsop.h differs from include/teamsop.h"
if [ -f include/teamsop.hpp ]; then
  cmp -s include/teamsop.hpp "$root/include/teamsop.hpp" || fail "teamsop.hpp not installed"
  echo '#include <teamsop.hpp>' | ${CXX:-c++} -fsyntax-only -x c++ -I"$root/include" - ||
    fail "the installed teamsop.hpp does not compile on its own"
  echo "ok: teamsop.hpp installed and compiles"
fi
for f in lib/pkgconfig/teamsop.pc lib/cmake/teamsop/teamsopConfig.cmake lib/cmake/teamsop/teamsopConfigVersion.cmake; do
  [ -f "$root/$f" ] || fail "no $f"
done
[ "$(stat -c %a "$root/bin/teamsop-get")" = 755 ] || fail "bin/teamsop-get is not mode 755"
if readelf -d "$root/bin/teamsop-get" | grep -Eq '\((RUNPATH|RPATH)\)'; then
  fail "bin/teamsop-get has a RUNPATH, though /usr/lib is the loader's"
fi
grep -q "NEEDED.*\[$soname\]" <<<"$(readelf -d "$root/bin/teamsop-get")" || fail "bin/teamsop-get does not need $soname"
echo "ok: bin/teamsop-get (needs $soname, no RUNPATH for /usr/lib)"
check_tool "$root/bin/teamsop-get" env LD_LIBRARY_PATH="$root/lib"
results+=("bin/teamsop-get, PREFIX=/usr (no RUNPATH): ok")
if grep -rl "$stage" "$stage" >/dev/null 2>&1; then
  grep -rl "$stage" "$stage" >&2
  fail "the staging directory is written into installed files"
fi
grep -qx 'prefix=/usr' "$root/lib/pkgconfig/teamsop.pc" || fail "teamsop.pc: prefix is not /usr"
echo "ok: no staging path in any file; teamsop.pc has prefix=/usr"
echo "--- teamsop.pc"
cat "$root/lib/pkgconfig/teamsop.pc"
echo "---"

# pkg-config reads the staged .pc file; the sysroot maps its /usr paths into $stage.
export PKG_CONFIG_PATH=$root/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$stage
[ "$(pkg-config --modversion teamsop)" = "$version" ] || fail "pkg-config --modversion is not $version"
pc_cflags=$(pkg-config --cflags teamsop)
pc_libs=$(pkg-config --libs teamsop)
pc_static=$(pkg-config --static --libs teamsop)
echo "pkg-config --cflags:        $pc_cflags"
echo "pkg-config --libs:          $pc_libs"
echo "pkg-config --static --libs: $pc_static"

step "build 1: pkg-config, shared"
set -x
"$cc" $cflags $pc_cflags tests/install/app.c -o "$tmp/app-pc-shared" $pc_libs -Wl,-rpath,"$root/lib"
{ set +x; } 2>/dev/null
check_shared "$tmp/app-pc-shared" "$root/lib"
run_app "$tmp/app-pc-shared"
results+=("pkg-config shared: ok")

step "build 2: pkg-config, static (libteamsop.a between -Wl,-Bstatic and -Wl,-Bdynamic)"
static_libs=${pc_static/-lteamsop/-Wl,-Bstatic -lteamsop -Wl,-Bdynamic}
set -x
"$cc" $cflags $pc_cflags tests/install/app.c -o "$tmp/app-pc-static" $static_libs
{ set +x; } 2>/dev/null
check_static "$tmp/app-pc-static"
run_app "$tmp/app-pc-static"
results+=("pkg-config static: ok")
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

step "build 3: CMake, teamsop::teamsop (shared)"
cmake_build cmake-shared "$root"
check_shared "$tmp/cmake-shared/app" "$root/lib"
run_app "$tmp/cmake-shared/app"
results+=("CMake shared (teamsop::teamsop): ok")

step "build 4: CMake, teamsop::teamsop_static"
cmake_build cmake-static "$root" -DAPP_STATIC=ON
check_static "$tmp/cmake-static/app"
run_app "$tmp/cmake-static/app"
results+=("CMake static (teamsop::teamsop_static): ok")

step "build 5: CMake, teamsop::teamsop with TEAMSOP_USE_STATIC=ON"
cmake_build cmake-use-static "$root" -DTEAMSOP_USE_STATIC=ON
check_static "$tmp/cmake-use-static/app"
run_app "$tmp/cmake-use-static/app"
results+=("CMake TEAMSOP_USE_STATIC=ON: ok")

step "CMake package version rules (installed $version)"
mkdir -p "$tmp/version"
cat >"$tmp/version/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(teamsop_version LANGUAGES C)
find_package(teamsop ${WANT} REQUIRED)
message(STATUS "teamsop_VERSION=${teamsop_VERSION}")
EOF
series=${version%.*}
major=${version%%.*}
next_minor=$major.$(( $(echo "$version" | cut -d. -f2) + 1 ))
for want in "$series" "$version;EXACT" "$series...<$next_minor" "$next_minor" "$(( major + 1 ))" "$series.99"; do
  expect=found
  case "$want" in "$next_minor" | "$(( major + 1 ))" | "$series.99") expect=refused ;; esac
  rm -rf "$tmp/version/build"
  if cmake -S "$tmp/version" -B "$tmp/version/build" -DCMAKE_PREFIX_PATH="$root" "-DWANT=$want" \
    >"$tmp/version.log" 2>&1; then got=found; else got=refused; fi
  echo "    find_package(teamsop $want): $got"
  [ "$got" = "$expect" ] || { cat "$tmp/version.log" >&2; fail "find_package(teamsop $want) was $got, expected $expect"; }
done

step "make uninstall DESTDIR=$tmp/stage PREFIX=/usr"
"$make_cmd" --no-print-directory uninstall PREFIX=/usr DESTDIR="$stage"
left=$(find "$stage" ! -type d)
[ -z "$left" ] || { echo "$left" >&2; fail "make uninstall left files"; }
echo "ok: no file left under $stage"

# ---------------------------------------------------------------- direct install

multiarch=$("$cc" -print-multiarch 2>/dev/null || true)
direct=$tmp/direct
libdir=$direct/lib${multiarch:+/$multiarch}
step "make install-build, then make install NOBUILD=1 PREFIX=$direct LIBDIR=$libdir PROFILE=debug"
"$make_cmd" --no-print-directory install-build PROFILE=debug PREFIX="$direct" LIBDIR="$libdir"
"$make_cmd" --no-print-directory install PROFILE=debug PREFIX="$direct" LIBDIR="$libdir" NOBUILD=1
list_tree "$direct"
check_libdir "$libdir"
rel=${libdir#"$direct"/}
runpath=$(readelf -d "$direct/bin/teamsop-get" | sed -n 's/.*(RUNPATH).*\[\(.*\)\].*/\1/p')
[ "$runpath" = "\$ORIGIN/../$rel" ] || fail "bin/teamsop-get has RUNPATH '$runpath', not \$ORIGIN/../$rel"
echo "ok: bin/teamsop-get has RUNPATH $runpath"
check_tool "$direct/bin/teamsop-get" env
results+=("bin/teamsop-get, PREFIX=\$tmp/direct (RUNPATH $runpath, no LD_LIBRARY_PATH): ok")
# A tool built for this BINDIR is refused for another that needs another RUNPATH.
if "$make_cmd" --no-print-directory install PROFILE=debug PREFIX="$direct" LIBDIR="$libdir" \
  BINDIR="$direct/libexec/teamsop/bin" NOBUILD=1 >"$tmp/refused.log" 2>&1; then
  fail "make install NOBUILD=1 took a teamsop-get built for another BINDIR"
fi
grep -q 'was built for another LIBDIR or BINDIR' "$tmp/refused.log" || { cat "$tmp/refused.log" >&2; fail "no reason given"; }
[ ! -e "$direct/libexec" ] || fail "the refused install wrote files"
echo "ok: NOBUILD=1 refuses a teamsop-get built for another BINDIR"

step "build 6: pkg-config shared, direct prefix"
export PKG_CONFIG_PATH=$libdir/pkgconfig
set -x
"$cc" $cflags $(pkg-config --cflags teamsop) tests/install/app.c -o "$tmp/app-direct" \
  $(pkg-config --libs teamsop) -Wl,-rpath,"$libdir"
{ set +x; } 2>/dev/null
unset PKG_CONFIG_PATH
check_shared "$tmp/app-direct" "$libdir"
run_app "$tmp/app-direct"
results+=("pkg-config shared, PREFIX=\$tmp/direct LIBDIR=lib${multiarch:+/$multiarch}: ok")

step "build 7: CMake shared, direct prefix"
cmake_build cmake-direct "$direct"
check_shared "$tmp/cmake-direct/app" "$libdir"
run_app "$tmp/cmake-direct/app"
results+=("CMake shared, PREFIX=\$tmp/direct LIBDIR=lib${multiarch:+/$multiarch}: ok")

"$make_cmd" --no-print-directory uninstall PREFIX="$direct" LIBDIR="$libdir"
left=$(find "$direct" ! -type d)
[ -z "$left" ] || { echo "$left" >&2; fail "make uninstall left files"; }

step "install-test: all passed"
printf '  %s\n' "${results[@]}"
