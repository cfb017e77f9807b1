// Text extraction from the small real files in tests/data, and from corrupt ones.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/error.hpp"
#include "core/extract.hpp"

namespace {

std::string read_file(const std::string& name) {
    std::ifstream in(std::string(PGRAG_TEST_DATA_DIR) + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string error_of(const std::string& content, const std::string& mime) {
    try {
        pgrag::extract_text(content, mime);
    } catch (const pgrag::Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(Extract, PdfPagesInOrderWithFormFeeds) {
    std::string text = pgrag::extract_text(read_file("refund-policy.pdf"), "application/pdf");
    EXPECT_NE(text.find("Refunds are processed within five business days."), std::string::npos) << text;
    size_t ff = text.find('\f');
    ASSERT_NE(ff, std::string::npos);
    EXPECT_LT(text.find("Refund policy"), ff);
    EXPECT_GT(text.find("Shipping to Europe"), ff);
    EXPECT_EQ(text.find('\f', ff + 1), std::string::npos);  // exactly one page break for two pages
    EXPECT_EQ(text.substr(ff - 1, 3), "\n\f\n");
    EXPECT_NE(text.back(), '\f');
}

TEST(Extract, BrokenPdfsAreClearErrors) {
    EXPECT_EQ(error_of(read_file("encrypted.pdf"), "application/pdf"),
              "could not extract text from PDF: the file is encrypted");
    EXPECT_EQ(error_of(read_file("truncated.pdf"), "application/pdf"),
              "could not extract text from PDF: the file is corrupt or truncated");
    EXPECT_EQ(error_of("hello", "application/pdf"),
              "could not extract text from PDF: not a PDF file (no %PDF- header)");
}

TEST(Extract, HtmlKeepsContentInReadingOrder) {
    std::string text = pgrag::extract_text(read_file("store.html"), "text/html");
    EXPECT_EQ(text,
              "# Returns & refunds\n\nRefunds are processed within five business days.\xC2\xA0"
              "Caf\xC3\xA9 vouchers are excluded.\n\n## What you need\n\n- The receipt\n- The original packaging\n\n"
              "Item | Window\nBooks | 30 days\nDigital goods | none");
}

TEST(Extract, CsvRowsAsColumnValueLines) {
    EXPECT_EQ(pgrag::extract_text(read_file("products.csv"), "text/csv"),
              "product: Widget\nprice: 9.99\nnotes: Comes in \"blue\", red\n\n"
              "product: Gadget\nprice: 19.50\n\nproduct: Multi\nline\nprice: 1\nnotes: ok");
    EXPECT_EQ(error_of("a,b\n\"open,1\n", "text/csv"), "could not extract text from CSV: a quoted field is not closed");
}

TEST(Extract, JsonValuesWithKeyPaths) {
    EXPECT_EQ(pgrag::extract_text(read_file("faq.json"), "application/json"),
              "faq[0].q: How long do refunds take?\nfaq[0].a: Five business days.\n"
              "faq[1].q: Do you ship to Europe?\nfaq[1].a: Yes\nfaq[1].days: 10\nactive: true");
    EXPECT_EQ(error_of("{\"a\": ", "application/json"),
              "could not extract text from JSON: the document is not valid JSON (at byte offset 6)");
}

TEST(Extract, TextAndMarkdownAreValidatedUtf8) {
    EXPECT_EQ(pgrag::extract_text("\xEF\xBB\xBFhello", "text/plain"), "hello");
    EXPECT_EQ(pgrag::extract_text(read_file("guide.md"), "text/markdown"), read_file("guide.md"));
    EXPECT_EQ(error_of("ok \xC3\x28 bad", "text/plain"),
              "could not extract text from text: invalid UTF-8 at byte offset 3");
    EXPECT_EQ(error_of(std::string("a\0b", 3), "text/plain"), "could not extract text from text: NUL byte at offset 1");
    EXPECT_EQ(error_of("x", "image/png"), "unsupported file type: image/png");
}

TEST(Extract, MimeFromNameOrContent) {
    EXPECT_EQ(pgrag::guess_mime("Report.PDF", ""), "application/pdf");
    EXPECT_EQ(pgrag::guess_mime("notes.md", ""), "text/markdown");
    EXPECT_EQ(pgrag::guess_mime("data", "%PDF-1.4 ..."), "application/pdf");
    EXPECT_EQ(pgrag::guess_mime("page", "<!DOCTYPE html><html>"), "text/html");
    EXPECT_EQ(pgrag::guess_mime("plain", "just text"), "text/plain");
    EXPECT_EQ(pgrag::guess_mime("photo.png", "\x89PNG"), "");
}

namespace {

pgrag::ErrorCode code_of(const std::string& content, const std::string& mime) {
    try {
        pgrag::extract_text(content, mime);
    } catch (const pgrag::Error& e) {
        return e.code();
    }
    return pgrag::ErrorCode::InternalError;
}

std::string repeat(const std::string& s, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += s;
    return out;
}

}  // namespace

TEST(Extract, JsonKeepsDocumentOrderAndDuplicates) {
    EXPECT_EQ(
        pgrag::extract_text(R"({"z": 1, "q": "Why?", "a": "Because.", "n": {"y": [1.5, true, null, "s"], "b": {}}})",
                            "application/json"),
        "z: 1\nq: Why?\na: Because.\nn.y[0]: 1.5\nn.y[1]: true\nn.y[3]: s");
    // A repeated key is text too: both values come out, in order.
    EXPECT_EQ(pgrag::extract_text(R"({"k": "first", "k": "second"})", "application/json"), "k: first\nk: second");
    EXPECT_EQ(pgrag::extract_text(R"("top")", "application/json"), "value: top");
    EXPECT_EQ(pgrag::extract_text(R"([[1], {"": 2}])", "application/json"), "[0][0]: 1\n[1].: 2");
}

TEST(Extract, DeepJsonIsAnErrorNotACrash) {
    // 20,000 levels crashed the backend (a recursive walk of the DOM).
    std::string deep = repeat("[", 20000) + "1" + repeat("]", 20000);
    EXPECT_EQ(code_of(deep, "application/json"), pgrag::ErrorCode::ProgramLimitExceeded);
    EXPECT_EQ(error_of(deep, "application/json"), "could not extract text from JSON: nesting deeper than 1000 levels");
    std::string objects = repeat("{\"a\":", 50000) + "1" + repeat("}", 50000);
    EXPECT_EQ(code_of(objects, "application/json"), pgrag::ErrorCode::ProgramLimitExceeded);
    // The limit itself is fine.
    std::string ok = repeat("[", pgrag::kMaxJsonDepth) + "1" + repeat("]", pgrag::kMaxJsonDepth);
    EXPECT_EQ(pgrag::extract_text(ok, "application/json"), repeat("[0]", pgrag::kMaxJsonDepth) + ": 1");
}

TEST(Extract, JsonNulIsAnErrorNamingTheOffset) {
    // "x\u0000y" lost its "y" (NUL ends a C string): text cannot hold NUL, so it is refused.
    EXPECT_EQ(error_of(R"({"k": "x\u0000y"})", "application/json"),
              "could not extract text from JSON: \\u0000 (NUL, which text cannot hold) at byte offset 8");
    EXPECT_EQ(error_of(R"({"k\u0000": 1})", "application/json"),
              "could not extract text from JSON: \\u0000 (NUL, which text cannot hold) at byte offset 3");
    // An escaped backslash followed by u0000 is not a NUL.
    EXPECT_EQ(pgrag::extract_text(R"({"k": "a\\u0000"})", "application/json"), "k: a\\u0000");
    EXPECT_EQ(pgrag::extract_text(R"({"k": "\u00e9"})", "application/json"), "k: \xC3\xA9");
}

TEST(Extract, JsonExpansionIsBounded) {
    // Long key paths repeated for every element would turn a small upload into gigabytes of text.
    std::string key(100000, 'k');
    std::string doc = "{\"" + key + "\": [" + repeat("1,", 100000) + "1]}";
    EXPECT_EQ(code_of(doc, "application/json"), pgrag::ErrorCode::ProgramLimitExceeded);
}

TEST(Extract, DeepHtmlIsParsedWhole) {
    // libxml2 stopped at 256 levels and everything after was silently lost.
    for (size_t depth : {300, 5000, 100000}) {
        std::string html =
            "<html><body>" + repeat("<div>", depth) + "deep" + repeat("</div>", depth) + "<p>after</p></body></html>";
        EXPECT_EQ(pgrag::extract_text(html, "text/html"), "deep\n\nafter") << depth;
    }
    std::string spans = "<p>" + repeat("<span>", 50000) + "x" + repeat("</span>", 50000) + "</p><h2>End</h2>";
    EXPECT_EQ(pgrag::extract_text(spans, "text/html"), "x\n\n## End");
}

TEST(Extract, HtmlBytesAreUtf8OrTheDeclaredCharset) {
    // 0xFF became "ÿ" (libxml2 guessed Latin-1) and a NUL byte vanished: both are errors with the offset.
    EXPECT_EQ(error_of("<p>caf\xFF</p>", "text/html"),
              "could not extract text from HTML: invalid UTF-8 at byte offset 6");
    EXPECT_EQ(code_of("<p>caf\xFF</p>", "text/html"), pgrag::ErrorCode::InvalidTextRepresentation);
    EXPECT_EQ(error_of(std::string("<p>a\0b</p>", 10), "text/html"),
              "could not extract text from HTML: NUL byte at offset 4");
    EXPECT_EQ(pgrag::extract_text("<p>caf\xC3\xA9</p>", "text/html"), "caf\xC3\xA9");
    // A declared charset is honoured.
    EXPECT_EQ(pgrag::extract_text("<html><head><meta charset=\"iso-8859-1\"></head><body><p>caf\xE9</p></body></html>",
                                  "text/html"),
              "caf\xC3\xA9");
    EXPECT_EQ(
        pgrag::extract_text("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">"
                            "</head><body><p>\x93quoted\x94</p></body></html>",
                            "text/html"),
        "\xE2\x80\x9Cquoted\xE2\x80\x9D");
    // A charset libxml2 does not know was read as Latin-1: now refused.
    EXPECT_EQ(error_of("<meta charset=\"foo\"><p>caf\xE9</p>", "text/html"),
              "could not extract text from HTML: unsupported charset \"foo\"");
    EXPECT_EQ(code_of("<meta charset=\"foo\"><p>caf\xE9</p>", "text/html"), pgrag::ErrorCode::FeatureNotSupported);
    EXPECT_EQ(pgrag::extract_text("<meta charset=\"shift_jis\"><p>\x82\xA0</p>", "text/html"), "\xE3\x81\x82");
    // A UTF-8 declaration does not excuse invalid bytes.
    EXPECT_EQ(code_of("<meta charset=utf-8><p>\xFF</p>", "text/html"), pgrag::ErrorCode::InvalidTextRepresentation);
    // Malformed markup is recovered from, keeping all the text.
    EXPECT_EQ(pgrag::extract_text("<p>one<p>two<div>three</span><nav>menu</nav><custom>four</custom>", "text/html"),
              "one\n\ntwo\n\nthreefour");
}

TEST(Extract, PdfGlyphMappedToNul) {
    // nul-glyph.pdf shows "ACB" with a ToUnicode map sending C to U+0000: poppler gives a space for it
    // (a NUL that did come through would become U+FFFD, never be removed silently).
    std::string text = pgrag::extract_text(read_file("nul-glyph.pdf"), "application/pdf");
    EXPECT_EQ(text, "A B");
}

TEST(Extract, SqlStatesOfBrokenInput) {
    EXPECT_EQ(code_of("x", "image/png"), pgrag::ErrorCode::FeatureNotSupported);                               // 0A000
    EXPECT_EQ(code_of(read_file("encrypted.pdf"), "application/pdf"), pgrag::ErrorCode::FeatureNotSupported);  // 0A000
    EXPECT_EQ(code_of(read_file("truncated.pdf"), "application/pdf"),
              pgrag::ErrorCode::InvalidTextRepresentation);                                  // 22P02
    EXPECT_EQ(code_of("a\xC3", "text/plain"), pgrag::ErrorCode::InvalidTextRepresentation);  // 22P02
}

TEST(Extract, PollsTheInterruptCheck) {
    std::string csv = "a,b\n" + repeat("1,2\n", 1 << 18);
    int calls = 0;
    auto cancel = [&] {
        ++calls;
        throw std::runtime_error("canceled");
    };
    EXPECT_THROW(pgrag::extract_text(csv, "text/csv", cancel), std::runtime_error);
    std::string json = "[" + repeat("1,", 1 << 18) + "1]";
    EXPECT_THROW(pgrag::extract_text(json, "application/json", cancel), std::runtime_error);
    std::string html = repeat("<p>x</p>", 1 << 17);
    EXPECT_THROW(pgrag::extract_text(html, "text/html", cancel), std::runtime_error);
    EXPECT_EQ(calls, 3);
}
