/* Internal error reporting: thread-local last-error text and the log callback.
 * Every failing library path calls pt_fail() once, at the place that knows the details. */
#ifndef PT_CORE_ERROR_H
#define PT_CORE_ERROR_H

#include "ptune/ptune.h"

#if defined(__GNUC__)
#define PT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PT_PRINTF(a, b)
#endif

/* Records a formatted message as this thread's last error and returns `status` unchanged,
 * so call sites can write `return pt_fail(PTUNE_E_FORMAT, "%s: ...", path);`. */
ptune_status pt_fail(ptune_status status, const char *fmt, ...) PT_PRINTF(2, 3);

/* Prefixes the current last-error text with a formatted context ("loading X: ") and
 * returns `status`; used when a lower layer's message lacks the caller's context. */
ptune_status pt_fail_context(ptune_status status, const char *fmt, ...) PT_PRINTF(2, 3);

/* Clears this thread's last-error text (successful public calls do not clear it). */
void pt_error_clear(void);

/* Sends a message to the host's log callback, if one is installed; never prints. */
void pt_log(ptune_log_level level, const char *fmt, ...) PT_PRINTF(2, 3);

#endif
