#include "spi.hpp"

#include "../core/error.hpp"
#include "boundary.hpp"

namespace pgrag::pg {

Datum SqlRow::get(int column, bool* is_null) const {
    return pg_guard([&] { return SPI_getbinval(tuple_, desc_, column, is_null); });
}

std::optional<std::string> optional_text(const SqlRow& row, int column) {
    bool is_null;
    Datum d = row.get(column, &is_null);
    if (is_null) return std::nullopt;
    return pg_guard([&] { return std::string(TextDatumGetCString(d)); });
}

namespace {

// SPI's parallel arrays of argument types, values and null flags.
struct SpiArgs {
    std::vector<Oid> types;
    std::vector<Datum> values;
    std::vector<char> nulls;
    explicit SpiArgs(const std::vector<SqlArg>& args) {
        for (const auto& a : args) {
            types.push_back(a.type);
            values.push_back(a.value);
            nulls.push_back(a.is_null ? 'n' : ' ');
        }
    }
};

}  // namespace

Portal open_cursor(const std::string& sql, const std::vector<SqlArg>& args) {
    SpiArgs a(args);
    return pg_guard([&] {
        SPI_connect();
        // Planned (at open) with enable_sort off, as a function's SET clause would: the planner
        // guesses 0.5 % of the rows for dims(embedding) = $1 and sorts 300 MB on disk per 100k chunks
        // rather than follow the primary key (1.3 s against 0.12 s).
        int level = NewGUCNestLevel();
        (void)set_config_option("enable_sort", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        Portal portal = SPI_cursor_open_with_args(nullptr, sql.c_str(), static_cast<int>(a.types.size()),
                                                  a.types.data(), a.values.data(), a.nulls.data(), true, 0);
        AtEOXact_GUC(true, level);
        return portal;
    });
}

uint64 run_sql(const std::string& sql, const std::vector<SqlArg>& args, bool read_only,
               const std::function<void(const SqlRow&)>& on_row) {
    SpiArgs spi_args(args);
    std::vector<Oid>& types = spi_args.types;
    std::vector<Datum>& values = spi_args.values;
    std::vector<char>& nulls = spi_args.nulls;
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
