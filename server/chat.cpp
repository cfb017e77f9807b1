// Chat turns: SQL for retrieval, prompt and record; the core library for generation.
#include "chat.hpp"

#include "core/error.hpp"
#include "core/http_client.hpp"
#include "json_errors.hpp"
#include "metrics.hpp"
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

namespace {

// One HTTP client per worker thread keeps provider connections alive across requests.
http::Client& worker_client() {
    thread_local http::Client client;
    return client;
}

// rag_search's rows for the retrieval question, packed into the prompt by rag_prepare_answer.
Prompt retrieve_and_prepare(Lease& db, const ChatRequest& req, const nlohmann::json& history,
                            const std::string& retrieval_question) {
    std::string prompt =
        db.value(
              "SELECT rag_prepare_answer($1, $2::jsonb, (SELECT coalesce(jsonb_agg(to_jsonb(s) - 'ordinality'"
              " ORDER BY s.ordinality), '[]') FROM rag_search($3, $4::integer, $5, $6::jsonb) WITH ORDINALITY s))",
              {Param::text(req.question), Param::text(history.dump()), Param::text(retrieval_question),
               Param::text(std::to_string(req.k)), Param::text(req.mode),
               req.filter ? Param::text(*req.filter) : Param::null()})
            .value_or("{}");
    return prompt_from_json(nlohmann::json::parse(prompt));
}

}  // namespace

PreparedChat prepare_chat(Pool& pool, const DbIdentity& who, const ChatRequest& req, long request_timeout_ms) {
    PreparedChat chat;
    chat.started = std::chrono::steady_clock::now();
    nlohmann::json history = messages_to_json(req.history);
    {
        Lease db = pool.acquire(who);
        if (req.session_id) {
            // The session's last 20 turns, oldest first, as rag_answer reads them (session ids are per user).
            history = nlohmann::json::parse(
                db.value("SELECT coalesce(jsonb_agg(jsonb_build_object('role', m.role, 'content', m.content)"
                         " ORDER BY m.id), '[]') FROM (SELECT * FROM rag_messages x"
                         " WHERE x.owner_id = rag_current_user() AND x.session_id = $1 ORDER BY x.id DESC LIMIT 20) m",
                         {Param::text(*req.session_id)})
                    .value_or("[]"));
        }
        // A request that overrides the generation (OpenAI's max_tokens, temperature) is answered afresh.
        chat.cacheable = !req.session_id && history.empty() && !req.max_tokens && !req.temperature;
        if (chat.cacheable) {
            auto hit = db.value("SELECT rag_cached_answer($1, $2::integer, $3, $4::jsonb)",
                                {Param::text(req.question), Param::text(std::to_string(req.k)), Param::text(req.mode),
                                 req.filter ? Param::text(*req.filter) : Param::null()});
            if (hit) {
                chat.cached = nlohmann::json::parse(*hit);
                return chat;
            }
        }
        chat.providers = chat_provider_config(db, request_timeout_ms);
        for (auto& p : chat.providers) {
            if (req.max_tokens) p.settings.max_tokens = *req.max_tokens;
            if (req.temperature) p.settings.temperature = *req.temperature;
        }
        if (history.empty()) {
            chat.prompt = retrieve_and_prepare(db, req, history, req.question);
            return chat;  // the lease ends here: no connection is held while a model generates
        }
    }
    // A follow-up is made standalone for retrieval, by a model when one is configured: without a
    // connection, as every generation.
    std::vector<ChatSettings> settings;
    for (const auto& p : chat.providers) settings.push_back(p.settings);
    auto deadline = chat.started + std::chrono::milliseconds(request_timeout_ms);
    std::string retrieval_question =
        standalone_question(settings, req.question, messages_from_json(history), worker_client(),
                            [deadline] { return std::chrono::steady_clock::now() > deadline; });
    chat.standalone_question = retrieval_question == req.question ? "" : retrieval_question;
    Lease db = pool.acquire(who);
    chat.prompt = retrieve_and_prepare(db, req, history, retrieval_question);
    return chat;
}

Generated generate_chat(const PreparedChat& chat, const std::function<bool()>& interrupted,
                        const std::function<void(const std::string&)>& on_text) {
    http::Client& client = worker_client();
    Generated g;
    if (chat.cached) {
        g.answer.text = chat.cached->value("answer", "");
        g.answer.provider = chat.cached->value("provider", "");
        g.answer.model = chat.cached->value("model", "");
        if (interrupted && interrupted())
            throw Error(ErrorCode::QueryCanceled, "canceling statement due to user request");
        on_text(g.answer.text);
        return g;
    }
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
            if (e.code() != ErrorCode::QueryCanceled) count_provider_error(p.settings.provider);
            // Text already sent cannot be taken back; cancellation is never a reason to fall back.
            if (e.code() == ErrorCode::QueryCanceled || sent || i + 1 == chat.providers.size()) throw;
            g.fallbacks.push_back(p.settings.provider + ": " + e.what());
        }
    }
    throw Error(ErrorCode::InternalError, "no chat provider");
}

nlohmann::json chat_result(const PreparedChat& chat, const Generated& generated) {
    nlohmann::json r = chat.cached ? *chat.cached : answer_result(chat.prompt, generated, chat.standalone_question);
    r["cached"] = chat.cached.has_value();
    r["latency_ms"] = static_cast<long>(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - chat.started).count() + 0.5);
    return r;
}

nlohmann::json chat_sources(const PreparedChat& chat) {
    if (chat.cached) return chat.cached->value("sources", nlohmann::json::array());
    Generated none;
    return answer_result(chat.prompt, none, "")["sources"];
}

void record_turn(Pool& pool, const DbIdentity& who, const std::string& session_id, const std::string& question,
                 const nlohmann::json& result) {
    Lease db = pool.acquire(who);
    db.exec("SELECT rag_record_answer($1, $2, $3::jsonb)",
            {Param::text(session_id), Param::text(question), Param::text(result.dump())});
}

void remember_answer(Pool& pool, const DbIdentity& who, const ChatRequest& req, const PreparedChat& chat,
                     const nlohmann::json& result) {
    if (req.session_id) return record_turn(pool, who, *req.session_id, req.question, result);
    if (!chat.cacheable || chat.cached) return;
    Lease db = pool.acquire(who);
    db.exec("SELECT rag_cache_answer($1, $2::integer, $3, $4::jsonb, $5::jsonb)",
            {Param::text(req.question), Param::text(std::to_string(req.k)), Param::text(req.mode),
             req.filter ? Param::text(*req.filter) : Param::null(), Param::text(result.dump())});
}

nlohmann::json answer_usage_event(const Caller& caller, const PreparedChat& chat, const Generated& generated,
                                  bool streamed) {
    nlohmann::json e = usage_event(caller, "answer");
    e["provider"] = generated.answer.provider;
    e["model"] = generated.answer.model;
    e["prompt_tokens"] = chat.cached ? 0 : generated.answer.prompt_tokens;
    e["completion_tokens"] = chat.cached ? 0 : generated.answer.completion_tokens;
    e["latency_ms"] = static_cast<long>(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - chat.started).count() + 0.5);
    e["detail"] = {{"cached", chat.cached.has_value()}, {"streamed", streamed}};
    return e;
}

}  // namespace pgrag::server
