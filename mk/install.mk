# Installation: the libraries, the headers, a pkg-config file, a CMake package
# and the command-line tool teamsop-get.
#
#   make install   [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=$(PREFIX)/lib]
#                  [INCLUDEDIR=$(PREFIX)/include] [BINDIR=$(PREFIX)/bin]
#                  [PROFILE=release] [NOBUILD=1] [TOOL_RPATH=...]
#   make install-build  (same variables) what make install builds first
#   make uninstall (same variables)
#   make install-test          tests/install/run.sh: stage an install, build and run
#                              a C program against it with pkg-config and CMake
#   make install-native-libs   what rustc says a static link needs (for Libs.private)
#
# `make install` runs install-build first: cargo (`--release` for
# PROFILE=release, nothing for debug, `--profile NAME` otherwise), then
# teamsop-get linked against that library (out/install/teamsop-get). NOBUILD=1
# skips it, so that `make install-build && sudo make install NOBUILD=1` leaves
# target/ and out/ yours; give both the same PREFIX, LIBDIR and BINDIR (the tool's
# RUNPATH depends on them: install refuses a tool built for other ones).
#
# teamsop-get finds libteamsop.so.0 through a RUNPATH relative to itself,
# $ORIGIN/<BINDIR to LIBDIR> (for instance $ORIGIN/../lib), so that it runs from a
# private prefix, a staged tree or a moved one without LD_LIBRARY_PATH. It gets
# none when LIBDIR is a directory the dynamic loader searches on its own (/lib,
# /usr/lib, their lib64 and multiarch forms), as distributions require.
# TOOL_RPATH overrides it (TOOL_RPATH= for none; write $ORIGIN as $$ORIGIN).
#
# Installed, under $(DESTDIR):
#   $(BINDIR)/teamsop-get
#   $(LIBDIR)/libteamsop.so.MAJOR.MINOR.PATCH  (the crate version; MAJOR is the SONAME's)
#   $(LIBDIR)/libteamsop.so.MAJOR -> it, $(LIBDIR)/libteamsop.so -> libteamsop.so.MAJOR
#   $(LIBDIR)/libteamsop.a
#   $(INCLUDEDIR)/teamsop.h, and teamsop.hpp when include/teamsop.hpp exists
#   $(LIBDIR)/pkgconfig/teamsop.pc
#   $(LIBDIR)/cmake/teamsop/teamsopConfig.cmake, teamsopConfigVersion.cmake

PREFIX     ?= /usr/local
DESTDIR    ?=
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
PROFILE    ?= release
RUSTC      ?= rustc

# The crate version, from [package] in Cargo.toml (pre-release and build
# suffixes are left out of file names).
TEAMSOP_VERSION := $(shell sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
TEAMSOP_VERSION_NUM := $(firstword $(subst -, ,$(subst +, ,$(TEAMSOP_VERSION))))
TEAMSOP_MAJOR := $(word 1,$(subst ., ,$(TEAMSOP_VERSION_NUM)))
TEAMSOP_MINOR := $(word 2,$(subst ., ,$(TEAMSOP_VERSION_NUM)))
TEAMSOP_PATCH := $(word 3,$(subst ., ,$(TEAMSOP_VERSION_NUM)))
# The releases that stay compatible (CMake): same major from 1.0, same minor before.
TEAMSOP_SERIES := $(if $(filter 0,$(TEAMSOP_MAJOR)),$(TEAMSOP_MAJOR).$(TEAMSOP_MINOR),$(TEAMSOP_MAJOR))
TEAMSOP_SONAME := libteamsop.so.$(TEAMSOP_MAJOR)
TEAMSOP_REAL   := $(TEAMSOP_SONAME).$(TEAMSOP_MINOR).$(TEAMSOP_PATCH)

# What a static link of libteamsop.a needs, as printed on Linux (glibc) by
#   cargo rustc --lib --crate-type staticlib -- --print native-static-libs
# (`make install-native-libs` prints it again).
TEAMSOP_LIBS_PRIVATE := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# The same for CMake: pthread is Threads::Threads, libc goes without saying.
teamsop_empty :=
teamsop_space := $(teamsop_empty) $(teamsop_empty)
teamsop_comma := ,
TEAMSOP_CMAKE_LINK_LIBS := $(subst $(teamsop_space),;,$(strip $(foreach l,$(patsubst -l%,%,$(TEAMSOP_LIBS_PRIVATE)),$(if $(filter pthread,$(l)),Threads::Threads,$(if $(filter c,$(l)),,$(l))))))

TEAMSOP_TARGET_DIR := $(TARGET_DIR)
TEAMSOP_CARGO_PROFILE := $(if $(filter release,$(PROFILE)),--release,$(if $(filter debug dev,$(PROFILE)),,--profile $(PROFILE)))
TEAMSOP_OUT := $(TEAMSOP_TARGET_DIR)/$(if $(filter debug dev,$(PROFILE)),debug,$(PROFILE))

# Paths relative to the prefix where they are under it, so that the .pc file
# follows pkg-config's --define-prefix; the CMake package finds the headers
# from the library directory.
TEAMSOP_PC_LIBDIR := $(if $(filter $(PREFIX)/%,$(LIBDIR)),$${exec_prefix}/$(patsubst $(PREFIX)/%,%,$(LIBDIR)),$(LIBDIR))
TEAMSOP_PC_INCLUDEDIR := $(if $(filter $(PREFIX)/%,$(INCLUDEDIR)),$${prefix}/$(patsubst $(PREFIX)/%,%,$(INCLUDEDIR)),$(INCLUDEDIR))
# teamsop-get's RUNPATH (see above).
TEAMSOP_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
TEAMSOP_LOADER_DIRS := /lib /usr/lib /lib64 /usr/lib64 \
  $(if $(TEAMSOP_MULTIARCH),/lib/$(TEAMSOP_MULTIARCH) /usr/lib/$(TEAMSOP_MULTIARCH))
TOOL_RPATH ?= $(if $(filter $(TEAMSOP_LOADER_DIRS),$(patsubst %/,%,$(LIBDIR))),,$$ORIGIN/$(shell realpath -m --relative-to="$(BINDIR)" "$(LIBDIR)"))
TEAMSOP_TOOL := $(BUILD)/install/teamsop-get
TEAMSOP_TOOL_CFLAGS := -O2 -Wall -Wextra -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude

# Escapes a sed replacement (the separator is |).
teamsop_sed = $(subst |,\|,$(subst &,\&,$(subst \,\\,$(1))))

TEAMSOP_INSTALLED := \
  $(BINDIR)/teamsop-get \
  $(LIBDIR)/$(TEAMSOP_REAL) $(LIBDIR)/$(TEAMSOP_SONAME) $(LIBDIR)/libteamsop.so \
  $(LIBDIR)/libteamsop.a $(INCLUDEDIR)/teamsop.h $(INCLUDEDIR)/teamsop.hpp \
  $(LIBDIR)/pkgconfig/teamsop.pc \
  $(LIBDIR)/cmake/teamsop/teamsopConfig.cmake \
  $(LIBDIR)/cmake/teamsop/teamsopConfigVersion.cmake

.PHONY: install install-build uninstall install-test install-native-libs

install-build:
	$(CARGO) build --lib $(TEAMSOP_CARGO_PROFILE)
	@mkdir -p $(dir $(TEAMSOP_TOOL))
	$(CC) $(TEAMSOP_TOOL_CFLAGS) $(CPPFLAGS) $(CFLAGS) -o $(TEAMSOP_TOOL) examples-c/teamsop-get.c \
	  -L$(TEAMSOP_OUT) -lteamsop $(if $(TOOL_RPATH),-Wl$(teamsop_comma)-rpath$(teamsop_comma)'$(TOOL_RPATH)') $(LDFLAGS)
	@printf '%s\n' '$(TOOL_RPATH)' >$(TEAMSOP_TOOL).rpath

install: $(if $(NOBUILD),,install-build)
	@for d in "$(PREFIX)" "$(LIBDIR)" "$(INCLUDEDIR)" "$(BINDIR)"; do case "$$d" in /*) ;; *) \
	  echo "install: PREFIX, LIBDIR, INCLUDEDIR and BINDIR must be absolute paths ($$d)" >&2; exit 1;; esac; done
	@test -n "$(TEAMSOP_PATCH)" || { echo "install: no x.y.z version in Cargo.toml ($(TEAMSOP_VERSION))" >&2; exit 1; }
	@test -f $(TEAMSOP_OUT)/libteamsop.so -a -f $(TEAMSOP_OUT)/libteamsop.a || \
	  { echo "install: $(TEAMSOP_OUT)/libteamsop.{so,a} are not built" >&2; exit 1; }
	@soname=$$(readelf -d $(TEAMSOP_OUT)/libteamsop.so | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p'); \
	if [ "$$soname" != "$(TEAMSOP_SONAME)" ]; then \
	  echo "install: $(TEAMSOP_OUT)/libteamsop.so has SONAME '$$soname', but version $(TEAMSOP_VERSION) wants $(TEAMSOP_SONAME)" >&2; exit 1; \
	fi
	@test -x $(TEAMSOP_TOOL) || { echo "install: $(TEAMSOP_TOOL) is not built (make install-build)" >&2; exit 1; }
	@if [ "$$(cat $(TEAMSOP_TOOL).rpath 2>/dev/null)" != '$(TOOL_RPATH)' ]; then \
	  echo "install: $(TEAMSOP_TOOL) was built for another LIBDIR or BINDIR (RUNPATH '$$(cat $(TEAMSOP_TOOL).rpath 2>/dev/null)'," \
	    "here '$(TOOL_RPATH)'): run make install-build with the same variables" >&2; exit 1; fi
	install -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(BINDIR)" \
	  "$(DESTDIR)$(LIBDIR)/pkgconfig" "$(DESTDIR)$(LIBDIR)/cmake/teamsop"
	install -m 755 $(TEAMSOP_TOOL) "$(DESTDIR)$(BINDIR)/teamsop-get"
	install -m 755 $(TEAMSOP_OUT)/libteamsop.so "$(DESTDIR)$(LIBDIR)/$(TEAMSOP_REAL)"
	ln -sfn $(TEAMSOP_REAL) "$(DESTDIR)$(LIBDIR)/$(TEAMSOP_SONAME)"
	ln -sfn $(TEAMSOP_SONAME) "$(DESTDIR)$(LIBDIR)/libteamsop.so"
	install -m 644 $(TEAMSOP_OUT)/libteamsop.a "$(DESTDIR)$(LIBDIR)/libteamsop.a"
	install -m 644 include/teamsop.h "$(DESTDIR)$(INCLUDEDIR)/teamsop.h"
	if [ -f include/teamsop.hpp ]; then install -m 644 include/teamsop.hpp "$(DESTDIR)$(INCLUDEDIR)/teamsop.hpp"; fi
	sed -e 's|@PREFIX@|$(call teamsop_sed,$(PREFIX))|g' \
	    -e 's|@PC_LIBDIR@|$(call teamsop_sed,$(TEAMSOP_PC_LIBDIR))|g' \
	    -e 's|@PC_INCLUDEDIR@|$(call teamsop_sed,$(TEAMSOP_PC_INCLUDEDIR))|g' \
	    -e 's|@VERSION@|$(TEAMSOP_VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(TEAMSOP_LIBS_PRIVATE)|g' \
	    packaging/teamsop.pc.in >"$(DESTDIR)$(LIBDIR)/pkgconfig/teamsop.pc"
	@rel=$$(realpath -m --relative-to="$(LIBDIR)" "$(INCLUDEDIR)") && \
	echo "teamsopConfig.cmake: headers at <libdir>/$$rel" && \
	sed -e "s|@REL_INCLUDEDIR@|$$rel|g" \
	    -e 's|@VERSION@|$(TEAMSOP_VERSION)|g' \
	    -e 's|@SONAME@|$(TEAMSOP_SONAME)|g' \
	    -e 's|@REAL_NAME@|$(TEAMSOP_REAL)|g' \
	    -e 's|@CMAKE_LINK_LIBS@|$(TEAMSOP_CMAKE_LINK_LIBS)|g' \
	    packaging/teamsopConfig.cmake.in >"$(DESTDIR)$(LIBDIR)/cmake/teamsop/teamsopConfig.cmake"
	@bits=$$($(RUSTC) --print cfg | sed -n 's/^target_pointer_width="\([0-9]*\)"/\1/p'); \
	echo "teamsopConfigVersion.cmake: $(TEAMSOP_VERSION), compatible with $(TEAMSOP_SERIES).x, $${bits:-64}-bit"; \
	sed -e 's|@VERSION@|$(TEAMSOP_VERSION)|g' \
	    -e 's|@MAJOR@|$(TEAMSOP_MAJOR)|g' \
	    -e 's|@SERIES@|$(TEAMSOP_SERIES)|g' \
	    -e "s|@SIZEOF_VOID_P@|$$(( $${bits:-64} / 8 ))|g" \
	    packaging/teamsopConfigVersion.cmake.in >"$(DESTDIR)$(LIBDIR)/cmake/teamsop/teamsopConfigVersion.cmake"
	chmod 644 "$(DESTDIR)$(LIBDIR)/pkgconfig/teamsop.pc" "$(DESTDIR)$(LIBDIR)/cmake/teamsop/"*.cmake
	@echo "install: libteamsop $(TEAMSOP_VERSION) ($(PROFILE)) in $(DESTDIR)$(PREFIX)"
	@$(if $(DESTDIR),:,$(TEAMSOP_INSTALL_HINTS))

# After an install onto this machine: what the dynamic loader and pkg-config need
# to find the library, when they do not already.
define TEAMSOP_INSTALL_HINTS
libdir="$(LIBDIR)"; if [ -n "$(filter $(TEAMSOP_LOADER_DIRS),$(patsubst %/,%,$(LIBDIR)))" ]; then :; elif grep -qsFx "$$libdir" /etc/ld.so.conf /etc/ld.so.conf.d/*.conf; then   echo "install: $$libdir is in the dynamic loader's configuration: run 'ldconfig' (as root) so that programs find libteamsop.so.0"; else   echo "install: the dynamic loader does not search $$libdir: link programs with -Wl,-rpath,$$libdir (or set LD_LIBRARY_PATH=$$libdir)"; fi; case ":$$(pkg-config --variable=pc_path pkg-config 2>/dev/null):$${PKG_CONFIG_PATH:-}:" in   *":$$libdir/pkgconfig:"*) ;;   *) echo "install: pkg-config does not search $$libdir/pkgconfig: export PKG_CONFIG_PATH=$$libdir/pkgconfig";; esac
endef

uninstall:
	rm -f $(foreach f,$(TEAMSOP_INSTALLED),"$(DESTDIR)$(f)")
	rmdir "$(DESTDIR)$(LIBDIR)/cmake/teamsop" 2>/dev/null || true

install-test: build
	tests/install/run.sh

# Checks TEAMSOP_LIBS_PRIVATE: builds the archive alone in its own target
# directory (slow the first time), so target/ is not touched.
install-native-libs:
	@$(CARGO) rustc --lib --crate-type staticlib --target-dir $(TEAMSOP_TARGET_DIR)/native-libs \
	  -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: *//p' | tail -n 1 | \
	  { read -r libs; echo "rustc:      $$libs"; echo "Libs.private: $(TEAMSOP_LIBS_PRIVATE)"; \
	    [ "$$libs" = "$(TEAMSOP_LIBS_PRIVATE)" ] || { echo "update TEAMSOP_LIBS_PRIVATE in mk/install.mk" >&2; exit 1; }; }

TEST_TARGETS += install-test
