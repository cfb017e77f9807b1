// GET /healthz (the process), /readyz (a connection works and the extension is installed), /metrics
// (with queued questions by status, read from the database on each scrape).
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

    // Open, as scrapers expect: counts and latencies, no user's data. Queued questions by status are
    // read now; when the database cannot tell, the last reading stays.
    r.add("GET", "/metrics", "/metrics", Access::Open,
          [&app](const httplib::Request&, httplib::Response& res, const Caller&) {
              try {
                  Lease db = app.pool.acquire();
                  PgResult counts = db.exec("SELECT status, questions FROM rag_question_counts()");
                  db.release();
                  std::vector<std::pair<std::string, long>> by_status;
                  for (int i = 0; i < PQntuples(counts.get()); ++i)
                      by_status.emplace_back(PQgetvalue(counts.get(), i, 0), std::atol(PQgetvalue(counts.get(), i, 1)));
                  app.metrics.set_question_counts(by_status);
              } catch (...) {
              }
              res.set_content(app.metrics.render(app.pool), "text/plain; version=0.0.4");
          });
}

}  // namespace pgrag::server
