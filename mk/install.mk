# Installation: the libraries, the headers, a pkg-config file and a CMake package.
#
#   make install   [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=$(PREFIX)/lib]
#                  [INCLUDEDIR=$(PREFIX)/include] [PROFILE=release] [NOBUILD=1]
#   make uninstall (same variables)
#   make install-test          tests/install/run.sh: stage an install, build and run
#                              a C program against it with pkg-config and CMake
#   make install-native-libs   what rustc says a static link needs (for Libs.private)
#
# `make install` runs cargo first (`--release` for PROFILE=release, nothing for
# debug, `--profile NAME` otherwise); NOBUILD=1 skips that, so that
# `make install-build && sudo make install NOBUILD=1` leaves target/ yours.
# Installed, under $(DESTDIR):
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
TEAMSOP_CMAKE_LINK_LIBS := $(subst $(teamsop_space),;,$(strip $(foreach l,$(patsubst -l%,%,$(TEAMSOP_LIBS_PRIVATE)),$(if $(filter pthread,$(l)),Threads::Threads,$(if $(filter c,$(l)),,$(l))))))

TEAMSOP_TARGET_DIR := $(TARGET_DIR)
TEAMSOP_CARGO_PROFILE := $(if $(filter release,$(PROFILE)),--release,$(if $(filter debug dev,$(PROFILE)),,--profile $(PROFILE)))
TEAMSOP_OUT := $(TEAMSOP_TARGET_DIR)/$(if $(filter debug dev,$(PROFILE)),debug,$(PROFILE))

# Paths relative to the prefix where they are under it, so that the .pc file
# follows pkg-config's --define-prefix; the CMake package finds the headers
# from the library directory.
TEAMSOP_PC_LIBDIR := $(if $(filter $(PREFIX)/%,$(LIBDIR)),$${exec_prefix}/$(patsubst $(PREFIX)/%,%,$(LIBDIR)),$(LIBDIR))
TEAMSOP_PC_INCLUDEDIR := $(if $(filter $(PREFIX)/%,$(INCLUDEDIR)),$${prefix}/$(patsubst $(PREFIX)/%,%,$(INCLUDEDIR)),$(INCLUDEDIR))
# Escapes a sed replacement (the separator is |).
teamsop_sed = $(subst |,\|,$(subst &,\&,$(subst \,\\,$(1))))

TEAMSOP_INSTALLED := \
  $(LIBDIR)/$(TEAMSOP_REAL) $(LIBDIR)/$(TEAMSOP_SONAME) $(LIBDIR)/libteamsop.so \
  $(LIBDIR)/libteamsop.a $(INCLUDEDIR)/teamsop.h $(INCLUDEDIR)/teamsop.hpp \
  $(LIBDIR)/pkgconfig/teamsop.pc \
  $(LIBDIR)/cmake/teamsop/teamsopConfig.cmake \
  $(LIBDIR)/cmake/teamsop/teamsopConfigVersion.cmake

.PHONY: install install-build uninstall install-test install-native-libs

install-build:
	$(CARGO) build --lib $(TEAMSOP_CARGO_PROFILE)

install: $(if $(NOBUILD),,install-build)
	@for d in "$(PREFIX)" "$(LIBDIR)" "$(INCLUDEDIR)"; do case "$$d" in /*) ;; *) \
	  echo "install: PREFIX, LIBDIR and INCLUDEDIR must be absolute paths ($$d)" >&2; exit 1;; esac; done
	@test -n "$(TEAMSOP_PATCH)" || { echo "install: no x.y.z version in Cargo.toml ($(TEAMSOP_VERSION))" >&2; exit 1; }
	@test -f $(TEAMSOP_OUT)/libteamsop.so -a -f $(TEAMSOP_OUT)/libteamsop.a || \
	  { echo "install: $(TEAMSOP_OUT)/libteamsop.{so,a} are not built" >&2; exit 1; }
	@soname=$$(readelf -d $(TEAMSOP_OUT)/libteamsop.so | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p'); \
	if [ "$$soname" != "$(TEAMSOP_SONAME)" ]; then \
	  echo "install: $(TEAMSOP_OUT)/libteamsop.so has SONAME '$$soname', but version $(TEAMSOP_VERSION) wants $(TEAMSOP_SONAME)" >&2; exit 1; \
	fi
	install -d "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(INCLUDEDIR)" \
	  "$(DESTDIR)$(LIBDIR)/pkgconfig" "$(DESTDIR)$(LIBDIR)/cmake/teamsop"
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
