// Module load: the magic block and the pg_rag.* settings.
#include "../core/distance.hpp"
#include "boundary.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace {

int kernel_setting = 0;  // index into kKernelOptions; 0 = auto

const struct config_enum_entry kKernelOptions[] = {
    {"auto", 0, false}, {"portable", 1, false}, {"avx2", 2, false}, {"avx512", 3, false}, {nullptr, 0, false},
};

pgrag::Isa isa_for(int option) {
    switch (option) {
        case 1: return pgrag::Isa::Portable;
        case 2: return pgrag::Isa::Avx2;
        case 3: return pgrag::Isa::Avx512;
        default: return pgrag::best_supported_isa();
    }
}

// Refuses a kernel path this CPU cannot run (a check hook must not throw or ereport).
bool check_kernel(int* newval, void**, GucSource) {
    if (pgrag::isa_supported(isa_for(*newval))) return true;
    GUC_check_errdetail("This CPU does not support that kernel path.");
    return false;
}

void assign_kernel(int newval, void*) {
    try {
        pgrag::use_isa(isa_for(newval));
    } catch (...) {
        // check_kernel already refused unsupported paths; nothing else can fail here
    }
}

}  // namespace

void _PG_init(void) {
    DefineCustomEnumVariable("pg_rag.kernel", "Distance kernel path: auto, portable, avx2 or avx512.",
                             "auto picks the fastest path this CPU supports; all paths return identical results.",
                             &kernel_setting, 0, kKernelOptions, PGC_USERSET, 0, check_kernel, assign_kernel, nullptr);
    MarkGUCPrefixReserved("pg_rag");
}
