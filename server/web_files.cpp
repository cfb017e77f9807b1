// Loading the chat page's files.
#include "web_files.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace pgrag::server {

namespace {
// FNV-1a, 64 bits: enough to tell two versions of a file apart for revalidation.
std::string content_hash(const std::string& s) {
    unsigned long long h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "\"%016llx\"", h);
    return buf;
}
}  // namespace

std::optional<std::string> web_content_type(const std::string& name) {
    static const std::map<std::string, std::string> types = {{"html", "text/html; charset=utf-8"},
                                                             {"js", "text/javascript; charset=utf-8"},
                                                             {"css", "text/css; charset=utf-8"},
                                                             {"svg", "image/svg+xml"},
                                                             {"png", "image/png"},
                                                             {"ico", "image/x-icon"},
                                                             {"txt", "text/plain; charset=utf-8"},
                                                             {"webmanifest", "application/manifest+json"},
                                                             {"json", "application/json"}};
    size_t dot = name.rfind('.');
    if (dot == std::string::npos) return std::nullopt;
    auto it = types.find(name.substr(dot + 1));
    if (it == types.end()) return std::nullopt;
    return it->second;
}

bool plain_file_name(const std::string& name) {
    if (name.empty() || name.size() > 100 || name.front() == '.' || name.back() == '.') return false;
    bool dot_seen = false;
    char previous = 0;
    for (char c : name) {
        bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
        if (c == '.') {
            if (previous == '.') return false;
            dot_seen = true;
        } else if (!plain) {
            return false;
        }
        previous = c;
    }
    return dot_seen;
}

WebFiles::WebFiles(const std::string& dir) : dir_(dir) {
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* entry = readdir(d)) {
        std::string name = entry->d_name;
        if (!plain_file_name(name)) continue;
        auto type = web_content_type(name);
        if (!type) continue;
        std::string path = dir + "/" + name;
        struct stat st {};
        if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        std::ifstream in(path, std::ios::binary);
        std::stringstream content;
        content << in.rdbuf();
        if (!in) continue;
        WebFile f{content.str(), *type, ""};
        f.etag = content_hash(f.content);
        files_.emplace(name, std::move(f));
    }
    closedir(d);
}

const WebFile* WebFiles::find(const std::string& name) const {
    auto it = files_.find(name);
    return it == files_.end() ? nullptr : &it->second;
}

}  // namespace pgrag::server
