// Citations in answer text, and the list of cited sources.
#include "cited_sources.hpp"

#include <algorithm>
#include <cctype>

namespace pgrag::server {

std::vector<int> cited_numbers(const std::string& text) {
    std::vector<int> out;
    for (size_t open = text.find('['); open != std::string::npos; open = text.find('[', open + 1)) {
        // Digits separated by commas and spaces, then ']': anything else is not a citation.
        std::vector<int> found;
        size_t i = open + 1;
        bool ok = false;
        while (i < text.size()) {
            size_t start = i;
            long n = 0;
            while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i - start < 4)
                n = n * 10 + (text[i++] - '0');
            if (i == start) break;
            found.push_back(static_cast<int>(n));
            while (i < text.size() && text[i] == ' ') ++i;
            if (i < text.size() && text[i] == ']') {
                ok = true;
                break;
            }
            if (i >= text.size() || text[i] != ',') break;
            ++i;
            while (i < text.size() && text[i] == ' ') ++i;
        }
        if (!ok) continue;
        for (int n : found)
            if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
    return out;
}

std::string sources_footer(const std::string& text, const nlohmann::json& sources) {
    std::string list;
    for (int n : cited_numbers(text)) {
        for (const auto& s : sources) {
            if (!s.is_object() || s.value("n", 0) != n) continue;
            std::string title = s.value("title", "");
            std::string source = s.value("source", "");
            std::string line = "- [" + std::to_string(n) + "] " + (title.empty() ? source : title);
            if (!title.empty() && !source.empty() && source != title) line += " (" + source + ")";
            list += line + "\n";
        }
    }
    return list.empty() ? "" : "\n\nSources:\n" + list;
}

}  // namespace pgrag::server
