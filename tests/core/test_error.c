/* Status strings, thread-local last-error text, the log callback and version queries. */
#include "test_support.h"

#include <pthread.h>
#include <string.h>

#include "core/error.h"
#include "ptune/ptune.h"

static void test_status_strings(void **state)
{
    (void)state;
    assert_string_equal(ptune_status_str(PTUNE_OK), "ok");
    assert_string_equal(ptune_status_str(PTUNE_E_NOMEM), "out of memory");
    assert_string_equal(ptune_status_str(PTUNE_E_FORMAT), "malformed input");
    assert_string_equal(ptune_status_str(-999), "unknown status");
    for (int s = PTUNE_E_ABORTED; s <= PTUNE_OK; s++) assert_string_not_equal(ptune_status_str(s), "unknown status");
}

static void *other_thread(void *arg)
{
    (void)arg;
    /* a fresh thread starts with no error, and its failure does not leak to others */
    if (ptune_last_error()[0] != '\0') return (void *)1;
    pt_fail(PTUNE_E_IO, "thread-local %d", 7);
    return strcmp(ptune_last_error(), "thread-local 7") ? (void *)1 : NULL;
}

static void test_last_error_is_thread_local(void **state)
{
    (void)state;
    assert_int_equal(pt_fail(PTUNE_E_FORMAT, "file %s at offset %d", "x.gguf", 12), PTUNE_E_FORMAT);
    assert_string_equal(ptune_last_error(), "file x.gguf at offset 12");
    pthread_t t;
    void *rc;
    assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
    pthread_join(t, &rc);
    assert_null(rc);
    assert_string_equal(ptune_last_error(), "file x.gguf at offset 12");
    pt_fail_context(PTUNE_E_FORMAT, "loading %s: ", "m");
    assert_string_equal(ptune_last_error(), "loading m: file x.gguf at offset 12");
}

static int log_calls;
static char last_log[256];
static void log_cb(ptune_log_level level, const char *msg, void *user)
{
    (void)level;
    log_calls += *(int *)user;
    strncpy(last_log, msg, sizeof last_log - 1);
}

static void test_log_callback(void **state)
{
    (void)state;
    int one = 1;
    ptune_set_log_callback(log_cb, &one, PTUNE_LOG_DEBUG);
    pt_fail(PTUNE_E_IO, "cannot open %s", "f");
    assert_int_equal(log_calls, 1);
    assert_non_null(strstr(last_log, "cannot open f"));
    ptune_set_log_callback(log_cb, &one, PTUNE_LOG_WARN); /* debug messages now dropped */
    pt_fail(PTUNE_E_IO, "again");
    assert_int_equal(log_calls, 1);
    ptune_set_log_callback(NULL, NULL, PTUNE_LOG_INFO);
    pt_log(PTUNE_LOG_ERROR, "nobody listens");
    assert_int_equal(log_calls, 1);
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(ptune_version_string(), PTUNE_VERSION_STRING);
    assert_int_equal(ptune_version_number(), PTUNE_VERSION_NUMBER);
    assert_int_equal(PTUNE_VERSION_NUMBER, PTUNE_VERSION_MAJOR * 10000 + PTUNE_VERSION_MINOR * 100 + PTUNE_VERSION_PATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_last_error_is_thread_local),
        cmocka_unit_test(test_log_callback),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
