// GET /api/search (rag_search rows) and the sessions: list, messages and delete.
#include "app.hpp"
#include "request_json.hpp"
#include "statements.hpp"

namespace pgrag::server {

namespace {
// A session id from the path, decoded by the route's regex (any characters but '/').
std::string session_id(const httplib::Request& req) {
    std::string id = req.matches[1];
    if (id.empty() || id.size() > 200) throw bad_request("a session id has 1 to 200 characters");
    return id;
}
}  // namespace

void add_search_routes(Router& r, App& app) {
    r.add("GET", "/api/search", "/api/search", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              auto q = query_string(req, "q");
              if (!q || q->find_first_not_of(" \t\r\n") == std::string::npos)
                  throw bad_request("\"q\" is required and must not be empty");
              long k = query_int(req, "k", 1, 1000).value_or(5);
              std::string mode = query_string(req, "mode").value_or("hybrid");
              auto filter = query_string(req, "filter");
              if (filter) {
                  nlohmann::json f = nlohmann::json::parse(*filter, nullptr, false);
                  if (f.is_discarded() || !f.is_object()) throw bad_request("\"filter\" must be a JSON object");
              }
              auto out = value_as(app, caller, statements::kSearch,
                                  {Param::text(*q), Param::text(std::to_string(k)), Param::text(mode),
                                   filter ? Param::text(*filter) : Param::null()});
              res.set_content(out.value_or("null"), "application/json");
          });

    // Recent conversations first, each titled by its first question. Plain queries of the tables, so
    // that row-level security on them decides whose sessions a caller sees.
    r.add("GET", "/api/sessions", "/api/sessions", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              long limit = query_int(req, "limit", 1, 1000).value_or(50);
              long offset = query_int(req, "offset", 0, 1000000000000L).value_or(0);
              auto out = value_as(
                  app, caller,
                  "SELECT jsonb_build_object('sessions', coalesce(jsonb_agg(jsonb_build_object('id', s.id, 'title',"
                  " coalesce((SELECT left(m.content, 200) FROM rag_messages m WHERE m.owner_id = s.owner_id"
                  " AND m.session_id = s.id AND m.role = 'user' ORDER BY m.id LIMIT 1), ''), 'messages',"
                  " (SELECT count(*) FROM rag_messages m WHERE m.owner_id = s.owner_id AND m.session_id = s.id),"
                  " 'created_at', s.created_at, 'updated_at', s.updated_at) ORDER BY s.updated_at DESC, s.id), '[]'),"
                  " 'total', (SELECT count(*) FROM rag_sessions WHERE owner_id = rag_current_user()),"
                  " 'limit', $1::integer, 'offset', $2::bigint)"
                  " FROM (SELECT * FROM rag_sessions WHERE owner_id = rag_current_user()"
                  " ORDER BY updated_at DESC, id LIMIT $1::integer OFFSET $2::bigint) s",
                  {Param::text(std::to_string(limit)), Param::text(std::to_string(offset))});
              res.set_content(out.value_or("null"), "application/json");
          });

    r.add("GET", "/api/sessions/([^/]+)/messages", "/api/sessions/{id}/messages", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              std::string id = session_id(req);
              auto out = value_as(
                  app, caller,
                  "SELECT CASE WHEN EXISTS (SELECT 1 FROM rag_sessions s WHERE s.owner_id = rag_current_user()"
                  " AND s.id = $1) THEN"
                  " jsonb_build_object('session_id', $1::text, 'messages', (SELECT coalesce(jsonb_agg(to_jsonb(m) "
                  "ORDER BY m.id),"
                  " '[]') FROM rag_session_messages($1) m)) END",
                  {Param::text(id)});
              if (!out) throw ApiError(404, "not_found_error", "not_found", "no session \"" + id + "\"");
              res.set_content(*out, "application/json");
          });

    r.add("DELETE", "/api/sessions/([^/]+)", "/api/sessions/{id}", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              std::string id = session_id(req);
              auto out = value_as(app, caller, "SELECT rag_delete_session($1)", {Param::text(id)});
              if (out.value_or("f") != "t")
                  throw ApiError(404, "not_found_error", "not_found", "no session \"" + id + "\"");
              send_json(res, 200, {{"deleted", true}, {"session_id", id}});
          });
}

}  // namespace pgrag::server
