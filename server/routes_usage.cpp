// GET /api/usage: usage events summarised by day (UTC) and user; an admin sees everyone's, anyone else
// their own.
#include "app.hpp"
#include "request_json.hpp"

namespace pgrag::server {

namespace {

bool is_date(const std::string& s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    return true;
}

// A bound as SQL's timestamptz input: a day (YYYY-MM-DD) starts at 00:00 UTC, and "to" includes it.
Param bound(const std::optional<std::string>& v, bool upper) {
    if (!v) return Param::null();
    if (v->empty()) throw bad_request(std::string("\"") + (upper ? "to" : "from") + "\" must not be empty");
    return Param::text(is_date(*v) ? *v + (upper ? " 24:00:00+00" : " 00:00:00+00") : *v);
}

}  // namespace

void add_usage_routes(Router& r, App& app) {
    r.add("GET", "/api/usage", "/api/usage", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              auto from = query_string(req, "from");
              auto to = query_string(req, "to");
              auto user = query_string(req, "user");
              if (!caller.admin()) {
                  if (user && *user != caller.user_id)
                      throw ApiError(403, "permission_error", "insufficient_scope",
                                     "only an admin may read another user's usage");
                  user = caller.user_id;
              }
              Param since = bound(from, false), until = bound(to, true);
              app.usage.flush();  // the caller's latest requests count too
              auto out = value_as(
                  app, caller,
                  "SELECT jsonb_build_object('from', coalesce($1::timestamptz, now() - interval '30 days'),"
                  " 'to', $2::timestamptz, 'usage', coalesce(jsonb_agg(to_jsonb(u) ORDER BY u.day, u.user_id NULLS "
                  "FIRST, u.tenant_id NULLS FIRST), '[]')) FROM rag_usage_summary($1::timestamptz, $2::timestamptz, "
                  "$3) u",
                  {since, until, user ? Param::text(*user) : Param::null()});
              res.set_content(out.value_or("null"), "application/json");
          });
}

}  // namespace pgrag::server
