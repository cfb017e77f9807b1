// The sources an answer cites, as a short list appended to its text for chat front ends that show
// only the text (/v1/chat/completions with append_sources).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace pgrag::server {

// The source numbers text cites as [n], [n][m] or [n, m], each once, in order of first citation.
std::vector<int> cited_numbers(const std::string& text);

// "\n\nSources:\n- [1] Title (source)\n..." for the sources (the answer's {n, title, source} list) that
// text cites; "" when it cites none of them.
std::string sources_footer(const std::string& text, const nlohmann::json& sources);

}  // namespace pgrag::server
