#include "spi.hpp"

#include "../core/error.hpp"
#include "boundary.hpp"

namespace pgrag::pg {

Datum SqlRow::get(int column, bool* is_null) const {
    return pg_guard([&] { return SPI_getbinval(tuple_, desc_, column, is_null); });
}

uint64 run_sql(const std::string& sql, const std::vector<SqlArg>& args, bool read_only,
               const std::function<void(const SqlRow&)>& on_row) {
    std::vector<Oid> types;
    std::vector<Datum> values;
    std::vector<char> nulls;
    for (const auto& a : args) {
        types.push_back(a.type);
        values.push_back(a.value);
        nulls.push_back(a.is_null ? 'n' : ' ');
    }
    int rc = pg_guard([&] {
        SPI_connect();
        return SPI_execute_with_args(sql.c_str(), static_cast<int>(args.size()), types.data(), values.data(),
                                     nulls.data(), read_only, 0);
    });
    if (rc < 0) {
        pg_guard([&] { SPI_finish(); });
        throw Error(ErrorCode::InternalError,
                    "pg_rag: internal query failed: " + std::string(SPI_result_code_string(rc)));
    }
    uint64 processed = SPI_processed;
    if (on_row && SPI_tuptable)
        for (uint64 i = 0; i < processed; ++i) on_row(SqlRow(SPI_tuptable->vals[i], SPI_tuptable->tupdesc));
    pg_guard([&] { SPI_finish(); });
    return processed;
}

Datum text_array(const std::vector<std::string>& values) {
    return pg_guard([&] {
        Datum* items = static_cast<Datum*>(palloc(sizeof(Datum) * std::max<size_t>(1, values.size())));
        for (size_t i = 0; i < values.size(); ++i)
            items[i] = PointerGetDatum(cstring_to_text_with_len(values[i].data(), static_cast<int>(values[i].size())));
        return PointerGetDatum(
            construct_array(items, static_cast<int>(values.size()), TEXTOID, -1, false, TYPALIGN_INT));
    });
}

}  // namespace pgrag::pg
