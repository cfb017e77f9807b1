// POST /v1/embeddings through rag_embed (the database's embedding provider): float or base64
// (little-endian float32), optionally shortened to `dimensions`.
#include "app.hpp"
#include "base64.hpp"
#include "core/chunker.hpp"
#include "openai_request.hpp"
#include "request_json.hpp"
#include "shorten_embedding.hpp"

namespace pgrag::server {

namespace {

void embeddings(App& app, const Caller& caller, const httplib::Request& http_req, httplib::Response& res) {
    EmbeddingsRequest req = read_embeddings_request(parse_json_object(http_req.body));
    Lease db = app.pool.acquire(caller.db());
    // real[] as JSON numbers: float4 prints the shortest text that reads back as the same float.
    auto row = db.value(
        "SELECT coalesce(jsonb_agg(to_jsonb(e::real[]) ORDER BY i), '[]')"
        " FROM unnest(rag_embed(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))) WITH ORDINALITY u(e, i)",
        {Param::text(nlohmann::json(req.inputs).dump())});
    db.release();
    nlohmann::json vectors = nlohmann::json::parse(row.value_or("[]"));
    if (vectors.size() != req.inputs.size())
        throw ApiError(500, "server_error", "internal_error", "rag_embed returned a different number of vectors");
    nlohmann::json data = nlohmann::json::array();
    long tokens = 0;
    for (size_t i = 0; i < vectors.size(); ++i) {
        std::vector<float> v = vectors[i].get<std::vector<float>>();
        if (req.dimensions) {
            if (*req.dimensions > v.size())
                throw bad_request("\"dimensions\" must be at most " + std::to_string(v.size()) +
                                  ", the embedding model's dimensions, not " + std::to_string(*req.dimensions));
            v = shorten_embedding(v, *req.dimensions);
        }
        nlohmann::json item = {{"object", "embedding"}, {"index", i}};
        if (req.base64)
            item["embedding"] = float32_base64(v);
        else
            item["embedding"] = v;
        data.push_back(item);
        tokens += static_cast<long>(approximate_tokens(req.inputs[i]));
    }
    send_json(res, 200,
              {{"object", "list"},
               {"data", data},
               {"model", req.model},
               {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

}  // namespace

void add_openai_embedding_routes(Router& r, App& app) {
    r.add("POST", "/v1/embeddings", "/v1/embeddings", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              embeddings(app, caller, req, res);
          });
}

}  // namespace pgrag::server
