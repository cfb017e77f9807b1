// Scope names.
#include "caller.hpp"

namespace pgrag::server {

const char* scope_name(Scope s) {
    switch (s) {
        case kScopeRead:
            return "read";
        case kScopeWrite:
            return "write";
        case kScopeAdmin:
            return "admin";
    }
    return "?";
}

unsigned parse_scopes(const std::string& text) {
    unsigned out = 0;
    std::string word;
    auto flush = [&] {
        for (Scope s : {kScopeRead, kScopeWrite, kScopeAdmin})
            if (word == scope_name(s)) out |= s;
        word.clear();
    };
    for (char c : text) {
        if (c == '{' || c == '}' || c == ',' || c == ' ' || c == '"')
            flush();
        else
            word += c;
    }
    flush();
    return out;
}

std::string scopes_text(unsigned scopes) {
    std::string out;
    for (Scope s : {kScopeRead, kScopeWrite, kScopeAdmin})
        if (scopes & s) out += (out.empty() ? "" : ", ") + std::string(scope_name(s));
    return out.empty() ? "none" : out;
}

}  // namespace pgrag::server
