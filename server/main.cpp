// pg_rag_server: the HTTP server of pg_rag (see README.md, "HTTP server").
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "app.hpp"
#include "jwt_callers.hpp"
#include "jwt_setup.hpp"
#include "maintenance.hpp"
#include "options.hpp"
#include "question_workers.hpp"

using namespace pgrag::server;

int main(int argc, char** argv) {
    ParsedOptions parsed = parse_options(argc, argv);
    if (parsed.exit) {
        std::fputs(parsed.text.c_str(), parsed.exit_status == 0 ? stdout : stderr);
        return parsed.exit_status;
    }
    const Options& o = parsed.options;
    // Loaded at start so a wrong secret file or JWKS stops the server now, not at the first request.
    std::unique_ptr<JwtVerifier> jwt;
    try {
        jwt = make_jwt_verifier(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pg_rag_server: %s\n", e.what());
        return 2;
    }
    if (o.jwt_check) return check_token(*jwt, std::cin, std::cout, std::cerr);
    if (!o.auth_required() && !is_loopback(o.host) && !o.allow_unauthenticated) {
        std::fprintf(stderr,
                     "pg_rag_server: refusing to listen on %s with --auth none: without sign-in only loopback "
                     "addresses (127.0.0.1, ::1, localhost) are served; use --auth required (API keys, JWTs), or "
                     "--allow-unauthenticated behind an authenticating proxy\n",
                     o.host.c_str());
        return 2;
    }

    // SIGTERM and SIGINT are taken by sigwait below, in this thread only: block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    App app(o);
    if (jwt) app.auth.set_jwt(jwt_caller_check(*jwt, o));
    app.usage.start();
    httplib::Server http;
    configure(http, app);
    if (!http.bind_to_port(o.host, o.port)) {
        std::fprintf(stderr, "pg_rag_server: cannot listen on %s:%d\n", o.host.c_str(), o.port);
        return 1;
    }
    raise_listen_backlog(app);
    std::fprintf(
        stderr,
        "pg_rag_server: listening on http://%s:%d (pool %d connections, %d threads, %d question workers, sign-in %s)\n",
        o.host.c_str(), o.port, o.pool_size, o.threads, o.question_workers,
        o.auth_required() ? "required" : "not required");
    if (app.web.ok())
        std::fprintf(stderr, "pg_rag_server: the chat page at http://%s:%d/ (%zu files from %s)\n", o.host.c_str(),
                     o.port, app.web.size(), app.web.dir().c_str());
    else
        std::fprintf(stderr, "pg_rag_server: chat page not served: no index.html in %s (set --web-root)\n",
                     app.web.dir().c_str());
    std::thread listener([&] { http.listen_after_bind(); });
    QuestionWorkers workers(app);
    workers.start();
    Maintenance maintenance(app);
    maintenance.start();

    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "pg_rag_server: %s: no new connections; waiting up to %d s for %d stream(s)\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT", o.shutdown_timeout_s, app.active_streams.load());
    app.stopping = true;
    // Idle workers and the pruning thread end now; a worker answering finishes like a stream.
    app.question_wakeup.stop();
    app.maintenance_wakeup.stop();
    // Streams past the deadline end with an error event; a worker stuck beyond it does not hold the exit.
    std::thread watchdog([&app, timeout = o.shutdown_timeout_s] {
        std::this_thread::sleep_for(std::chrono::seconds(timeout));
        app.past_deadline = true;
        std::this_thread::sleep_for(std::chrono::seconds(5));
        std::fprintf(stderr, "pg_rag_server: stopped (deadline)\n");
        std::_Exit(0);
    });
    watchdog.detach();
    http.stop();
    listener.join();
    workers.join();
    maintenance.join();
    app.usage.stop();
    app.usage.flush();  // the last events
    std::fprintf(stderr, "pg_rag_server: stopped\n");
    std::fflush(stderr);
    std::_Exit(0);  // skip static destructors: detached threads may still be running
}
