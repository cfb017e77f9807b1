// Module load: the magic block and the pg_rag.* settings.
#include "boundary.hpp"
#include "settings.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

void _PG_init(void) { pgrag::pg::define_settings(); }
