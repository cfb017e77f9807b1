// Where the extension's objects live, looked up from the calling function (no search_path games).
#pragma once

#include <string>

#include "boundary.hpp"
#include "postgres.hpp"

namespace pgrag::pg {

struct ExtensionCatalog {
    Oid schema = InvalidOid;
    std::string schema_sql;  // quoted schema name, ready to prefix object names in SQL
    Oid embedding_type = InvalidOid;
    Oid embedding_array_type = InvalidOid;
};

// The schema of the function being called (= the extension's schema) and the embedding type's OIDs.
ExtensionCatalog extension_catalog(FunctionCallInfo fcinfo);

// The owner of a relation in the extension's schema (for internal tables such as the embedding cache).
Oid relation_owner(const ExtensionCatalog& catalog, const char* relname);

// Runs fn as `role` with a restricted security context and search_path = pg_catalog, pg_temp (as a
// SECURITY DEFINER function with SET search_path would: the caller's schemas could otherwise put a
// look-alike function or operator before pg_catalog's, to run with the role's rights), restoring the
// caller's identity and search_path afterwards.
template <typename Fn>
auto as_role(Oid role, Fn&& fn) -> decltype(fn()) {
    Oid saved_user;
    int saved_context;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    int nest_level = pg_guard([] {
        int level = NewGUCNestLevel();
        set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                          false);
        return level;
    });
    SetUserIdAndSecContext(role, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    auto restore = [&](bool ok) {
        SetUserIdAndSecContext(saved_user, saved_context);
        pg_guard([&] { AtEOXact_GUC(ok, nest_level); });
    };
    try {
        if constexpr (std::is_void_v<decltype(fn())>) {
            fn();
            restore(true);
        } else {
            auto result = fn();
            restore(true);
            return result;
        }
    } catch (...) {
        restore(false);
        throw;
    }
}

}  // namespace pgrag::pg
