/* F16/BF16 conversions: exact upcasts of every bit pattern class and round-to-nearest-even. */
#include "test_support.h"

#include <math.h>

#include "core/half.h"

static void test_f16_values(void **state)
{
    (void)state;
    assert_true(pt_f16_to_f32(0x3c00) == 1.0f);
    assert_true(pt_f16_to_f32(0xc000) == -2.0f);
    assert_true(pt_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(pt_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
    assert_true(pt_f16_to_f32(0x03ff) == ldexpf(1023.0f, -24));
    assert_true(isinf(pt_f16_to_f32(0x7c00)));
    assert_true(isnan(pt_f16_to_f32(0x7e00)));
    assert_true(signbit(pt_f16_to_f32(0x8000)));
}

static void test_f16_round_trip_all(void **state)
{
    (void)state;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaN payloads */
        float f = pt_f16_to_f32((uint16_t)h);
        assert_int_equal(pt_f32_to_f16(f), h);
    }
    assert_int_equal(pt_f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3c00); /* tie → even */
    assert_int_equal(pt_f32_to_f16(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02);
    assert_int_equal(pt_f32_to_f16(1e6f), 0x7c00);
}

static void test_bf16(void **state)
{
    (void)state;
    assert_true(pt_bf16_to_f32(0x3f80) == 1.0f);
    assert_true(pt_bf16_to_f32(0xc040) == -3.0f);
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue;
        assert_int_equal(pt_f32_to_bf16(pt_bf16_to_f32((uint16_t)h)), h);
    }
    assert_int_equal(pt_f32_to_bf16(pt_bits_to_f32(0x3f808000u)), 0x3f80); /* tie → even */
    assert_int_equal(pt_f32_to_bf16(pt_bits_to_f32(0x3f818000u)), 0x3f82);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_values),
        cmocka_unit_test(test_f16_round_trip_all),
        cmocka_unit_test(test_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
