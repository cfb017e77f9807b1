#include "extract.hpp"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>
#include <vector>

#include "error.hpp"

namespace pgrag {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

[[noreturn]] void corrupt(const std::string& type, const std::string& why) {
    throw Error(ErrorCode::InvalidTextRepresentation, "could not extract text from " + type + ": " + why);
}

std::string checked_text(std::string_view content, const std::string& type) {
    if (content.size() >= 3 && content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);  // BOM
    size_t bad = invalid_utf8_offset(content);
    if (bad != std::string_view::npos)
        corrupt(type, content[bad] == '\0' ? "NUL byte at offset " + std::to_string(bad)
                                           : "invalid UTF-8 at byte offset " + std::to_string(bad));
    return std::string(content);
}

// ---- HTML ----------------------------------------------------------------------------------------

class HtmlText {
  public:
    std::string out;

    void walk(xmlNode* node) {
        for (xmlNode* n = node; n; n = n->next) {
            if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
                text(reinterpret_cast<const char*>(n->content));
                continue;
            }
            if (n->type != XML_ELEMENT_NODE) continue;
            std::string tag = lower(reinterpret_cast<const char*>(n->name));
            if (tag == "script" || tag == "style" || tag == "nav" || tag == "noscript" || tag == "template" ||
                tag == "head" || tag == "svg" || tag == "iframe")
                continue;
            if (tag.size() == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6') {
                block();
                out += std::string(static_cast<size_t>(tag[1] - '0'), '#') + " ";
                walk(n->children);
                block();
            } else if (tag == "li") {
                line();
                out += "- ";
                walk(n->children);
                line();
            } else if (tag == "tr") {
                line();
                first_cell_ = true;
                walk(n->children);
                line();
            } else if (tag == "td" || tag == "th") {
                if (!first_cell_) out += " | ";
                first_cell_ = false;
                walk(n->children);
            } else if (tag == "br") {
                line();
            } else if (tag == "p" || tag == "div" || tag == "section" || tag == "article" || tag == "table" ||
                       tag == "ul" || tag == "ol" || tag == "pre" || tag == "blockquote" || tag == "title" ||
                       tag == "header" || tag == "footer" || tag == "main" || tag == "dl" || tag == "dt" || tag == "dd") {
                block();
                walk(n->children);
                block();
            } else {
                walk(n->children);
            }
        }
    }

    std::string finish() {
        while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
        return out;
    }

  private:
    bool first_cell_ = true;

    // Collapses whitespace runs as a browser would.
    void text(const char* s) {
        if (!s) return;
        for (const char* p = s; *p; ++p) {
            unsigned char c = static_cast<unsigned char>(*p);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    void line() {
        while (!out.empty() && out.back() == ' ') out.pop_back();
        if (!out.empty() && out.back() != '\n') out += '\n';
    }
    void block() {
        line();
        if (!out.empty() && (out.size() < 2 || out[out.size() - 2] != '\n')) out += '\n';
    }
};

std::string html_text(std::string_view content) {
    int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_NOBLANKS;
    htmlDocPtr doc = htmlReadMemory(content.data(), static_cast<int>(content.size()), nullptr, nullptr, options);
    if (!doc) corrupt("HTML", "the document could not be parsed");
    std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> guard(doc, xmlFreeDoc);
    HtmlText walker;
    walker.walk(xmlDocGetRootElement(doc));
    return walker.finish();
}

// ---- PDF -----------------------------------------------------------------------------------------

void quiet_poppler(const std::string&, void*) {}  // poppler would print parse errors to stderr

std::string pdf_text(std::string_view content) {
    static bool silenced = false;
    if (!silenced) {
        poppler::set_debug_error_function(quiet_poppler, nullptr);
        silenced = true;
    }
    if (content.size() < 5 || content.substr(0, 5) != "%PDF-") corrupt("PDF", "not a PDF file (no %PDF- header)");
    std::vector<char> data(content.begin(), content.end());
    std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(data.data(), static_cast<int>(data.size())));
    if (!doc) corrupt("PDF", "the file is corrupt or truncated");
    if (doc->is_locked())
        throw Error(ErrorCode::FeatureNotSupported, "could not extract text from PDF: the file is encrypted");
    std::string out;
    int pages = doc->pages();
    for (int i = 0; i < pages; ++i) {
        std::unique_ptr<poppler::page> page(doc->create_page(i));
        if (!page) corrupt("PDF", "page " + std::to_string(i + 1) + " cannot be read");
        poppler::byte_array utf8 = page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout).to_utf8();
        std::string text(utf8.begin(), utf8.end());
        // poppler ends each page with its own form feed and newlines: trim, then join with exactly one
        while (!text.empty() && (text.back() == '\f' || text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
            text.pop_back();
        if (i > 0) out += "\n\f\n";  // page breaks stay visible as form feeds
        out += text;
    }
    out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
    return out;
}

// ---- CSV -----------------------------------------------------------------------------------------

std::vector<std::vector<std::string>> parse_csv(std::string_view s) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, field_started = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < s.size() && s[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                field += c;
            }
        } else if (c == '"' && !field_started) {
            quoted = true;
            field_started = true;
        } else if (c == ',') {
            row.push_back(std::move(field));
            field.clear();
            field_started = false;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
            row.push_back(std::move(field));
            field.clear();
            field_started = false;
            rows.push_back(std::move(row));
            row.clear();
        } else {
            field += c;
            field_started = true;
        }
    }
    if (quoted) corrupt("CSV", "a quoted field is not closed");
    if (field_started || !row.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
    }
    rows.erase(std::remove_if(rows.begin(), rows.end(), [](const auto& r) { return r.size() == 1 && r[0].empty(); }),
               rows.end());
    return rows;
}

std::string csv_text(std::string_view content) {
    auto rows = parse_csv(checked_text(content, "CSV"));
    if (rows.empty()) return "";
    const auto& header = rows[0];
    std::string out;
    for (size_t r = 1; r < rows.size(); ++r) {
        if (!out.empty()) out += "\n\n";
        for (size_t c = 0; c < rows[r].size(); ++c) {
            if (rows[r][c].empty()) continue;
            std::string name = c < header.size() && !header[c].empty() ? header[c] : "column " + std::to_string(c + 1);
            if (out.size() && out.back() != '\n') out += '\n';
            out += name + ": " + rows[r][c];
        }
    }
    return out;
}

// ---- JSON ----------------------------------------------------------------------------------------

void json_lines(const nlohmann::json& v, const std::string& path, std::string& out) {
    if (v.is_object()) {
        for (const auto& [key, child] : v.items()) json_lines(child, path.empty() ? key : path + "." + key, out);
    } else if (v.is_array()) {
        for (size_t i = 0; i < v.size(); ++i) json_lines(v[i], path + "[" + std::to_string(i) + "]", out);
    } else if (v.is_string() || v.is_number() || v.is_boolean()) {
        if (!out.empty()) out += '\n';
        out += (path.empty() ? std::string("value") : path) + ": " + (v.is_string() ? v.get<std::string>() : v.dump());
    }
}

std::string json_text(std::string_view content) {
    std::string text = checked_text(content, "JSON");
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) corrupt("JSON", "the document is not valid JSON");
    std::string out;
    json_lines(doc, "", out);
    return out;
}

}  // namespace

size_t invalid_utf8_offset(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == 0) return i;
        size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > s.size()) return i;
        for (size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
        uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
        for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
        bool overlong = (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
        if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n;
    }
    return std::string_view::npos;
}

std::string guess_mime(std::string_view filename, std::string_view content) {
    std::string name = lower(filename);
    auto dot = name.rfind('.');
    std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
    if (ext == "txt" || ext == "text" || ext == "log") return "text/plain";
    if (ext == "md" || ext == "markdown") return "text/markdown";
    if (ext == "html" || ext == "htm" || ext == "xhtml") return "text/html";
    if (ext == "pdf") return "application/pdf";
    if (ext == "csv") return "text/csv";
    if (ext == "json") return "application/json";
    if (content.substr(0, 5) == "%PDF-") return "application/pdf";
    std::string head = lower(content.substr(0, 512));
    if (head.find("<!doctype html") != std::string::npos || head.find("<html") != std::string::npos) return "text/html";
    if (!ext.empty()) return "";
    return invalid_utf8_offset(content) == std::string_view::npos ? "text/plain" : "";
}

std::string extract_text(std::string_view content, const std::string& mime_in) {
    std::string mime = lower(mime_in.substr(0, mime_in.find(';')));
    if (mime == "text/plain") return checked_text(content, "text");
    if (mime == "text/markdown" || mime == "text/x-markdown") return checked_text(content, "Markdown");
    if (mime == "text/html" || mime == "application/xhtml+xml") return html_text(content);
    if (mime == "application/pdf") return pdf_text(content);
    if (mime == "text/csv") return csv_text(content);
    if (mime == "application/json") return json_text(content);
    throw Error(ErrorCode::FeatureNotSupported,
                "unsupported file type" + (mime.empty() ? std::string() : ": " + mime), "",
                "Supported types: text/plain, text/markdown, text/html, application/pdf, text/csv, application/json.");
}

}  // namespace pgrag
