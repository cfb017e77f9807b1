#include "catalog.hpp"

#include "../core/error.hpp"
#include "boundary.hpp"

namespace pgrag::pg {

ExtensionCatalog extension_catalog(FunctionCallInfo fcinfo) {
    ExtensionCatalog c;
    const char* schema_name = nullptr;
    pg_guard([&] {
        c.schema = get_func_namespace(fcinfo->flinfo->fn_oid);
        schema_name = quote_identifier(get_namespace_name(c.schema));
        c.embedding_type =
            GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("embedding"), ObjectIdGetDatum(c.schema));
        c.embedding_array_type = get_array_type(c.embedding_type);
    });
    if (c.embedding_type == InvalidOid) throw Error(ErrorCode::UndefinedObject, "pg_rag: type embedding not found");
    c.schema_sql = schema_name;
    return c;
}

Oid relation_owner(const ExtensionCatalog& catalog, const char* relname) {
    Oid owner = pg_guard([&] {
        Oid relid = get_relname_relid(relname, catalog.schema);
        if (relid == InvalidOid) return InvalidOid;
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
        if (!HeapTupleIsValid(tuple)) return InvalidOid;
        Oid result = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return result;
    });
    // Missing internal tables mean the extension's SQL is older than this library (a new pg_rag.so installed
    // before ALTER EXTENSION ... UPDATE ran).
    if (owner == InvalidOid)
        throw Error(ErrorCode::UndefinedObject, std::string("pg_rag: table ") + relname + " not found", "",
                    "The installed pg_rag library is newer than the extension: run ALTER EXTENSION pg_rag UPDATE.");
    return owner;
}

}  // namespace pgrag::pg
