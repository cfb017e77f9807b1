// GET / and the chat page's files: a strict Content-Security-Policy (scripts, styles and connections
// from this origin only; no inline script; Trusted Types so no string can become HTML), nosniff, and
// revalidation by ETag so an upgraded server's page is picked up at once.
#include "app.hpp"

namespace pgrag::server {

namespace {

const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'";

// If-None-Match names this version (a list, or *).
bool still_fresh(const httplib::Request& req, const std::string& etag) {
    std::string given = req.get_header_value("If-None-Match");
    return !given.empty() && (given == "*" || given.find(etag) != std::string::npos);
}

void send_file(const App& app, const std::string& name, const httplib::Request& req, httplib::Response& res) {
    if (!app.web.ok())
        throw ApiError(404, "not_found_error", "not_found",
                       "the chat page is not installed here: start pg_rag_server with --web-root (PGRAG_WEB_ROOT) "
                       "naming its folder (server/web in the source tree)");
    const WebFile* file = app.web.find(name);
    if (!file) throw ApiError(404, "not_found_error", "not_found", "no route for GET /" + name);
    res.set_header("Content-Security-Policy", kContentSecurityPolicy);
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Cross-Origin-Opener-Policy", "same-origin");
    res.set_header("Cross-Origin-Resource-Policy", "same-origin");
    res.set_header("Cache-Control", "no-cache");
    res.set_header("ETag", file->etag);
    if (still_fresh(req, file->etag)) {
        res.status = 304;
        return;
    }
    res.status = 200;
    res.set_content(file->content, file->content_type.c_str());
}

}  // namespace

void add_web_routes(Router& r, App& app) {
    // Open: the page signs in itself, with the API's credentials.
    r.add("GET", "/", "/", Access::Open, [&app](const httplib::Request& req, httplib::Response& res, const Caller&) {
        send_file(app, "index.html", req, res);
    });
    // Plain names with an extension only: the API's routes have none, and nothing reaches a subfolder.
    r.add("GET", R"(/([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+))", "/{file}", Access::Open,
          [&app](const httplib::Request& req, httplib::Response& res, const Caller&) {
              std::string name = req.matches[1];
              if (!plain_file_name(name)) throw ApiError(404, "not_found_error", "not_found", "no such file");
              send_file(app, name, req, res);
          });
}

}  // namespace pgrag::server
