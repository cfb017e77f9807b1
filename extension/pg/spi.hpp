// Running SQL from C++ through SPI, every Postgres call behind pg_guard.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "postgres.hpp"

namespace pgrag::pg {

struct SqlArg {
    Oid type;
    Datum value;
    bool is_null = false;
};

// One result row: read column n (1-based); is_null is set for NULL.
class SqlRow {
  public:
    SqlRow(HeapTuple tuple, TupleDesc desc) : tuple_(tuple), desc_(desc) {}
    Datum get(int column, bool* is_null) const;

  private:
    HeapTuple tuple_;
    TupleDesc desc_;
};

// Column n of a row as text, or nothing when NULL.
std::optional<std::string> optional_text(const SqlRow& row, int column);

// Connects to SPI, runs sql with $n arguments, calls on_row for every row (outside any PG_TRY, so it
// may throw), disconnects; returns the number of rows processed. Copy out what you need in on_row:
// result memory is released on return.
uint64 run_sql(const std::string& sql, const std::vector<SqlArg>& args, bool read_only,
               const std::function<void(const SqlRow&)>& on_row = nullptr);

// Connects to SPI and opens a read-only cursor over sql with $n arguments, planned without sorting
// where an index gives the order; the caller fetches, closes the portal and calls SPI_finish.
Portal open_cursor(const std::string& sql, const std::vector<SqlArg>& args);

// A text[] Datum of the given strings (std::nullopt-free: every element non-NULL).
Datum text_array(const std::vector<std::string>& values);

}  // namespace pgrag::pg
