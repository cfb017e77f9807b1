// Chat providers as a codec table (like EmbeddingCodec): per provider, its defaults, the name of its
// key, the request, the response parser and the stream decoder. answer.cpp drives them.
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "answer.hpp"

namespace pgrag {

using TextSink = std::function<void(const std::string&)>;

struct ChatCodec {
    const char* name;
    const char* default_model;
    const char* default_url;  // "" for in-process providers
    const char* key_env;      // environment variable of the API key; nullptr: no key needed
    bool json_lines;          // streams JSON lines (Ollama) rather than server-sent events
    // The request for a prompt (stream: the streaming form); nullptr for in-process providers.
    http::Request (*request)(const ChatSettings& s, const std::string& model, const Prompt& p, bool stream);
    // Reads the text and usage of a 2xx response document into a; leaves a.text empty when there is none.
    void (*parse)(const nlohmann::json& doc, Answer& a);
    // Reads one stream event: emits text pieces, records usage, throws for an error event.
    void (*stream_event)(const nlohmann::json& doc, Answer& a, const TextSink& emit);
    // Answers in process (the extractive answerer); nullptr for HTTP providers.
    Answer (*local)(const ChatSettings& s, const Prompt& p);
};

// The codec of a provider; throws Error(InvalidParameterValue) for an unknown name.
const ChatCodec& chat_codec(const std::string& provider);

// Every chat provider, in the order the documentation lists them.
std::vector<std::string> chat_provider_names();

// Turns a provider's streamed bytes (any split) into text pieces and usage, line by line.
class ChatStreamDecoder {
  public:
    ChatStreamDecoder(const ChatCodec& codec, Answer& answer, const TextSink& on_text);
    void feed(std::string_view bytes);
    void finish();  // the last line, when the stream did not end with a newline

  private:
    void handle(const std::string& line);
    const ChatCodec& codec_;
    Answer& answer_;
    TextSink emit_;
    std::string buffer_;
};

}  // namespace pgrag
