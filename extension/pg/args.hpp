// Reading SQL arguments and building text results, through the guard.
#pragma once

#include <optional>
#include <string>

#include "boundary.hpp"

namespace pgrag::pg {

// Argument n as a string (the caller has checked it is not NULL).
inline std::string text_arg(FunctionCallInfo fcinfo, int n) {
    return pg_guard([&] { return std::string(text_to_cstring(PG_GETARG_TEXT_PP(n))); });
}

// Argument n as a string, or nothing when NULL or absent.
inline std::optional<std::string> optional_text_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_NARGS() <= n || PG_ARGISNULL(n)) return std::nullopt;
    return text_arg(fcinfo, n);
}

// A text Datum holding s.
inline Datum text_datum(const std::string& s) {
    return pg_guard([&] { return PointerGetDatum(cstring_to_text_with_len(s.data(), static_cast<int>(s.size()))); });
}

}  // namespace pgrag::pg
