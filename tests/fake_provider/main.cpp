// fake_provider PORT [MAX_SECONDS]: runs the fake provider until SIGTERM/SIGINT or MAX_SECONDS (default 3600).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "fake_provider.hpp"

namespace {
volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) { stop_requested = 1; }
}  // namespace

int main(int argc, char** argv) {
    int port = argc > 1 ? std::atoi(argv[1]) : 0;
    int max_seconds = argc > 2 ? std::atoi(argv[2]) : 3600;
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::signal(SIGPIPE,
                SIG_IGN);  // a client gone mid-stream must not kill the fake (cpp-httplib sends without MSG_NOSIGNAL)
    fake_provider::Server server(port);
    std::printf("fake provider listening on 127.0.0.1:%d\n", server.port());
    std::fflush(stdout);
    for (int i = 0; i < max_seconds * 10 && !stop_requested; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server.stop();
    return 0;
}
