/* Status strings, the thread-local last-error buffer and the optional host log callback.
 * The library never prints: diagnostics go to the callback or nowhere. */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#define PT_ERROR_CAP 1024

static _Thread_local char tls_error[PT_ERROR_CAP];

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static ptune_log_fn log_fn;
static void *log_user;
static ptune_log_level log_min = PTUNE_LOG_INFO;

PTUNE_API const char *ptune_status_str(ptune_status s)
{
    switch (s) {
    case PTUNE_OK: return "ok";
    case PTUNE_E_INVALID_ARG: return "invalid argument";
    case PTUNE_E_NOMEM: return "out of memory";
    case PTUNE_E_IO: return "i/o error";
    case PTUNE_E_FORMAT: return "malformed input";
    case PTUNE_E_UNSUPPORTED: return "unsupported";
    case PTUNE_E_STATE: return "invalid state";
    case PTUNE_E_CAPACITY: return "capacity exceeded";
    case PTUNE_E_BUFFER_TOO_SMALL: return "buffer too small";
    case PTUNE_E_NUMERIC: return "numeric error (NaN or Inf)";
    case PTUNE_E_ABORTED: return "aborted";
    default: return "unknown status";
    }
}

PTUNE_API const char *ptune_last_error(void) { return tls_error; }

void pt_error_clear(void) { tls_error[0] = '\0'; }

ptune_status pt_fail(ptune_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_error, sizeof tls_error, fmt, ap);
    va_end(ap);
    pt_log(PTUNE_LOG_DEBUG, "%s: %s", ptune_status_str(status), tls_error);
    return status;
}

ptune_status pt_fail_context(ptune_status status, const char *fmt, ...)
{
    char prefix[PT_ERROR_CAP], old[PT_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tls_error, sizeof old);
    size_t n = strlen(prefix);
    size_t rest = strnlen(old, sizeof old - 1);
    if (n + rest > sizeof tls_error - 1) rest = sizeof tls_error - 1 - n;
    memcpy(tls_error, prefix, n);
    memcpy(tls_error + n, old, rest);
    tls_error[n + rest] = '\0';
    return status;
}

PTUNE_API void ptune_set_log_callback(ptune_log_fn fn, void *user, ptune_log_level min_level)
{
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_user = user;
    log_min = min_level;
    pthread_mutex_unlock(&log_lock);
}

void pt_log(ptune_log_level level, const char *fmt, ...)
{
    pthread_mutex_lock(&log_lock);
    ptune_log_fn fn = log_fn;
    void *user = log_user;
    ptune_log_level min = log_min;
    pthread_mutex_unlock(&log_lock);
    if (!fn || level < min) return;
    char msg[PT_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn(level, msg, user);
}
