#include "extract.hpp"

#include <libxml/HTMLparser.h>
#include <libxml/encoding.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>
#include <algorithm>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "error.hpp"
#include "interrupt.hpp"

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

[[noreturn]] void too_big(const std::string& type, const std::string& why) {
    throw Error(ErrorCode::ProgramLimitExceeded, "could not extract text from " + type + ": " + why);
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

// Turns an HTML tree into text with Markdown-like structure. The walk is iterative (child, next
// sibling and parent links): documents nested thousands of levels deep must not exhaust the stack.
class HtmlText {
  public:
    explicit HtmlText(const InterruptCheck& check) : poll_(check) {}
    std::string out;

    void walk(xmlNode* first) {
        if (!first) return;
        xmlNode* stop = first->parent;
        for (xmlNode* n = first; n;) {
            poll_.tick();
            if (enter(n) && n->children) {
                n = n->children;
                continue;
            }
            leave(n);
            while (n && !n->next) {
                n = n->parent;
                if (n == stop)
                    n = nullptr;
                else
                    leave(n);
            }
            if (n) n = n->next;
        }
    }

    std::string finish() {
        while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
        return out;
    }

  private:
    Poller poll_;
    bool first_cell_ = true;

    static std::string tag_of(const xmlNode* n) { return lower(reinterpret_cast<const char*>(n->name)); }
    static bool is_heading(const std::string& tag) {
        return tag.size() == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6';
    }
    static bool is_skipped(const std::string& tag) {
        return tag == "script" || tag == "style" || tag == "nav" || tag == "noscript" || tag == "template" ||
               tag == "head" || tag == "svg" || tag == "iframe";
    }
    static bool is_block(const std::string& tag) {
        return tag == "p" || tag == "div" || tag == "section" || tag == "article" || tag == "table" || tag == "ul" ||
               tag == "ol" || tag == "pre" || tag == "blockquote" || tag == "title" || tag == "header" ||
               tag == "footer" || tag == "main" || tag == "dl" || tag == "dt" || tag == "dd";
    }

    // Output before a node's children; false when its children are not to be visited.
    bool enter(xmlNode* n) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            text(reinterpret_cast<const char*>(n->content));
            return false;
        }
        if (n->type != XML_ELEMENT_NODE) return false;
        std::string tag = tag_of(n);
        if (is_skipped(tag)) return false;
        if (is_heading(tag)) {
            block();
            out += std::string(static_cast<size_t>(tag[1] - '0'), '#') + " ";
        } else if (tag == "li") {
            line();
            out += "- ";
        } else if (tag == "tr") {
            line();
            first_cell_ = true;
        } else if (tag == "td" || tag == "th") {
            if (!first_cell_) out += " | ";
            first_cell_ = false;
        } else if (tag == "br") {
            line();
        } else if (is_block(tag)) {
            block();
        }
        return true;
    }

    // Output after a node's children (skipped elements and text have none).
    void leave(xmlNode* n) {
        if (n->type != XML_ELEMENT_NODE) return;
        std::string tag = tag_of(n);
        if (is_heading(tag) || is_block(tag))
            block();
        else if (tag == "li" || tag == "tr")
            line();
    }

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

// The charset a document declares in its first bytes (<meta charset=...> or http-equiv), lowercased; "" if none.
std::string declared_charset(std::string_view content) {
    std::string head = lower(content.substr(0, 4096));
    size_t at = head.find("charset");
    while (at != std::string::npos) {
        size_t i = at + 7;
        while (i < head.size() && (head[i] == ' ' || head[i] == '\t')) ++i;
        if (i < head.size() && head[i] == '=') {
            ++i;
            while (i < head.size() && (head[i] == ' ' || head[i] == '"' || head[i] == '\'')) ++i;
            size_t end = i;
            while (end < head.size() && (std::isalnum(static_cast<unsigned char>(head[end])) || head[end] == '-' ||
                                         head[end] == '_' || head[end] == ':' || head[end] == '.'))
                ++end;
            if (end > i) return head.substr(i, end - i);
        }
        at = head.find("charset", at + 7);
    }
    return "";
}

// libxml2 errors that lose text (the parser stops, or bytes are not text in the document's
// encoding): the first one, with the input offset where it happened.
struct HtmlParseError {
    xmlParserCtxtPtr ctxt = nullptr;
    bool found = false;
    int code = 0;
    long offset = -1;
    std::string message;
};

void on_html_error(void* data, xmlErrorPtr e) {
    auto* err = static_cast<HtmlParseError*>(data);
    if (err->found || !e) return;
    bool fatal = e->level == XML_ERR_FATAL || e->code == XML_ERR_INVALID_ENCODING || e->code == XML_ERR_INVALID_CHAR ||
                 e->domain == XML_FROM_I18N || e->domain == XML_FROM_IO || e->code == XML_ERR_NO_MEMORY;
    if (!fatal) return;  // malformed markup is recovered from without losing text (unclosed or unknown tags)
    err->found = true;
    err->code = e->code;
    xmlParserInputPtr in = err->ctxt ? err->ctxt->input : nullptr;
    if (in && in->cur && in->base)
        err->offset = static_cast<long>(in->cur - in->base) + static_cast<long>(in->consumed);
    err->message = e->message ? e->message : "parse error";
    while (!err->message.empty() && (err->message.back() == '\n' || err->message.back() == ' '))
        err->message.pop_back();
}

std::string html_text(std::string_view content, const InterruptCheck& check) {
    // UTF-8 unless the document declares another charset, which libxml2 honours; libxml2 would
    // otherwise guess Latin-1 for invalid bytes (and for charsets it does not know) and make mojibake.
    std::string charset = declared_charset(content);
    bool utf8 = charset.empty() || charset == "utf-8" || charset == "utf8";
    if (utf8) {
        checked_text(content, "HTML");
    } else {
        size_t nul = content.find('\0');
        if (nul != std::string_view::npos) corrupt("HTML", "NUL byte at offset " + std::to_string(nul));
        xmlCharEncodingHandlerPtr handler = xmlFindCharEncodingHandler(charset.c_str());
        if (!handler)
            throw Error(ErrorCode::FeatureNotSupported,
                        "could not extract text from HTML: unsupported charset \"" + charset + "\"");
        xmlCharEncCloseFunc(handler);
    }
    if (content.size() > static_cast<size_t>(INT32_MAX)) too_big("HTML", "the document is larger than 2 GB");
    // HUGE lifts libxml2's nesting limit of 256 levels, which would otherwise end the parse there
    // and silently drop the rest of the document; the walk below is iterative.
    int options = HTML_PARSE_RECOVER | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_NOBLANKS | XML_PARSE_HUGE;
    if (utf8) options |= HTML_PARSE_IGNORE_ENC;
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    if (!ctxt) throw std::bad_alloc();
    std::unique_ptr<htmlParserCtxt, void (*)(htmlParserCtxtPtr)> ctxt_guard(ctxt, htmlFreeParserCtxt);
    HtmlParseError err;
    err.ctxt = ctxt;
    xmlStructuredErrorFunc previous = xmlStructuredError;  // Postgres' xml functions may have their own
    void* previous_data = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(&err, on_html_error);
    htmlDocPtr doc = htmlCtxtReadMemory(ctxt, content.data(), static_cast<int>(content.size()), nullptr,
                                        utf8 ? "UTF-8" : nullptr, options);
    xmlSetStructuredErrorFunc(previous_data, previous);
    std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> guard(doc, xmlFreeDoc);
    if (err.found || ctxt->disableSAX) {
        std::string where = err.offset >= 0 ? " at byte offset " + std::to_string(err.offset) : std::string();
        std::string why = err.found ? err.message : "the parser stopped";
        if (err.code == XML_ERR_NO_MEMORY || err.code == XML_ERR_INTERNAL_ERROR) too_big("HTML", why + where);
        corrupt("HTML", why + where);
    }
    if (!doc) corrupt("HTML", "the document could not be parsed");
    HtmlText walker(check);
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
    std::unique_ptr<poppler::document> doc(
        poppler::document::load_from_raw_data(data.data(), static_cast<int>(data.size())));
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
        while (!text.empty() &&
               (text.back() == '\f' || text.back() == '\n' || text.back() == ' ' || text.back() == '\r'))
            text.pop_back();
        if (i > 0) out += "\n\f\n";  // page breaks stay visible as form feeds
        out += text;
    }
    // U+0000 (a glyph whose font maps it to code 0) cannot be stored in Postgres text: it becomes
    // U+FFFD, so the text keeps its length and shows where something could not be decoded.
    std::string fixed;
    fixed.reserve(out.size());
    for (char c : out) {
        if (c == '\0')
            fixed += "\xEF\xBF\xBD";
        else
            fixed += c;
    }
    return fixed;
}

// ---- CSV -----------------------------------------------------------------------------------------

std::vector<std::vector<std::string>> parse_csv(std::string_view s, Poller& poll) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, field_started = false;
    for (size_t i = 0; i < s.size(); ++i) {
        poll.tick();
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

std::string csv_text(std::string_view content, const InterruptCheck& check) {
    Poller poll(check);
    std::string checked = checked_text(content, "CSV");
    auto rows = parse_csv(checked, poll);
    if (rows.empty()) return "";
    const auto& header = rows[0];
    std::string out;
    for (size_t r = 1; r < rows.size(); ++r) {
        poll.tick(rows[r].size() + 1);
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

// Byte offset of the first \u0000 escape inside a string (Postgres text cannot hold NUL), or npos.
size_t escaped_nul_offset(std::string_view s) {
    bool in_string = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (!in_string) {
            in_string = c == '"';
        } else if (c == '"') {
            in_string = false;
        } else if (c == '\\' && i + 1 < s.size()) {
            if (s[i + 1] == 'u' && s.substr(i + 2, 4) == "0000") return i;
            ++i;  // the escaped character, whatever it is
        }
    }
    return std::string_view::npos;
}

// Streams JSON to "path: value" lines in document order with nlohmann's SAX parser, which is
// iterative: no DOM (keys would come out sorted) and no recursion on nesting depth.
class JsonLines : public nlohmann::json_sax<nlohmann::json> {
  public:
    JsonLines(size_t limit, const InterruptCheck& check) : limit_(limit), poll_(check) {}
    std::string out;
    size_t error_offset = 0;
    std::string error_message;

    bool null() override { return after_value(); }
    bool boolean(bool v) override { return scalar(v ? "true" : "false"); }
    bool number_integer(number_integer_t v) override { return scalar(std::to_string(v)); }
    bool number_unsigned(number_unsigned_t v) override { return scalar(std::to_string(v)); }
    bool number_float(number_float_t v, const string_t&) override { return scalar(nlohmann::json(v).dump()); }
    bool string(string_t& v) override { return scalar(v); }
    bool binary(binary_t&) override { return after_value(); }
    bool start_object(std::size_t) override { return open(false); }
    bool key(string_t& k) override {
        frames_.back().key = k;
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(true); }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
        error_offset = position > 0 ? position - 1 : 0;
        error_message = e.what();
        return false;
    }

  private:
    struct Frame {
        bool array;
        size_t index;      // next element's index (arrays)
        size_t path_size;  // path_'s length at this container
        std::string key;   // current member's key (objects)
    };
    size_t limit_;
    Poller poll_;
    std::vector<Frame> frames_;
    std::string path_;  // the path of the container being read

    // path_ extended with the current member or element (the path of the value being read).
    std::string member_path() const {
        if (frames_.empty()) return path_;
        const Frame& f = frames_.back();
        if (f.array) return path_ + "[" + std::to_string(f.index) + "]";
        return path_.empty() ? f.key : path_ + "." + f.key;
    }
    bool after_value() {
        poll_.tick();
        if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
        return true;
    }
    bool scalar(const std::string& v) {
        std::string p = member_path();
        if (!out.empty()) out += '\n';
        out += (p.empty() ? std::string("value") : p) + ": " + v;
        if (out.size() > limit_)
            too_big("JSON", "the extracted text would be larger than " + std::to_string(limit_) + " bytes");
        return after_value();
    }
    bool open(bool array) {
        if (frames_.size() >= kMaxJsonDepth)
            too_big("JSON", "nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        std::string p = member_path();
        frames_.push_back({array, 0, path_.size(), {}});
        path_ = std::move(p);
        return true;
    }
    bool close() {
        path_.resize(frames_.back().path_size);
        frames_.pop_back();
        return after_value();
    }
};

std::string json_text(std::string_view content, const InterruptCheck& check) {
    std::string text = checked_text(content, "JSON");
    size_t nul = escaped_nul_offset(text);
    if (nul != std::string_view::npos)
        corrupt("JSON", "\\u0000 (NUL, which text cannot hold) at byte offset " + std::to_string(nul));
    JsonLines lines(std::min(kMaxExtractedText, text.size() * kJsonExpansion + (size_t{1} << 20)), check);
    if (!nlohmann::json::sax_parse(text, &lines, nlohmann::json::input_format_t::json, true))
        corrupt("JSON", "the document is not valid JSON (at byte offset " + std::to_string(lines.error_offset) + ")");
    return std::move(lines.out);
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

namespace {

// Every extractor's output is valid UTF-8 without NUL (Postgres text), or the extraction fails.
std::string verified(std::string text, const std::string& type) {
    size_t bad = invalid_utf8_offset(text);
    if (bad != std::string_view::npos)
        corrupt(type, "the extracted text is not valid UTF-8 at its byte offset " + std::to_string(bad));
    if (text.size() > kMaxExtractedText)
        too_big(type, "the extracted text is larger than " + std::to_string(kMaxExtractedText) + " bytes");
    return text;
}

}  // namespace

std::string extract_text(std::string_view content, const std::string& mime_in, const InterruptCheck& check) {
    std::string mime = lower(mime_in.substr(0, mime_in.find(';')));
    if (mime == "text/plain") return verified(checked_text(content, "text"), "text");
    if (mime == "text/markdown" || mime == "text/x-markdown")
        return verified(checked_text(content, "Markdown"), "Markdown");
    if (mime == "text/html" || mime == "application/xhtml+xml") return verified(html_text(content, check), "HTML");
    if (mime == "application/pdf") return verified(pdf_text(content), "PDF");
    if (mime == "text/csv") return verified(csv_text(content, check), "CSV");
    if (mime == "application/json") return verified(json_text(content, check), "JSON");
    throw Error(ErrorCode::FeatureNotSupported, "unsupported file type" + (mime.empty() ? std::string() : ": " + mime),
                "",
                "Supported types: text/plain, text/markdown, text/html, application/pdf, text/csv, application/json.");
}

}  // namespace pgrag
