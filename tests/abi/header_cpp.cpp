// Compiled as C++: the public header must be C++-clean (extern "C", no C-only constructs).
#include <ptune/ptune.h>

#include <cstring>

int main()
{
    ptune_ctx_params p;
    ptune_ctx_params_init(&p);
    return std::strcmp(ptune_version_string(), PTUNE_VERSION_STRING) == 0 && p.struct_size == sizeof p ? 0 : 1;
}
