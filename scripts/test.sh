#!/usr/bin/env bash
# The test command: installs missing packages, builds, and runs every meson test suite
# ('unit' needs nothing else; 'shared' reads ../shared or $PTUNE_SHARED and skips without it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
meson test -C "${BUILD_DIR:-build}" --print-errorlogs "$@"
