#!/usr/bin/env bash
# The MPI job of the test command: builds the -Dmpi=enabled variant in build-mpi (the library is
# the same; `ptune train --mpi` links Open MPI) and runs its 'mpi' suite — 1 vs 2 vs 4 ranks on
# loopback, resume, a failing and a killed rank (tests/mpi/test_mpi_train.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${MPI_BUILD_DIR:-build-mpi}
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dmpi=enabled >/dev/null
else
    meson configure "$dir" -Dmpi=enabled >/dev/null
fi
ninja -C "$dir" cli/ptune >/dev/null
meson test -C "$dir" --suite mpi --print-errorlogs
