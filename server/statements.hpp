// The SQL of the two busiest routes, in one place: bench/server runs exactly these statements through
// libpq as the baseline the server is measured against.
#pragma once

namespace pgrag::server::statements {

// GET /api/search: $1 query, $2 k, $3 mode, $4 filter (jsonb or NULL) -> {"results": [rows]}.
inline constexpr const char* kSearch =
    "SELECT jsonb_build_object('results', coalesce(jsonb_agg(to_jsonb(s) - 'ordinality' ORDER BY "
    "s.ordinality), '[]'))"
    " FROM rag_search($1, $2::integer, $3, $4::jsonb) WITH ORDINALITY s";

// POST /api/chat without streaming: $1 question, $2 session id, $3 k, $4 mode, $5 filter -> rag_answer().
inline constexpr const char* kAnswer = "SELECT rag_answer($1, $2, $3::integer, $4, $5::jsonb)";

}  // namespace pgrag::server::statements
