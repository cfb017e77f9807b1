// rag_prepare_answer(), rag_generate(), rag_rewrite_question(), rag_answer_result() and
// rag_answer_cache_key(): the steps of rag_answer(), also callable one by one (the HTTP server streams
// the generation of a prepared prompt itself). The JSON shapes live in core/answer_json.*.
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../core/answer.hpp"
#include "../core/answer_json.hpp"
#include "../core/error.hpp"
#include "../core/extractive.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "identity.hpp"
#include "setting_fn.hpp"
#include "settings.hpp"

namespace pgrag::pg {
namespace {

using nlohmann::json;

http::Client& answer_client() {
    static http::Client client;
    return client;
}

// A jsonb argument as JSON (the caller has checked it is not NULL).
json jsonb_arg(FunctionCallInfo fcinfo, int n) {
    const char* text = pg_guard([&] { return DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(n))); });
    return json::parse(text);
}

Datum jsonb_datum(const json& value) {
    std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    return pg_guard([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(text.c_str())); });
}

// Argument n as JSON; SQL NULL (or a missing argument) reads as JSON null.
json optional_jsonb_arg(FunctionCallInfo fcinfo, int n) {
    return PG_NARGS() <= n || PG_ARGISNULL(n) ? json() : jsonb_arg(fcinfo, n);
}

// Runs fn; a contract error (bad JSON shape) names the SQL function it came through.
template <typename Fn>
auto named(const char* function, Fn&& fn) -> decltype(fn()) {
    try {
        return fn();
    } catch (const Error& e) {
        if (e.code() != ErrorCode::InvalidParameterValue) throw;
        throw Error(e.code(), std::string(function) + ": " + e.what());
    }
}

void require_arg(FunctionCallInfo fcinfo, int n, const char* message) {
    if (PG_ARGISNULL(n)) throw Error(ErrorCode::NullValueNotAllowed, message);
}

}  // namespace
}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_prepare_answer(question, history jsonb, sources jsonb) -> {system, messages, sources}: the prompt,
// numbered sources and earlier turns packed within pg_rag.max_context_tokens.
PGRAG_FUNCTION(rag_prepare_answer) {
    require_arg(fcinfo, 0, "rag_prepare_answer: the question is NULL");
    std::string question = text_arg(fcinfo, 0);
    auto history = named("rag_prepare_answer", [&] { return messages_from_json(optional_jsonb_arg(fcinfo, 1)); });
    auto sources = named("rag_prepare_answer", [&] { return sources_from_json(optional_jsonb_arg(fcinfo, 2)); });
    return jsonb_datum(prompt_to_json(build_prompt(question, history, sources, system_prompt(), max_context_tokens())));
}

// rag_generate(prompt jsonb) -> {answer, provider, model, usage, fallbacks}: the first provider of
// pg_rag.llm_providers that answers; the ones that failed are listed with their errors.
PGRAG_FUNCTION(rag_generate) {
    require_arg(fcinfo, 0, "rag_generate: the prompt is NULL");
    Prompt p = named("rag_generate", [&] { return prompt_from_json(jsonb_arg(fcinfo, 0)); });
    Generated g;
    g.answer = generate_with_fallback(chat_providers(), p, answer_client(), interrupt_pending, &g.fallbacks);
    return jsonb_datum(generated_to_json(g));
}

// rag_rewrite_question(question, history jsonb) -> a standalone question for retrieval: asked of the
// first LLM provider that answers, or (extractive, or every LLM failing) the question plus the
// previous question's content words.
PGRAG_FUNCTION(rag_rewrite_question) {
    require_arg(fcinfo, 0, "rag_rewrite_question: the question is NULL");
    std::string question = text_arg(fcinfo, 0);
    auto history = named("rag_rewrite_question", [&] { return messages_from_json(optional_jsonb_arg(fcinfo, 1)); });
    std::string rewritten =
        standalone_question(chat_providers(), question, history, answer_client(), interrupt_pending);
    return pg_guard([&] { return PointerGetDatum(cstring_to_text(rewritten.c_str())); });
}

// rag_chat_provider_credentials() -> jsonb: the providers of pg_rag.llm_providers as rag_generate would
// use them now, each with the API key bound to its URL, for the HTTP server to stream with. It hands out
// secrets: EXECUTE is revoked from PUBLIC, and an administrator grants it to the server's role only.
PGRAG_FUNCTION(rag_chat_provider_credentials) { return jsonb_datum(chat_settings_to_json(chat_providers())); }

// rag_answer_settings() -> text that changes whenever a setting that shapes answers does.
PGRAG_FUNCTION(rag_answer_settings) {
    std::string key = answer_settings_key();
    return pg_guard([&] { return PointerGetDatum(cstring_to_text(key.c_str())); });
}

// rag_answer_result(prompt jsonb, generated jsonb, standalone_question text) -> rag_answer's result
// without latency_ms (answer_json.hpp): the shape lives in the core, where the HTTP server finds it.
PGRAG_FUNCTION(rag_answer_result) {
    require_arg(fcinfo, 0, "rag_answer_result: the prompt is NULL");
    require_arg(fcinfo, 1, "rag_answer_result: the generated answer is NULL");
    Prompt p = named("rag_answer_result", [&] { return prompt_from_json(jsonb_arg(fcinfo, 0)); });
    Generated g = named("rag_answer_result", [&] { return generated_from_json(jsonb_arg(fcinfo, 1)); });
    return jsonb_datum(answer_result(p, g, optional_text_arg(fcinfo, 2).value_or("")));
}

// rag_answer_cache_key(question, k, mode, filter jsonb) -> bytea: sha256 of the normalised question, the
// search options, every visible pg_rag setting and the caller's identity, so any change of one misses
// the cache and two users never share an answer (each was drawn from what its asker may see).
PGRAG_FUNCTION(rag_answer_cache_key) {
    require_arg(fcinfo, 0, "rag_answer_cache_key: the question is NULL");
    std::map<std::string, std::string> settings = visible_settings();
    settings["resolved answer settings"] = answer_settings_key();  // the providers' default models and prompt
    Identity who = current_identity();
    // Length-prefixed: no user and tenant pair reads as another.
    settings["resolved identity"] = std::to_string(who.user.size()) + ":" + who.user +
                                    (who.tenant ? std::to_string(who.tenant->size()) + ":" + *who.tenant : "-");
    int k = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
    std::string text = answer_cache_key_text(text_arg(fcinfo, 0), k, optional_text_arg(fcinfo, 2).value_or(""),
                                             optional_jsonb_arg(fcinfo, 3), settings);
    return pg_guard([&] {
        bytea* input = static_cast<bytea*>(palloc(VARHDRSZ + text.size()));
        SET_VARSIZE(input, VARHDRSZ + text.size());
        memcpy(VARDATA(input), text.data(), text.size());
        return DirectFunctionCall1(sha256_bytea, PointerGetDatum(input));
    });
}
