// The chat page's static files (server/web, installed to share/pg_rag/web), read once at start-up:
// only plain file names of known types, so no request can reach outside the folder.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace pgrag::server {

struct WebFile {
    std::string content;
    std::string content_type;
    std::string etag;  // a strong validator: a hash of the content, quoted
};

class WebFiles {
  public:
    // Reads the regular files of dir whose names are plain (letters, digits, '-', '_', one or more
    // extensions) and whose type is known; ok() is false when dir cannot be read or has no index.html.
    explicit WebFiles(const std::string& dir);
    bool ok() const { return files_.count("index.html") > 0; }
    size_t size() const { return files_.size(); }
    const std::string& dir() const { return dir_; }
    const WebFile* find(const std::string& name) const;

  private:
    std::string dir_;
    std::map<std::string, WebFile> files_;
};

// The Content-Type of a file name by its extension; std::nullopt for types the page does not use.
std::optional<std::string> web_content_type(const std::string& name);

// True for names a request may ask for: [A-Za-z0-9_-] followed by .ext parts, no leading dot.
bool plain_file_name(const std::string& name);

}  // namespace pgrag::server
