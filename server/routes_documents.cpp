// Documents: POST (JSON through rag_ingest, multipart files through rag_ingest_file), list, get, delete.
#include "app.hpp"
#include "request_json.hpp"

namespace pgrag::server {

namespace {

// The document id in the path (the route's regex allows digits only).
std::string path_id(const httplib::Request& req) {
    std::string id = req.matches[1];
    if (id.size() > 18) throw ApiError(404, "not_found_error", "not_found", "no document " + id);
    return id;
}

// Whether an upload is shared, as rag_ingest's shared argument: asked for (admin only), or the caller's
// own; the anonymous local caller (--auth none) leaves it to the database (shared when its role is an
// administrator, as uploads in psql are).
Param shared_param(const Caller& caller, std::optional<bool> shared) {
    if (shared.value_or(false)) require_scope(caller, kScopeAdmin, "a shared document");
    if (!shared && !caller.authenticated) return Param::null();
    return Param::text(shared.value_or(false) ? "true" : "false");
}

// Runs an ingest call returning the document id, then counts its chunks (a statement of its own: the
// call's rows are not visible to the statement that made them).
std::string ingest(App& app, const Caller& caller, std::optional<bool> shared, const std::string& call,
                   std::vector<Param> params) {
    params.push_back(shared_param(caller, shared));
    Lease db = app.pool.acquire(caller.db());
    std::string id = db.value("SELECT " + call, params).value_or("0");
    std::string chunks =
        db.value("SELECT count(*) FROM rag_chunks WHERE document_id = $1::bigint", {Param::text(id)}).value_or("0");
    db.release();
    nlohmann::json event = usage_event(caller, "upload");
    event["detail"] = {
        {"document_id", std::stoll(id)}, {"chunks", std::stoll(chunks)}, {"shared", shared.value_or(false)}};
    app.usage.record(std::move(event));
    return nlohmann::json({{"id", std::stoll(id)}, {"chunks", std::stoll(chunks)}}).dump();
}

void ingest_json(App& app, const Caller& caller, const httplib::Request& req, httplib::Response& res) {
    nlohmann::json body = parse_json_object(req.body);
    only_fields(body, {"title", "content", "source", "metadata", "shared"});
    std::optional<bool> shared = opt_bool(body, "shared");
    std::string title = required_text(body, "title");
    auto content = opt_string(body, "content");
    if (!content || content->empty()) throw bad_request("\"content\" is required and must not be empty");
    auto source = opt_string(body, "source");
    auto metadata = opt_object_text(body, "metadata");
    std::string out =
        ingest(app, caller, shared, "rag_ingest($1, $2, coalesce($3::jsonb, '{}'), $4, shared => $5::boolean)",
               {Param::text(title), Param::text(*content), metadata ? Param::text(*metadata) : Param::null(),
                source ? Param::text(*source) : Param::null()});
    res.status = 201;
    res.set_content(out, "application/json");
}

void ingest_file(App& app, const Caller& caller, const httplib::Request& req, httplib::Response& res) {
    if (!req.has_file("file")) throw bad_request("a multipart upload needs a \"file\" part");
    std::optional<bool> shared;
    if (req.has_file("shared")) {
        std::string v = req.get_file_value("shared").content;
        if (v != "true" && v != "false") throw bad_request("the \"shared\" part must be true or false");
        shared = v == "true";
    }
    const auto& file = req.get_file_value("file");
    std::string filename = file.filename.empty() ? "upload" : file.filename;
    std::optional<std::string> metadata, source;
    if (req.has_file("metadata")) {
        nlohmann::json m = parse_json_object(req.get_file_value("metadata").content);
        metadata = m.dump();
    }
    if (req.has_file("source")) source = req.get_file_value("source").content;
    if (req.has_file("title")) filename = req.get_file_value("title").content;
    std::string out =
        ingest(app, caller, shared,
               "rag_ingest_file($1, $2, coalesce($3::jsonb, '{}'), coalesce($4, $2), shared => $5::boolean)",
               {Param::bytes(file.content), Param::text(filename), metadata ? Param::text(*metadata) : Param::null(),
                source ? Param::text(*source) : Param::null()});
    res.status = 201;
    res.set_content(out, "application/json");
}

}  // namespace

void add_document_routes(Router& r, App& app) {
    r.add("POST", "/api/documents", "/api/documents", Access::Write,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              if (req.is_multipart_form_data()) return ingest_file(app, caller, req, res);
              std::string type = req.get_header_value("Content-Type");
              if (!type.empty() && type.find("json") == std::string::npos)
                  throw ApiError(415, "invalid_request_error", "unsupported_media_type",
                                 "send JSON {title, content, source, metadata} or a multipart/form-data upload with a "
                                 "\"file\" part");
              ingest_json(app, caller, req, res);
          });

    r.add("GET", "/api/documents", "/api/documents", Access::Read,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              long limit = query_int(req, "limit", 1, 1000).value_or(50);
              long offset = query_int(req, "offset", 0, 1000000000000L).value_or(0);
              auto out = value_as(
                  app, caller,
                  "SELECT jsonb_build_object('documents', coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'title', "
                  "d.title,"
                  " 'source', d.source, 'mime', d.mime, 'metadata', d.metadata, 'chunks',"
                  " (SELECT count(*) FROM rag_chunks c WHERE c.document_id = d.id), 'created_at', d.created_at,"
                  " 'updated_at', d.updated_at) ORDER BY d.id), '[]'), 'total', (SELECT count(*) FROM rag_documents),"
                  " 'limit', $1::integer, 'offset', $2::bigint)"
                  " FROM (SELECT * FROM rag_documents ORDER BY id LIMIT $1::integer OFFSET $2::bigint) d",
                  {Param::text(std::to_string(limit)), Param::text(std::to_string(offset))});
              res.set_content(out.value_or("null"), "application/json");
          });

    r.add(
        "GET", R"(/api/documents/(\d+))", "/api/documents/{id}", Access::Read,
        [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
            std::string id = path_id(req);
            auto out = value_as(
                app, caller,
                "SELECT jsonb_build_object('id', d.id, 'title', d.title, 'source', d.source, 'mime', d.mime, "
                "'metadata', d.metadata,"
                " 'content', d.content, 'chunks', (SELECT count(*) FROM rag_chunks c WHERE c.document_id = d.id),"
                " 'created_at', d.created_at, 'updated_at', d.updated_at) FROM rag_documents d WHERE d.id = $1::bigint",
                {Param::text(id)});
            if (!out) throw ApiError(404, "not_found_error", "not_found", "no document " + id);
            res.set_content(*out, "application/json");
        });

    r.add("DELETE", R"(/api/documents/(\d+))", "/api/documents/{id}", Access::Write,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller& caller) {
              std::string id = path_id(req);
              auto out = value_as(app, caller, "SELECT rag_delete_document($1::bigint)", {Param::text(id)});
              if (out.value_or("f") != "t") throw ApiError(404, "not_found_error", "not_found", "no document " + id);
              nlohmann::json event = usage_event(caller, "delete");
              event["detail"] = {{"document_id", std::stoll(id)}};
              app.usage.record(std::move(event));
              send_json(res, 200, {{"deleted", true}, {"id", std::stoll(id)}});
          });
}

}  // namespace pgrag::server
