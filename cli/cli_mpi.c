/* `ptune train --mpi`: the MPI side of data-parallel training, kept out of the library. A build
 * with -Dmpi=enabled wraps MPI_COMM_WORLD in a ptune_collective (MPI_Allreduce of doubles, sum)
 * and turns any rank's failure into MPI_Abort of the whole job, so no rank waits forever in a
 * sum its peer will never join. Without MPI, --mpi is refused with how to build it. */
#include "cli.h"

#include <stdio.h>

#ifdef PTUNE_CLI_MPI
#include <mpi.h>

static int mpi_sum(double *values, int64_t n, void *user)
{
    (void)user;
    while (n > 0) { /* MPI counts are int */
        const int k = n > (1 << 30) ? (1 << 30) : (int)n;
        if (MPI_Allreduce(MPI_IN_PLACE, values, k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) return 1;
        values += k;
        n -= k;
    }
    return 0;
}

int pt_cli_mpi_start(int *argc, char ***argv, ptune_collective *c)
{
    int rank = 0, size = 1;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return pt_cli_usage_error("--mpi: MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    *c = (ptune_collective){.rank = rank, .size = size, .allreduce_sum = mpi_sum, .user = NULL};
    return 0;
}

void pt_cli_mpi_abort(const ptune_collective *c, int code)
{
    fprintf(stderr, "ptune: rank %d of %d failed; aborting every rank of the job\n", c->rank, c->size);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
}

void pt_cli_mpi_finish(void) { MPI_Finalize(); }

#else

int pt_cli_mpi_start(int *argc, char ***argv, ptune_collective *c)
{
    (void)argc;
    (void)argv;
    (void)c;
    return pt_cli_usage_error("--mpi: this ptune was built without MPI; rebuild with `meson setup -Dmpi=enabled` "
                              "(Debian: apt-get install libopenmpi-dev openmpi-bin)");
}

void pt_cli_mpi_abort(const ptune_collective *c, int code)
{
    (void)c;
    (void)code;
}

void pt_cli_mpi_finish(void) {}

#endif
