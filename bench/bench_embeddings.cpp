// Embedding throughput, ratios measured in one run:
//  - 10 000 texts against the fake provider at 50 ms latency per request, batched and concurrent
//    (the defaults: 96 texts per request, 4 in flight) versus one request per text, sequentially
//    (timed on a sample: 10 000 sequential requests would take over eight minutes at 50 ms each);
//  - the local embedder's throughput in MB of text per second on one core.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/embedding_providers.hpp"
#include "core/local_embedder.hpp"
#include "fake_provider.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<std::string> make_texts(size_t n) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i)
        out.push_back(
            "Document " + std::to_string(i) +
            ": refunds are processed within five business days after the returned item arrives at the warehouse.");
    return out;
}

}  // namespace

int main() {
    fake_provider::Server fake(0);
    pgrag::EmbeddingSettings s;
    s.provider = "openai";
    s.base_url = "http://127.0.0.1:" + std::to_string(fake.port()) + "/latency/50/v1";
    s.api_key = fake_provider::kOpenAiKey;
    pgrag::http::Client client;

    const size_t kTexts = 10000, kSequentialSample = 100;
    auto texts = make_texts(kTexts);

    auto start = std::chrono::steady_clock::now();
    auto batched = pgrag::embed_texts(s, texts, client, nullptr);
    double batched_s = seconds_since(start);

    start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < kSequentialSample; ++i) pgrag::embed_texts(s, {texts[i]}, client, nullptr);
    double sequential_s = seconds_since(start);

    double batched_rate = static_cast<double>(kTexts) / batched_s;
    double sequential_rate = static_cast<double>(kSequentialSample) / sequential_s;
    std::printf("remote embeddings, fake provider at 50 ms per request (%zu texts, %zu embeddings returned)\n", kTexts,
                batched.size());
    std::printf("  batched (%d per request, %d concurrent): %9.0f texts/s\n", s.batch_size, s.http.max_concurrency,
                batched_rate);
    std::printf("  one request per text, sequential:        %9.1f texts/s (sample of %zu)\n", sequential_rate,
                kSequentialSample);
    std::printf("  ratio: %.0fx\n", batched_rate / sequential_rate);

    // Local embedder: MB of text per second on this one thread.
    std::string corpus;
    for (const auto& t : make_texts(20000)) corpus += t + " ";
    std::vector<std::string> docs;
    for (size_t i = 0; i + 1000 <= corpus.size(); i += 1000) docs.push_back(corpus.substr(i, 1000));
    start = std::chrono::steady_clock::now();
    size_t bytes = 0;
    for (const auto& d : docs) {
        bytes += d.size();
        auto v = pgrag::local_embed(d, 384);
        if (v.empty()) return 1;
    }
    double local_s = seconds_since(start);
    std::printf("local embedder (384 dims, 1 KB texts): %.1f MB/s on one core, %.0f texts/s\n",
                static_cast<double>(bytes) / local_s / 1e6, static_cast<double>(docs.size()) / local_s);
    return 0;
}
