// rag_setting(name): the effective value of a pg_rag.* setting, from its C definition, so SQL never
// repeats a default (calling it also loads the library, which defines the settings).
#include "setting_fn.hpp"

#include <cstring>
#include <vector>

#include "../core/error.hpp"
#include "args.hpp"
#include "boundary.hpp"

extern "C" {
#include "utils/guc_tables.h"
}

namespace pgrag::pg {
namespace {

constexpr const char kPrefix[] = "pg_rag.";

bool has_prefix(const char* name) { return std::strncmp(name, kPrefix, sizeof(kPrefix) - 1) == 0; }

// The value in base units without a unit ("30000" for 30s), as a cast in SQL expects; NULL when unset.
const char* raw_value(const char* name) {
    return pg_guard([&] { return GetConfigOption(name, false, true); });
}

}  // namespace

std::map<std::string, std::string> visible_settings() {
    // One guarded pass copies names and values into palloc'd memory (no C++ objects inside pg_guard;
    // GetConfigOption formats numbers into a static buffer, hence the copies).
    struct Found {
        char** names;
        char** values;
        int count;
    } found{};
    pg_guard([&] {
        int n = GetNumConfigOptions();
        config_generic** vars = get_guc_variables();
        found.names = static_cast<char**>(palloc(sizeof(char*) * static_cast<size_t>(n)));
        found.values = static_cast<char**>(palloc(sizeof(char*) * static_cast<size_t>(n)));
        for (int i = 0; i < n; ++i) {
            const config_generic* g = vars[i];
            if (!has_prefix(g->name) || (g->flags & (GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_CUSTOM_PLACEHOLDER)))
                continue;
            const char* value = GetConfigOption(g->name, false, true);
            found.names[found.count] = pstrdup(g->name);
            found.values[found.count++] = pstrdup(value ? value : "");
        }
    });
    std::map<std::string, std::string> out;
    for (int i = 0; i < found.count; ++i) out.emplace(found.names[i], found.values[i]);
    return out;
}

}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_setting(name text) -> text: the current value of a pg_rag.* setting (numbers in base units, without
// unit: pg_rag.request_timeout is '30000'; booleans 'on'/'off'); secrets only for those who may see them.
PGRAG_FUNCTION(rag_setting) {
    std::string name = text_arg(fcinfo, 0);
    if (name.rfind(kPrefix, 0) != 0)
        throw Error(ErrorCode::InvalidParameterValue, "rag_setting: \"" + name + "\" is not a pg_rag setting", "",
                    "Name one of the pg_rag.* settings, e.g. 'pg_rag.rrf_k'; current_setting() reads the others.");
    const char* value = raw_value(name.c_str());  // unknown names: Postgres's own 42704 error
    return text_datum(value ? value : "");
}
