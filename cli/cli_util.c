/* Argument parsing and error-reporting helpers for the `ptune` command. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pt_cli_fail(const char *context, ptune_status s)
{
    fprintf(stderr, "ptune: %s: %s: %s\n", context, ptune_status_str(s), ptune_last_error());
    return 1;
}

int pt_cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ptune: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

int pt_cli_parse_ids(const char *text, int32_t **ids, int32_t *n)
{
    size_t cap = 16, count = 0;
    int32_t *out = malloc(cap * sizeof *out);
    if (!out) return pt_cli_usage_error("out of memory");
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end != ',' && *end != '\0')) {
            free(out);
            return pt_cli_usage_error("--ids: \"%s\" is not a comma-separated list of token ids", text);
        }
        if (count == cap) {
            cap *= 2;
            int32_t *grown = realloc(out, cap * sizeof *out);
            if (!grown) {
                free(out);
                return pt_cli_usage_error("out of memory");
            }
            out = grown;
        }
        out[count++] = (int32_t)v;
        p = *end == ',' ? end + 1 : end;
    }
    if (count == 0) {
        free(out);
        return pt_cli_usage_error("--ids: empty list");
    }
    *ids = out;
    *n = (int32_t)count;
    return 0;
}

int pt_cli_parse_int(const char *opt, const char *text, int32_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno || v < 0 || v > INT32_MAX)
        return pt_cli_usage_error("%s: \"%s\" is not a non-negative integer", opt, text);
    *out = (int32_t)v;
    return 0;
}

int pt_cli_parse_storage(const char *opt, const char *text, int32_t *out)
{
    if (!strcmp(text, "f32")) *out = PTUNE_STORAGE_F32;
    else if (!strcmp(text, "native")) *out = PTUNE_STORAGE_NATIVE;
    else return pt_cli_usage_error("%s: \"%s\" is neither f32 nor native", opt, text);
    return 0;
}

ptune_status pt_cli_load_model(const char *path, int32_t storage, ptune_model **out)
{
    ptune_model_params mp;
    ptune_model_params_init(&mp);
    mp.storage = storage;
    return ptune_model_load(path, &mp, out);
}
