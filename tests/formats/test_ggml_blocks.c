/* The ggml block formats against ../shared/fixtures/quant/<TYPE>.safetensors: every test block
 * (crafted edge cases and ggml-quantized rows) dequantizes to exactly the expected floats (`==`:
 * the values are unique, QUANT.md "Exactness"), whole rows and block by block at odd offsets. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/ggml_blocks.h"
#include "formats/safetensors.h"
#include "formats/tensor_view.h"

static void check_type(const char *name, pt_dtype dtype)
{
    char rel[256];
    snprintf(rel, sizeof rel, "fixtures/quant/%s.safetensors", name);
    char *path = pt_test_shared_path(rel);
    pt_safetensors st;
    if (pt_safetensors_open(path, &st)) fail_msg("%s: %s", path, ptune_last_error());
    const pt_block_format *f = pt_block_format_of(dtype);
    assert_non_null(f);
    assert_string_equal(f->name, name);
    size_t n_info, n_expected;
    int32_t *info = pt_test_tensor_i32(&st, "info", &n_info);
    assert_int_equal(n_info, 4);
    assert_int_equal(info[0], (int32_t)f->ggml_type);
    assert_int_equal(info[1], (int32_t)f->block);
    assert_int_equal(info[2], (int32_t)f->bytes);
    assert_int_equal(pt_block_dtype_of_ggml((uint32_t)info[0]), dtype);
    double *expected = pt_test_tensor_f64(&st, "expected", &n_expected);
    const pt_tensor_view *blocks = pt_safetensors_find(&st, "blocks");
    assert_non_null(blocks);
    const size_t nb = n_expected / f->block;
    assert_int_equal(nb * f->block, n_expected);
    assert_int_equal(blocks->n_bytes, nb * f->bytes);

    /* the whole set as one row, through the same path model loading uses */
    pt_tensor_view v = {.name = name, .dtype = dtype, .dtype_name = name, .n_dims = 1,
                        .shape = {(int64_t)n_expected}, .n_elements = (int64_t)n_expected,
                        .data = blocks->data, .n_bytes = blocks->n_bytes};
    float *got = malloc(n_expected * sizeof *got);
    assert_non_null(got);
    assert_int_equal(pt_tensor_view_to_f32(&v, path, got), PTUNE_OK);
    size_t bad = 0;
    for (size_t i = 0; i < n_expected; i++)
        if (!((double)got[i] == expected[i])) {
            if (bad++ < 5) print_error("%s element %zu (block %zu): got %.9g want %.9g\n", name, i, i / f->block,
                                       (double)got[i], expected[i]);
        }
    if (bad) fail_msg("%s: %zu of %zu values differ", name, bad, n_expected);

    /* block by block from a copy at an odd address: data in a mapping need not be aligned */
    unsigned char *odd = malloc(f->bytes + 1);
    assert_non_null(odd);
    for (size_t b = 0; b < nb; b++) {
        memcpy(odd + 1, (const unsigned char *)blocks->data + b * f->bytes, f->bytes);
        f->to_f32(odd + 1, 1, got);
        for (size_t e = 0; e < f->block; e++)
            if (!((double)got[e] == expected[b * f->block + e])) fail_msg("%s block %zu element %zu (unaligned)", name, b, e);
    }

    /* a byte count that does not hold the elements is refused, not read past */
    v.n_bytes = blocks->n_bytes - 1;
    assert_int_equal(pt_tensor_view_to_f32(&v, path, got), PTUNE_E_INVALID_ARG);
    v.n_bytes = blocks->n_bytes;
    v.n_elements = (int64_t)n_expected - 1; /* not a whole number of blocks */
    assert_int_equal(pt_tensor_view_to_f32(&v, path, got), PTUNE_E_INVALID_ARG);
    print_message("%s: %zu blocks, %zu values identical\n", name, nb, n_expected);

    free(odd);
    free(got);
    free(expected);
    free(info);
    pt_safetensors_close(&st);
    free(path);
}

static void test_q8_0(void **state) { (void)state; check_type("Q8_0", PT_DTYPE_Q8_0); }
static void test_q4_0(void **state) { (void)state; check_type("Q4_0", PT_DTYPE_Q4_0); }
static void test_q4_1(void **state) { (void)state; check_type("Q4_1", PT_DTYPE_Q4_1); }
static void test_q5_0(void **state) { (void)state; check_type("Q5_0", PT_DTYPE_Q5_0); }
static void test_q5_1(void **state) { (void)state; check_type("Q5_1", PT_DTYPE_Q5_1); }
static void test_q4_k(void **state) { (void)state; check_type("Q4_K", PT_DTYPE_Q4_K); }
static void test_q5_k(void **state) { (void)state; check_type("Q5_K", PT_DTYPE_Q5_K); }
static void test_q6_k(void **state) { (void)state; check_type("Q6_K", PT_DTYPE_Q6_K); }

/* Types the file format knows but the library does not load: refused with the type's name. */
static void test_unsupported_types(void **state)
{
    (void)state;
    assert_int_equal(pt_block_dtype_of_ggml(9), PT_DTYPE_OTHER);  /* Q8_1 */
    assert_int_equal(pt_block_dtype_of_ggml(10), PT_DTYPE_OTHER); /* Q2_K */
    assert_int_equal(pt_block_dtype_of_ggml(15), PT_DTYPE_OTHER); /* Q8_K */
    unsigned char bytes[84] = {0};
    float out[256];
    pt_tensor_view v = {.name = "blk.0.ffn_up.weight", .dtype = PT_DTYPE_OTHER, .dtype_name = "Q2_K",
                        .n_dims = 1, .shape = {256}, .n_elements = 256, .data = bytes, .n_bytes = sizeof bytes};
    assert_int_equal(pt_tensor_view_to_f32(&v, "model.gguf", out), PTUNE_E_UNSUPPORTED);
    assert_non_null(strstr(ptune_last_error(), "blk.0.ffn_up.weight"));
    assert_non_null(strstr(ptune_last_error(), "Q2_K"));
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q8_0), cmocka_unit_test(test_q4_0), cmocka_unit_test(test_q4_1),
        cmocka_unit_test(test_q5_0), cmocka_unit_test(test_q5_1), cmocka_unit_test(test_q4_k),
        cmocka_unit_test(test_q5_k), cmocka_unit_test(test_q6_k), cmocka_unit_test(test_unsupported_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
