// GET /healthz (the process), /readyz (a connection works and the extension is installed), /metrics.
#include "app.hpp"

namespace pgrag::server {

void add_health_routes(Router& r, App& app) {
    r.add("GET", "/healthz", "/healthz", Access::Open,
          [](const httplib::Request&, httplib::Response& res, const Caller&) {
              send_json(res, 200, {{"status", "ok"}});
          });

    r.add("GET", "/readyz", "/readyz", Access::Open,
          [&app](const httplib::Request&, httplib::Response& res, const Caller&) {
              if (app.stopping)
                  throw ApiError(503, "unavailable_error", "shutting_down", "the server is shutting down");
              Lease db = app.pool.acquire();
              auto version = db.value("SELECT extversion FROM pg_extension WHERE extname = 'pg_rag'");
              db.release();
              if (!version)
                  throw ApiError(503, "unavailable_error", "extension_missing",
                                 "the pg_rag extension is not installed in this database (CREATE EXTENSION pg_rag)");
              send_json(res, 200, {{"status", "ready"}, {"extension_version", *version}});
          });

    // Open, as scrapers expect: counts and latencies, no user's data.
    r.add("GET", "/metrics", "/metrics", Access::Open,
          [&app](const httplib::Request&, httplib::Response& res, const Caller&) {
              res.set_content(app.metrics.render(app.pool), "text/plain; version=0.0.4");
          });
}

}  // namespace pgrag::server
