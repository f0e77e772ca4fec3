/* Checked allocation helpers: size overflow checks and PTUNE_E_NOMEM messages that say
 * what was being allocated and how many bytes. */
#include "core/alloc.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fault injection (tests): the countdown-th allocation from now fails, once. Thread-local, so
 * one thread's test never affects another; −1 = off. */
static _Thread_local long fault_countdown = -1;

void pt_alloc_fail_nth(long n) { fault_countdown = n; }

bool pt_alloc_fault_pending(void) { return fault_countdown >= 0; }

static bool inject_failure(void)
{
    if (fault_countdown < 0) return false;
    return fault_countdown-- == 0;
}

bool pt_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}

bool pt_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}

void *pt_malloc(size_t size, const char *what)
{
    void *p = inject_failure() ? NULL : malloc(size ? size : 1);
    if (!p) pt_fail(PTUNE_E_NOMEM, "out of memory allocating %zu bytes for %s", size, what);
    return p;
}

void *pt_calloc(size_t count, size_t size, const char *what)
{
    size_t total;
    if (!pt_mul_size(count, size, &total)) {
        pt_fail(PTUNE_E_NOMEM, "size overflow allocating %zu x %zu bytes for %s", count, size, what);
        return NULL;
    }
    void *p = inject_failure() ? NULL : calloc(total ? count : 1, total ? size : 1);
    if (!p) pt_fail(PTUNE_E_NOMEM, "out of memory allocating %zu bytes for %s", total, what);
    return p;
}

void *pt_malloc_array(size_t count, size_t size, const char *what)
{
    size_t total;
    if (!pt_mul_size(count, size, &total)) {
        pt_fail(PTUNE_E_NOMEM, "size overflow allocating %zu x %zu bytes for %s", count, size, what);
        return NULL;
    }
    return pt_malloc(total, what);
}

void *pt_malloc_aligned(size_t size, const char *what)
{
    void *p = NULL;
    size_t rounded;
    if (!pt_add_size(size, 63, &rounded)) {
        pt_fail(PTUNE_E_NOMEM, "size overflow allocating %zu bytes for %s", size, what);
        return NULL;
    }
    rounded &= ~(size_t)63;
    if (inject_failure() || posix_memalign(&p, 64, rounded ? rounded : 64) != 0) {
        pt_fail(PTUNE_E_NOMEM, "out of memory allocating %zu bytes for %s", size, what);
        return NULL;
    }
    return p;
}

void pt_free_aligned(void *p) { free(p); }

void *pt_realloc(void *p, size_t size, const char *what)
{
    void *q = inject_failure() ? NULL : realloc(p, size ? size : 1);
    if (!q) pt_fail(PTUNE_E_NOMEM, "out of memory growing %s to %zu bytes", what, size);
    return q;
}

char *pt_strdup(const char *s, const char *what)
{
    size_t n = strlen(s) + 1;
    char *d = pt_malloc(n, what);
    if (d) memcpy(d, s, n);
    return d;
}

char *pt_strfmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        pt_fail(PTUNE_E_INVALID_ARG, "bad format string");
        return NULL;
    }
    char *s = pt_malloc((size_t)n + 1, "formatted string");
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}
