// Chat turns: SQL for retrieval, prompt and record; the core library for generation.
#include "chat.hpp"

#include "core/error.hpp"
#include "core/http_client.hpp"
#include "json_errors.hpp"
#include "request_json.hpp"

namespace pgrag::server {

ChatRequest read_chat_request(const nlohmann::json& body, bool allow_stream) {
    if (allow_stream)
        only_fields(body, {"question", "session_id", "k", "mode", "filter", "stream"});
    else
        only_fields(body, {"question", "session_id", "k", "mode", "filter"});
    ChatRequest r;
    r.question = required_text(body, "question");
    r.session_id = opt_string(body, "session_id");
    if (r.session_id && r.session_id->empty()) throw bad_request("\"session_id\" must not be empty");
    r.k = static_cast<int>(opt_int(body, "k", 1, 50).value_or(5));
    r.mode = opt_string(body, "mode").value_or("hybrid");
    if (r.mode != "hybrid" && r.mode != "vector" && r.mode != "keyword")
        throw bad_request("\"mode\" must be hybrid, vector or keyword, not \"" + r.mode + "\"");
    r.filter = opt_object_text(body, "filter");
    return r;
}

PreparedChat prepare_chat(Pool& pool, const ChatRequest& req, long request_timeout_ms) {
    PreparedChat chat;
    chat.started = std::chrono::steady_clock::now();
    Lease db = pool.acquire();
    nlohmann::json history = messages_to_json(req.history);
    if (req.session_id) {
        // The session's last 20 turns, oldest first, as rag_answer reads them.
        history = nlohmann::json::parse(
            db.value("SELECT coalesce(jsonb_agg(jsonb_build_object('role', m.role, 'content', m.content)"
                     " ORDER BY m.id), '[]') FROM (SELECT * FROM rag_messages x WHERE x.session_id = $1"
                     " ORDER BY x.id DESC LIMIT 20) m",
                     {Param::text(*req.session_id)})
                .value_or("[]"));
    }
    std::string retrieval_question = req.question;
    if (!history.empty())
        retrieval_question = db.value("SELECT rag_rewrite_question($1, $2::jsonb)",
                                      {Param::text(req.question), Param::text(history.dump())})
                                 .value_or(req.question);
    std::string prompt =
        db.value(
              "SELECT rag_prepare_answer($1, $2::jsonb, (SELECT coalesce(jsonb_agg(to_jsonb(s) - 'ordinality'"
              " ORDER BY s.ordinality), '[]') FROM rag_search($3, $4::integer, $5, $6::jsonb) WITH ORDINALITY s))",
              {Param::text(req.question), Param::text(history.dump()), Param::text(retrieval_question),
               Param::text(std::to_string(req.k)), Param::text(req.mode),
               req.filter ? Param::text(*req.filter) : Param::null()})
            .value_or("{}");
    chat.prompt = prompt_from_json(nlohmann::json::parse(prompt));
    chat.standalone_question = retrieval_question == req.question ? "" : retrieval_question;
    chat.providers = chat_provider_config(db, request_timeout_ms);
    for (auto& p : chat.providers) {
        if (req.max_tokens) p.settings.max_tokens = *req.max_tokens;
        if (req.temperature) p.settings.temperature = *req.temperature;
    }
    return chat;  // the lease ends here: no connection is held while a model generates
}

Generated generate_chat(const PreparedChat& chat, const std::function<bool()>& interrupted,
                        const std::function<void(const std::string&)>& on_text) {
    // One HTTP client per worker thread keeps provider connections alive across requests.
    thread_local http::Client client;
    Generated g;
    for (size_t i = 0; i < chat.providers.size(); ++i) {
        const ProviderConfig& p = chat.providers[i];
        bool sent = false;
        try {
            check_provider_usable(p);
            g.answer = generate_stream(p.settings, chat.prompt, client, interrupted, [&](const std::string& piece) {
                sent = true;
                on_text(piece);
            });
            return g;
        } catch (const Error& e) {
            // Text already sent cannot be taken back; cancellation is never a reason to fall back.
            if (e.code() == ErrorCode::QueryCanceled || sent || i + 1 == chat.providers.size()) throw;
            g.fallbacks.push_back(p.settings.provider + ": " + e.what());
        }
    }
    throw Error(ErrorCode::InternalError, "no chat provider");
}

nlohmann::json chat_result(const PreparedChat& chat, const Generated& generated) {
    nlohmann::json r = answer_result(chat.prompt, generated, chat.standalone_question);
    r["cached"] = false;
    r["latency_ms"] = static_cast<long>(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - chat.started).count() + 0.5);
    return r;
}

nlohmann::json chat_sources(const PreparedChat& chat) {
    Generated none;
    return answer_result(chat.prompt, none, "")["sources"];
}

void record_turn(Pool& pool, const std::string& session_id, const std::string& question, const nlohmann::json& result) {
    Lease db = pool.acquire();
    db.exec("SELECT rag_record_answer($1, $2, $3::jsonb)",
            {Param::text(session_id), Param::text(question), Param::text(result.dump())});
}

}  // namespace pgrag::server
