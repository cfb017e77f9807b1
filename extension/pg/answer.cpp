// rag_prepare_answer(), rag_generate() and rag_rewrite_question(): the steps of rag_answer(), also
// callable one by one (the HTTP server streams the generation of a prepared prompt itself).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../core/answer.hpp"
#include "../core/extractive.hpp"
#include "../core/error.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "settings.hpp"

namespace pgrag::pg {
namespace {

using nlohmann::json;

http::Client& answer_client() {
    static http::Client client;
    return client;
}

json jsonb_arg(FunctionCallInfo fcinfo, int n) {
    std::string text = pg_guard([&] {
        return std::string(DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(n))));
    });
    return json::parse(text);
}

Datum jsonb_datum(const json& value) {
    std::string text = value.dump();
    return pg_guard([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text.c_str())); });
}

std::string string_field(const json& o, const char* key) {
    return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "";
}

std::vector<ChatMessage> history_of(const json& h) {
    std::vector<ChatMessage> out;
    if (!h.is_array()) return out;
    for (const auto& m : h) out.push_back({string_field(m, "role"), string_field(m, "content")});
    return out;
}

std::vector<Source> sources_of(const json& s) {
    std::vector<Source> out;
    if (!s.is_array()) return out;
    for (const auto& x : s) {
        Source src;
        src.n = x.value("n", 0);
        src.document_id = x.value("document_id", static_cast<int64_t>(0));
        src.chunk_id = x.value("chunk_id", static_cast<int64_t>(0));
        src.title = string_field(x, "title");
        src.source = string_field(x, "source");
        src.content = string_field(x, "content");
        src.heading = string_field(x, "heading");
        src.score = x.contains("score") && x["score"].is_number() ? x["score"].get<double>() : 0.0;
        out.push_back(src);
    }
    return out;
}

json prompt_json(const Prompt& p) {
    json messages = json::array();
    for (const auto& m : p.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
    json sources = json::array();
    for (const auto& s : p.sources)
        sources.push_back({{"n", s.n}, {"document_id", s.document_id}, {"chunk_id", s.chunk_id}, {"title", s.title},
                           {"source", s.source}, {"content", s.content}, {"heading", s.heading}, {"score", s.score}});
    return {{"system", p.system}, {"messages", messages}, {"sources", sources}};
}

Prompt prompt_of(const json& j) {
    Prompt p;
    p.system = string_field(j, "system");
    p.messages = history_of(j.contains("messages") ? j["messages"] : json::array());
    p.sources = sources_of(j.contains("sources") ? j["sources"] : json::array());
    if (p.messages.empty()) throw Error(ErrorCode::InvalidParameterValue, "rag_generate: the prompt has no messages");
    return p;
}

}  // namespace
}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_prepare_answer(question, history jsonb, sources jsonb) -> {system, messages, sources}: the prompt,
// numbered sources and earlier turns packed within pg_rag.max_context_tokens.
PGRAG_FUNCTION(rag_prepare_answer) {
    if (PG_ARGISNULL(0)) throw Error(ErrorCode::NullValueNotAllowed, "rag_prepare_answer: the question is NULL");
    std::string question = text_arg(fcinfo, 0);
    json history = PG_ARGISNULL(1) ? json::array() : jsonb_arg(fcinfo, 1);
    json sources = PG_ARGISNULL(2) ? json::array() : jsonb_arg(fcinfo, 2);
    Prompt p = build_prompt(question, history_of(history), sources_of(sources), system_prompt(), max_context_tokens());
    return jsonb_datum(prompt_json(p));
}

// rag_generate(prompt jsonb) -> {answer, provider, model, usage, fallbacks}: the first provider of
// pg_rag.llm_providers that answers; the ones that failed are listed with their errors.
PGRAG_FUNCTION(rag_generate) {
    if (PG_ARGISNULL(0)) throw Error(ErrorCode::NullValueNotAllowed, "rag_generate: the prompt is NULL");
    Prompt p = prompt_of(jsonb_arg(fcinfo, 0));
    std::vector<std::string> failures;
    Answer a = generate_with_fallback(chat_providers(), p, answer_client(), interrupt_pending, &failures);
    json out = {{"answer", a.text}, {"provider", a.provider}, {"model", a.model},
                {"usage", {{"prompt_tokens", a.prompt_tokens}, {"completion_tokens", a.completion_tokens}}}};
    if (!failures.empty()) out["fallbacks"] = failures;
    return jsonb_datum(out);
}

// rag_rewrite_question(question, history jsonb) -> a standalone question for retrieval: asked of the
// first LLM provider that answers, or (extractive, or every LLM failing) the question plus the
// previous question's content words.
PGRAG_FUNCTION(rag_rewrite_question) {
    std::string question = text_arg(fcinfo, 0);
    std::vector<ChatMessage> history = PG_ARGISNULL(1) ? std::vector<ChatMessage>{} : history_of(jsonb_arg(fcinfo, 1));
    std::string previous;
    for (auto it = history.rbegin(); it != history.rend(); ++it)
        if (it->role == "user") {
            previous = it->content;
            break;
        }
    std::string rewritten;
    if (!history.empty()) {
        std::vector<ChatSettings> llms;
        for (const auto& c : chat_providers())
            if (c.provider != "extractive") llms.push_back(c);
        if (!llms.empty() && chat_providers().front().provider != "extractive") {
            try {
                rewritten = generate_with_fallback(llms, rewrite_prompt(question, history), answer_client(),
                                                   interrupt_pending, nullptr)
                                .text;
            } catch (const Error& e) {
                if (e.code() == ErrorCode::QueryCanceled) throw;
                rewritten.clear();  // no LLM could rewrite: fall back to combining terms
            }
        }
    }
    if (rewritten.empty()) rewritten = previous.empty() ? question : standalone_question_extractive(question, previous);
    return pg_guard([&] { return PointerGetDatum(cstring_to_text(rewritten.c_str())); });
}

// rag_answer_settings() -> text that changes whenever a setting that shapes answers does.
PGRAG_FUNCTION(rag_answer_settings) {
    std::string key = answer_settings_key();
    return pg_guard([&] { return PointerGetDatum(cstring_to_text(key.c_str())); });
}
