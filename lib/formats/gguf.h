/* GGUF v2/v3 reader: memory-maps a file, validates the header, every metadata value and
 * every tensor info before anything is used, and exposes typed key lookups and tensor views. */
#ifndef PT_FORMATS_GGUF_H
#define PT_FORMATS_GGUF_H

#include <stdbool.h>
#include <stdint.h>
#include "core/mapped_file.h"
#include "formats/tensor_view.h"

/* Metadata value types, numbered as in the GGUF specification. */
typedef enum pt_gguf_type {
    PT_GGUF_UINT8 = 0, PT_GGUF_INT8 = 1, PT_GGUF_UINT16 = 2, PT_GGUF_INT16 = 3,
    PT_GGUF_UINT32 = 4, PT_GGUF_INT32 = 5, PT_GGUF_FLOAT32 = 6, PT_GGUF_BOOL = 7,
    PT_GGUF_STRING = 8, PT_GGUF_ARRAY = 9, PT_GGUF_UINT64 = 10, PT_GGUF_INT64 = 11,
    PT_GGUF_FLOAT64 = 12,
} pt_gguf_type;

/* A string inside the mapping: not NUL-terminated. */
typedef struct pt_gguf_str {
    const char *ptr;
    uint64_t len;
} pt_gguf_str;

typedef struct pt_gguf_kv {
    char *key;                 /* owned, NUL-terminated */
    pt_gguf_type type;
    uint64_t offset;           /* file offset of the key, for messages */
    union {
        uint64_t u;            /* unsigned integer types and bool */
        int64_t i;             /* signed integer types */
        double f;              /* FLOAT32 / FLOAT64 */
        pt_gguf_str s;         /* STRING */
        struct {
            pt_gguf_type elem_type;  /* never ARRAY (nested arrays are rejected) */
            uint64_t count;
            const unsigned char *data; /* raw little-endian elements in the mapping */
            pt_gguf_str *strings;      /* owned index of `count` strings when elem_type is STRING */
        } arr;
    } v;
} pt_gguf_kv;

typedef struct pt_gguf_tensor {
    pt_tensor_view view;       /* view.name points at `name` */
    char *name;                /* owned */
    uint32_t ggml_type;        /* raw ggml type id */
    uint64_t ne[PT_MAX_DIMS];  /* ggml order (innermost first) */
} pt_gguf_tensor;

typedef struct pt_gguf {
    pt_mapped_file file;
    uint32_t version;
    uint32_t alignment;
    uint64_t n_kv;
    pt_gguf_kv *kv;
    uint64_t n_tensors;
    pt_gguf_tensor *tensors;
    uint64_t data_offset;      /* start of the tensor data section */
} pt_gguf;

/* Opens and fully validates `path`. On failure nothing is left open and the last error names
 * the file, the key or tensor and the byte offset. Errors: PTUNE_E_IO, PTUNE_E_FORMAT
 * (bad magic, truncation, offsets/sizes past EOF, overflow, duplicates), PTUNE_E_UNSUPPORTED
 * (version, a tensor type this reader cannot size), PTUNE_E_NOMEM. */
ptune_status pt_gguf_open(const char *path, pt_gguf *out);
void pt_gguf_close(pt_gguf *g);

const pt_gguf_kv *pt_gguf_find_kv(const pt_gguf *g, const char *key);
const pt_gguf_tensor *pt_gguf_find_tensor(const pt_gguf *g, const char *name);

/* Typed getters. Return PTUNE_OK and set *out when the key exists with a compatible type
 * (any integer type that fits for integers; FLOAT32/FLOAT64 for floats); PTUNE_E_FORMAT
 * naming the key when present with an incompatible type or out of range; PTUNE_E_STATE
 * (no error text set) when absent — callers turn absence into a default or a message. */
ptune_status pt_gguf_get_u32(const pt_gguf *g, const char *key, uint32_t *out);
ptune_status pt_gguf_get_f32(const pt_gguf *g, const char *key, float *out);
ptune_status pt_gguf_get_bool(const pt_gguf *g, const char *key, bool *out);
/* Copies a STRING value into an owned NUL-terminated string (free()). */
ptune_status pt_gguf_get_str(const pt_gguf *g, const char *key, char **out);

/* Human-readable ggml type name ("F32", "Q4_K", ...) or "unknown". */
const char *pt_ggml_type_name(uint32_t ggml_type);

#endif
