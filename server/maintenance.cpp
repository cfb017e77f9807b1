// Background pruning of idle sessions and finished questions.
#include "maintenance.hpp"

#include <cstdio>
#include <string>

namespace pgrag::server {

void Maintenance::run_once() {
    const Options& o = app_.options;
    long sessions = 0, questions = 0;
    try {
        Lease db = app_.pool.acquire();
        if (o.session_ttl_s > 0)
            sessions = std::stol(
                db.value("SELECT rag_prune_all_sessions($1::interval)", {Param::text(interval_param(o.session_ttl_s))})
                    .value_or("0"));
        if (o.question_retention_s > 0)
            questions = std::stol(db.value("SELECT rag_prune_questions($1::interval)",
                                           {Param::text(interval_param(o.question_retention_s))})
                                      .value_or("0"));
        db.release();
        app_.metrics.observe_maintenance(true, sessions, questions);
        if (sessions > 0 || questions > 0)
            std::fprintf(stderr, "maintenance: pruned %ld idle session(s) and %ld finished question(s)\n", sessions,
                         questions);
    } catch (...) {
        app_.metrics.observe_maintenance(false, 0, 0);
        std::fprintf(stderr, "maintenance: pruning failed (next run in %.0f s): %s\n", o.maintenance_interval_s,
                     to_api_error(std::current_exception()).what());
    }
}

// Shared search copies (pg_rag 0.8.0) whose overlay outgrew them or whose change log was pruned past
// them are rebuilt here, off the query path; with an older extension there is nothing to do.
void Maintenance::refresh_search_copies() {
    try {
        Lease db = app_.pool.acquire();
        bool present = db.value("SELECT to_regprocedure('rag_refresh_search_copies(boolean)') IS NOT NULL") == "t";
        std::string rebuilt =
            present ? db.value("SELECT count(*) FILTER (WHERE rebuilt) FROM rag_refresh_search_copies()").value_or("0")
                    : "0";
        db.release();
        if (rebuilt != "0")
            std::fprintf(stderr, "maintenance: rebuilt %s shared search copy file(s)\n", rebuilt.c_str());
    } catch (...) {
        std::fprintf(stderr, "maintenance: refreshing the shared search copies failed (next run in %.0f s): %s\n",
                     app_.options.maintenance_interval_s, to_api_error(std::current_exception()).what());
    }
}

void Maintenance::start() {
    thread_ = std::thread([this] {
        auto interval = std::chrono::milliseconds(static_cast<long>(app_.options.maintenance_interval_s * 1000));
        do {
            run_once();
            refresh_search_copies();
        } while (app_.maintenance_wakeup.wait(app_.maintenance_wakeup.generation(), interval));
    });
}

void Maintenance::join() {
    if (thread_.joinable()) thread_.join();
}

}  // namespace pgrag::server
