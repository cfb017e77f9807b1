// The request mix of the load benchmark.
#include "workload.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace bench {

Workload::Workload(const std::string& questions_file) {
    std::ifstream in(questions_file);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) questions_.push_back(line);
    if (questions_.empty()) throw std::runtime_error("no questions in " + questions_file);
}

const std::string& Workload::question(int client, long n) const {
    // Clients walk the questions from different places, so concurrent requests differ.
    size_t i = (static_cast<size_t>(client) * 104729u + static_cast<size_t>(n) * 7919u) % questions_.size();
    return questions_[i];
}

std::string url_encode(const std::string& s) {
    std::string out;
    char buf[4];
    for (unsigned char ch : s) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out += static_cast<char>(ch);
        } else {
            std::snprintf(buf, sizeof buf, "%%%02X", ch);
            out += buf;
        }
    }
    return out;
}

}  // namespace bench
