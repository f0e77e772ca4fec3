/* Compiled with -std=c99 -pedantic: the public header must be plain C99. */
#include <ptune/ptune.h>

int main(void)
{
    ptune_model_params mp;
    ptune_model_params_init(&mp);
    return ptune_version_number() == PTUNE_VERSION_NUMBER && mp.struct_size == sizeof mp ? 0 : 1;
}
