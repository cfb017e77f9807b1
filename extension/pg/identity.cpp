// rag_current_user(), rag_current_tenant() and rag_is_admin(), the functions the row-level security
// policies call: C, so that calling one loads the library, whose definition of the pg_rag.* identity
// settings (PGC_SUSET) throws away a value an unprivileged role set before it was loaded.
#include "identity.hpp"

#include "../core/error.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "settings.hpp"

extern "C" {
#include "utils/acl.h"
#include "utils/rls.h"
}

namespace pgrag::pg {

Identity current_identity() {
    Identity id;
    id.user = user_id();
    if (id.user.empty()) id.user = pg_guard([] { return GetUserNameFromId(GetUserId(), false); });
    std::string tenant = tenant_id();
    if (!tenant.empty()) id.tenant = tenant;
    id.admin = user_admin() || pg_guard([] { return superuser(); });
    return id;
}

Viewer current_viewer() {
    Identity id = current_identity();
    return {id.user, id.tenant};
}

Oid readable_chunks(const ExtensionCatalog& cat) {
    Oid relid = pg_guard([&] { return get_relname_relid("rag_chunks", cat.schema); });
    if (relid == InvalidOid) throw Error(ErrorCode::UndefinedObject, "pg_rag: table rag_chunks not found");
    pg_guard([&] {
        if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
            aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, "rag_chunks");
    });
    return relid;
}

bool chunks_have_owners(Oid chunks) {
    return pg_guard([&] { return get_attnum(chunks, "owner_id") != InvalidAttrNumber; });
}

bool row_security_applies(Oid relation) {
    return pg_guard([&] { return check_enable_rls(relation, InvalidOid, false) == RLS_ENABLED; });
}

}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_current_user() -> text: pg_rag.user_id when set, else the current role's name.
PGRAG_FUNCTION(rag_current_user) { return text_datum(current_identity().user); }

// rag_current_tenant() -> text: pg_rag.tenant_id when set, else NULL.
PGRAG_FUNCTION(rag_current_tenant) {
    std::optional<std::string> tenant = current_identity().tenant;
    if (!tenant) {
        fcinfo->isnull = true;
        return (Datum)0;
    }
    return text_datum(*tenant);
}

// rag_is_admin() -> boolean: pg_rag.user_admin, or a superuser.
PGRAG_FUNCTION(rag_is_admin) { return BoolGetDatum(current_identity().admin); }
