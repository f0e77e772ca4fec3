/* Shared pieces of the `ptune` command: sub-command entry points and small helpers for
 * argument parsing and error reporting (stderr + non-zero exit). */
#ifndef PT_CLI_H
#define PT_CLI_H

#include <stdint.h>
#include "ptune/ptune.h"

int pt_cmd_info(int argc, char **argv);
int pt_cmd_score(int argc, char **argv);
int pt_cmd_tokenize(int argc, char **argv);
int pt_cmd_detokenize(int argc, char **argv);
int pt_cmd_train(int argc, char **argv);
int pt_cmd_generate(int argc, char **argv);

/* Prints "ptune: <context>: <status text>: <last error>" to stderr and returns 1. */
int pt_cli_fail(const char *context, ptune_status s);
/* Prints "ptune: <message>" to stderr and returns 2 (usage errors). */
int pt_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses "1,2,3" into a malloc'd array; returns 0 on success. */
int pt_cli_parse_ids(const char *text, int32_t **ids, int32_t *n);
/* Parses a positive int option value; returns 0 on success. */
int pt_cli_parse_int(const char *opt, const char *text, int32_t *out);

/* Parses a --storage value ("f32" | "native") into a ptune_storage; returns 0 on success. */
int pt_cli_parse_storage(const char *opt, const char *text, int32_t *out);
/* ptune_model_load with the given ptune_storage. */
ptune_status pt_cli_load_model(const char *path, int32_t storage, ptune_model **out);

/* `ptune train --mpi` (cli_mpi.c). start: MPI_Init and the MPI_COMM_WORLD collective; returns 0,
 * or 2 after a usage message (a build without MPI). abort: MPI_Abort of the whole job after a
 * rank's failure. finish: MPI_Finalize. The last two are no-ops without MPI. */
int pt_cli_mpi_start(int *argc, char ***argv, ptune_collective *c);
void pt_cli_mpi_abort(const ptune_collective *c, int code);
void pt_cli_mpi_finish(void);

#endif
