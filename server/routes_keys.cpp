// API keys over HTTP, for admin callers: make (the key is shown once), list (never hashes), revoke.
#include "app.hpp"
#include "request_json.hpp"

namespace pgrag::server {

namespace {
constexpr const char* kListKeys = "SELECT coalesce(jsonb_agg(to_jsonb(k) ORDER BY k.id), '[]') FROM rag_api_keys() k";
}

void add_key_routes(Router& r, App& app) {
    r.add(
        "POST", "/api/keys", "/api/keys", Access::Admin,
        [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
            nlohmann::json body = parse_json_object(req.body);
            only_fields(body, {"name", "user_id", "scopes", "expires_at", "tenant_id"});
            std::string name = required_text(body, "name");
            std::string user = required_text(body, "user_id");
            std::optional<std::string> scopes;
            if (auto it = body.find("scopes"); it != body.end() && !it->is_null()) {
                if (!it->is_array()) throw bad_request("\"scopes\" must be an array of read, write and admin");
                for (const auto& s : *it)
                    if (!s.is_string()) throw bad_request("\"scopes\" must be an array of read, write and admin");
                scopes = it->dump();
            }
            auto expires = opt_string(body, "expires_at");
            auto tenant = opt_string(body, "tenant_id");
            Lease db = app.pool.acquire(caller.db());
            std::string key =
                db.value(
                      "SELECT rag_create_api_key($1, $2, CASE WHEN $3::jsonb IS NULL THEN '{read,write}'"
                      " ELSE ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) END, $4::timestamptz, $5)",
                      {Param::text(name), Param::text(user), scopes ? Param::text(*scopes) : Param::null(),
                       expires ? Param::text(*expires) : Param::null(), tenant ? Param::text(*tenant) : Param::null()})
                    .value_or("");
            auto made = db.value("SELECT to_jsonb(k) FROM rag_api_keys() k WHERE k.prefix = $1",
                                 {Param::text(key.substr(5, 12))});
            db.release();
            nlohmann::json out = nlohmann::json::parse(made.value_or("{}"));
            out["key"] = key;
            send_json(res, 201, out);
        });

    r.add("GET", "/api/keys", "/api/keys", Access::Admin,
          [&app](const httplib::Request&, httplib::Response& res, const Caller& caller) {
              auto out = value_as(app, caller, kListKeys);
              res.set_content("{\"keys\":" + out.value_or("[]") + "}", "application/json");
          });

    r.add("DELETE", R"(/api/keys/(\d+))", "/api/keys/{id}", Access::Admin,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              std::string id = req.matches[1];
              if (id.size() > 18) throw ApiError(404, "not_found_error", "not_found", "no API key " + id);
              auto out = value_as(app, caller, "SELECT rag_revoke_api_key($1::bigint)", {Param::text(id)});
              if (out.value_or("f") != "t")
                  throw ApiError(404, "not_found_error", "not_found", "no API key " + id + " that is not revoked yet");
              send_json(res, 200, {{"revoked", true}, {"id", std::stoll(id)}});
          });
}

}  // namespace pgrag::server
