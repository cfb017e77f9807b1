// The request mix of the load benchmark, the same sequence for every side: client c's n-th request is
// a search when c + n is even, an extractive chat otherwise, about one of the questions of the file.
#pragma once

#include <string>
#include <vector>

namespace bench {

enum Kind { kSearch = 0, kChat = 1 };
inline const char* kind_name(int kind) { return kind == kSearch ? "search" : "chat"; }

class Workload {
  public:
    // One question a line (bench/server/run.sh exports them from the knowledge base).
    explicit Workload(const std::string& questions_file);
    Kind kind(int client, long n) const { return (client + n) % 2 == 0 ? kSearch : kChat; }
    const std::string& question(int client, long n) const;
    size_t size() const { return questions_.size(); }

  private:
    std::vector<std::string> questions_;
};

// The parameters both sides send: top 5, hybrid (the server's defaults, sent explicitly).
constexpr const char* kK = "5";
constexpr const char* kMode = "hybrid";

// Percent-encodes everything but unreserved characters (for the query string).
std::string url_encode(const std::string& s);

}  // namespace bench
