# README.md, tested as a newcomer would follow it (scripts/readme-test.sh):
#
#   make readme-test   the Testing table against `make test-steps`; then, in a
#                      fresh copy of the repository, make demo and make
#                      c-static-test with CARGO_TARGET_DIR set, and every block
#                      README.md marks as a recipe (<!-- recipe -->), as written
#
# The copy builds into this repository's target directory: the first run builds
# the release library and emulator (a few minutes), later ones only the crates
# of the copy.

.PHONY: readme-test readme-steps-check

readme-test:
	@.ci/install-deps.sh curl pkg-config
	scripts/readme-test.sh

# The first part alone: README.md's Testing table lists make test's steps.
readme-steps-check:
	@scripts/readme-test.sh --steps-only

TEST_LAST += readme-test
