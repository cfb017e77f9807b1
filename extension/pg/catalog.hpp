// Where the extension's objects live, looked up from the calling function (no search_path games).
#pragma once

#include <string>

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

// Runs fn as `role` with a restricted security context, restoring the caller's identity afterwards.
template <typename Fn>
auto as_role(Oid role, Fn&& fn) -> decltype(fn()) {
    Oid saved_user;
    int saved_context;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    SetUserIdAndSecContext(role, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    try {
        if constexpr (std::is_void_v<decltype(fn())>) {
            fn();
            SetUserIdAndSecContext(saved_user, saved_context);
        } else {
            auto result = fn();
            SetUserIdAndSecContext(saved_user, saved_context);
            return result;
        }
    } catch (...) {
        SetUserIdAndSecContext(saved_user, saved_context);
        throw;
    }
}

}  // namespace pgrag::pg
