/* Checked allocation: every allocation in the library goes through these, so a failure
 * always becomes PTUNE_E_NOMEM with a message naming what was being allocated. */
#ifndef PT_CORE_ALLOC_H
#define PT_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Return NULL (and set the last error to PTUNE_E_NOMEM naming `what`) on failure or when
 * the size computation would overflow. Zero-sized requests allocate one byte. */
void *pt_malloc(size_t size, const char *what);
void *pt_calloc(size_t count, size_t size, const char *what);
void *pt_malloc_array(size_t count, size_t size, const char *what);
/* 64-byte aligned; free with pt_free_aligned(). */
void *pt_malloc_aligned(size_t size, const char *what);
void pt_free_aligned(void *p);
char *pt_strdup(const char *s, const char *what);
/* realloc with the same contract: on failure p is untouched (still owned by the caller). */
void *pt_realloc(void *p, size_t size, const char *what);
/* Formats into a freshly allocated string (NULL on failure, error set). */
char *pt_strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Test hook: the n-th allocation (0-based) through these functions on the calling thread fails
 * as if memory had run out, once; n < 0 turns it off. pt_alloc_fault_pending() is true while
 * the failure has not happened yet (the operation needed fewer allocations). */
void pt_alloc_fail_nth(long n);
bool pt_alloc_fault_pending(void);

/* Overflow-checked size arithmetic: return false when the result does not fit. */
bool pt_mul_size(size_t a, size_t b, size_t *out);
bool pt_add_size(size_t a, size_t b, size_t *out);

#endif
