// Text extraction from the small real files in tests/data, and from corrupt ones.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

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
    EXPECT_EQ(error_of("hello", "application/pdf"), "could not extract text from PDF: not a PDF file (no %PDF- header)");
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
              "active: true\nfaq[0].a: Five business days.\nfaq[0].q: How long do refunds take?\n"
              "faq[1].a: Yes\nfaq[1].days: 10\nfaq[1].q: Do you ship to Europe?");
    EXPECT_EQ(error_of("{\"a\": ", "application/json"), "could not extract text from JSON: the document is not valid JSON");
}

TEST(Extract, TextAndMarkdownAreValidatedUtf8) {
    EXPECT_EQ(pgrag::extract_text("\xEF\xBB\xBFhello", "text/plain"), "hello");
    EXPECT_EQ(pgrag::extract_text(read_file("guide.md"), "text/markdown"), read_file("guide.md"));
    EXPECT_EQ(error_of("ok \xC3\x28 bad", "text/plain"), "could not extract text from text: invalid UTF-8 at byte offset 3");
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
