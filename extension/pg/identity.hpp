// Who is calling, for row-level security: the user and tenant a trusted role asserted in pg_rag.user_id
// and pg_rag.tenant_id, else the role's own name; and whether the knowledge base's policies apply to
// the caller at all (superusers, the tables' owner and BYPASSRLS roles see every row).
#pragma once

#include <optional>
#include <string>

#include "../core/visibility.hpp"
#include "catalog.hpp"

namespace pgrag::pg {

struct Identity {
    std::string user;                   // rag_current_user()
    std::optional<std::string> tenant;  // rag_current_tenant(); none: no tenant
    bool admin = false;                 // rag_is_admin(): pg_rag.user_admin, or a superuser
};
Identity current_identity();

// The caller as the in-memory copies filter for: rag_current_user() and rag_current_tenant().
Viewer current_viewer();

// The knowledge base's chunks table, after checking the caller may SELECT it (the copies are loaded
// as its owner, so Postgres would not check): "permission denied for table rag_chunks" otherwise.
Oid readable_chunks(const ExtensionCatalog& cat);

// Whether rag_chunks has the ownership columns (owner_id, tenant_id): not with the SQL of pg_rag
// before 0.7.0 under a newer library, where every chunk is shared.
bool chunks_have_owners(Oid chunks);

// Whether row-level security shapes what the caller reads of `relation` (as Postgres decides it for a
// query; with row_security off it raises the error a query would).
bool row_security_applies(Oid relation);

}  // namespace pgrag::pg
