// A local fake of the embedding (and later chat) providers for tests and benchmarks.
//
// It speaks each provider's wire format (OpenAI /v1/embeddings, Ollama /api/embed, Gemini
// :batchEmbedContents), checks requests strictly, and injects faults chosen by URL prefix so that
// concurrent tests never share state:
//   /fault/429once-TOKEN   first request for TOKEN: 429 with Retry-After: 1, then normal
//   /fault/429always       always 429 (Retry-After: 0)
//   /fault/500once-TOKEN   first request for TOKEN: 500, then normal
//   /fault/500always       always 500          /fault/401      401 with an error echoing the key
//   /fault/hang            no answer for 20 s  /fault/malformed  200 with invalid JSON
//   /fault/wrongcount      one embedding short /fault/wrongdims  second embedding one dimension short
//   /fault/echoauth        401 whose message contains the key it received, bare (redaction tests)
//   /fault/redirect        307 to /tag/redirected/<the same path> (clients must not follow it)
//   /fault/poison          every text embeds to the same constant vector (cache poisoning tests)
//   /latency/MS            answer after MS milliseconds
//   /gap/MS                streamed answers: MS milliseconds between events (default 2)
//   /tokens/N              streamed chat answers of exactly N pieces (the reply's words, repeated)
//   /dims/N                embeddings of N dimensions (default 8; "dimensions" in the request wins)
// Chat: OpenAI /v1/chat/completions, Ollama /api/chat, Anthropic /v1/messages, Gemini :generateContent.
// The fake model answers "<provider> says: <first sentence of source [1]> [1]", or, asked to rewrite a
// follow-up, "<follow-up> (about: <first user question>)".
// GET /count/KEY returns how many requests arrived for KEY (an endpoint name such as "openai", or a
// fault mode such as "500once-abc"; "cut-TAG" counts streamed Ollama answers of /tag/TAG whose client
// left before the end); GET /last/ENDPOINT returns the last request body it received, and
// GET /lastauth/ENDPOINT the credential headers of that request ("(no credential)" when none).
#pragma once

#include <memory>

namespace fake_provider {

constexpr const char* kOpenAiKey = "sk-test-0123456789abcdef";
constexpr const char* kGeminiKey = "AIzaTestKey0123456789";
constexpr const char* kAnthropicKey = "sk-ant-test-0123456789";

class Server {
  public:
    // Listens on 127.0.0.1:port (0 = any free port) in a background thread.
    explicit Server(int port);
    ~Server();
    int port() const;
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fake_provider
