// POST /api/questions (queue a question: 202 with its status URL) and GET /api/questions/{id}.
#include "app.hpp"
#include "chat.hpp"
#include "request_json.hpp"

namespace pgrag::server {

namespace {
// The 8-4-4-4-12 hexadecimal form of a UUID (any case): anything else is refused before SQL sees it.
bool is_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}
}  // namespace

void add_question_routes(Router& r, App& app) {
    // The question is the caller's (rag_questions' row-level security): only they can read its state, and
    // a worker answers it as them.
    r.add("POST", "/api/questions", "/api/questions", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              ChatRequest q = read_chat_request(parse_json_object(req.body), false);
              app.usage.record(usage_event(caller, "question"));
              auto id = value_as(app, caller, "SELECT rag_enqueue_question($1, $2, $3::integer, $4, $5::jsonb)",
                                 {Param::text(q.question), q.session_id ? Param::text(*q.session_id) : Param::null(),
                                  Param::text(std::to_string(q.k)), Param::text(q.mode),
                                  q.filter ? Param::text(*q.filter) : Param::null()});
              if (!id) throw ApiError(500, "server_error", "internal_error", "rag_enqueue_question returned no id");
              app.question_wakeup.notify();  // a worker of this server starts now rather than at its next poll
              std::string url = "/api/questions/" + *id;
              res.set_header("Location", url);
              send_json(res, 202, {{"id", *id}, {"status", "queued"}, {"status_url", url}});
          });

    r.add("GET", "/api/questions/([^/]+)", "/api/questions/{id}", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              std::string id = req.matches[1];
              if (!is_uuid(id))
                  throw bad_request("a question id is a UUID (8-4-4-4-12 hexadecimal digits), not \"" +
                                    id.substr(0, 64) + "\"");
              auto state = value_as(app, caller, "SELECT rag_question($1::uuid)", {Param::text(id)});
              if (!state) throw ApiError(404, "not_found_error", "not_found", "no question \"" + id + "\"");
              res.set_content(*state, "application/json");
          });
}

}  // namespace pgrag::server
