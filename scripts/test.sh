#!/usr/bin/env bash
# The test command: installs missing packages, builds, and runs every meson test suite
# ('unit' needs nothing else; 'shared' reads ../shared or $PTUNE_SHARED and skips without it;
# 'fuzz' replays the fuzz targets' seeds and corpora), the MPI job (scripts/mpi.sh: the
# -Dmpi=enabled build's 2- and 4-rank equivalence test; PTUNE_MPI=0 skips it), then the sanitizer jobs
# (scripts/sanitize.sh: ASan+UBSan, TSan, valgrind; PTUNE_SANITIZERS=0 skips them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
meson test -C "${BUILD_DIR:-build}" --print-errorlogs "$@"
if [ "${PTUNE_MPI:-1}" != 0 ]; then
    scripts/mpi.sh
fi
if [ "${PTUNE_SANITIZERS:-1}" != 0 ]; then
    scripts/sanitize.sh
fi
