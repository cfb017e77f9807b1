// The extractive answerer: whole sentences across hard-wrapped lines, the question's own text is
// not an answer, field/value lines keep their value; and 10 questions over 18 real documents.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "core/answer.hpp"
#include "core/chunker.hpp"
#include "core/extract.hpp"
#include "core/extractive.hpp"

namespace {

pgrag::Source source(int n, const std::string& content, const std::string& title = "doc") {
    pgrag::Source s;
    s.n = n;
    s.title = title;
    s.content = content;
    return s;
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Runs of whitespace as one space: joined hard-wrapped lines still count as verbatim.
std::string squeeze(const std::string& s) {
    std::string out;
    for (char c : s) {
        bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f';
        if (space && (out.empty() || out.back() == ' ')) continue;
        out += space ? ' ' : c;
    }
    if (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// The quoted pieces of an answer: text between citations, split at the "; " joining field lines.
std::vector<std::pair<std::string, int>> pieces(const std::string& answer) {
    std::vector<std::pair<std::string, int>> out;
    size_t pos = 0;
    while (pos < answer.size()) {
        size_t open = answer.find(" [", pos);
        if (open == std::string::npos) break;
        size_t close = answer.find(']', open);
        int n = std::stoi(answer.substr(open + 2, close - open - 2));
        std::string text = answer.substr(pos, open - pos);
        size_t a = 0;
        for (size_t semi; (semi = text.find("; ", a)) != std::string::npos; a = semi + 2)
            out.push_back({text.substr(a, semi - a), n});
        out.push_back({text.substr(a), n});
        pos = close + 1;
        while (pos < answer.size() && answer[pos] == ' ') ++pos;
    }
    return out;
}

// Without "[n]" markers (a source may quote an answer with its citations).
std::string uncited(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        size_t j = i + 2;
        while (s[i] == ' ' && j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        if (s[i] == ' ' && i + 1 < s.size() && s[i + 1] == '[' && j > i + 2 && j < s.size() && s[j] == ']') {
            i = j;
            continue;
        }
        out += s[i];
    }
    return out;
}

// Every quoted piece is text of a source (whitespace aside) and cites a source: nothing invented.
void expect_verbatim(const pgrag::Answer& a, const std::vector<pgrag::Source>& sources) {
    auto ps = pieces(a.text);
    ASSERT_FALSE(ps.empty()) << a.text;
    for (const auto& [text, n] : ps) {
        EXPECT_TRUE(n >= 1 && n <= static_cast<int>(sources.size())) << a.text;
        bool found = false;
        for (const auto& s : sources)
            found = found || squeeze(uncited(s.content)).find(squeeze(text)) != std::string::npos;
        EXPECT_TRUE(found) << "not verbatim: " << text;
    }
}

}  // namespace

TEST(Extractive, CitesVerbatimOrSaysItDoesNotKnow) {
    std::vector<pgrag::Source> sources = {
        source(1, "Refunds are processed within five business days. Digital goods cannot be refunded.",
               "Refund policy"),
        source(2, "Shipping to Europe takes seven to ten days.", "Shipping")};
    EXPECT_EQ(pgrag::extractive_answer("How long does shipping to Europe take?", sources).text,
              "Shipping to Europe takes seven to ten days. [2]");
    EXPECT_EQ(pgrag::extractive_answer("Can digital goods be refunded?", sources).text,
              "Digital goods cannot be refunded. [1]");
    EXPECT_EQ(pgrag::extractive_answer("Who painted the Mona Lisa?", sources).text, pgrag::kDontKnow);
    EXPECT_EQ(pgrag::extractive_answer("the of and", sources).text, pgrag::kDontKnow);
    EXPECT_EQ(pgrag::standalone_question_extractive("And for digital goods?", "How long do refunds take?"),
              "And for digital goods? refund");
}

TEST(Extractive, JoinsHardWrappedLinesIntoWholeSentences) {
    std::vector<pgrag::Source> sources = {
        source(1,
               "`make run` starts PostgreSQL 15 as the unprivileged `postgres` user (PostgreSQL refuses to run as\n"
               "root) with its data in `./.pgdata` on port 55432. `make stop` stops it.\n\n"
               "Next paragraph about something else.")};
    auto a = pgrag::extractive_answer("Does PostgreSQL run as root?", sources);
    EXPECT_EQ(a.text,
              "`make run` starts PostgreSQL 15 as the unprivileged `postgres` user (PostgreSQL refuses to run as "
              "root) with its data in `./.pgdata` on port 55432. [1]");
    expect_verbatim(a, sources);
}

TEST(Extractive, KeepsListItemsHeadingsAndAbbreviationsApart) {
    std::vector<pgrag::Source> sources = {source(1,
                                                 "## What you need\n\n"
                                                 "- The receipt, e.g. a printout\n"
                                                 "- The original packaging\n"
                                                 "Refunds go to the card used for the purchase.")};
    auto a = pgrag::extractive_answer("Which card do refunds go to?", sources);
    EXPECT_EQ(a.text, "Refunds go to the card used for the purchase. [1]");
    auto b = pgrag::extractive_answer("Is a printout of the receipt fine?", sources);
    EXPECT_EQ(b.text, "The receipt, e.g. a printout [1]");
    // The heading asks; the list under it answers, all of it.
    EXPECT_EQ(pgrag::extractive_answer("What do I need?", sources).text,
              "The receipt, e.g. a printout; The original packaging [1]");
}

TEST(Extractive, TheQuestionsOwnTextIsNotItsAnswer) {
    // JSON extractor output: the FAQ's question is a pointer to its answer, never the answer.
    std::vector<pgrag::Source> faq = {
        source(1,
               "faq[0].q: How long do refunds take?\nfaq[0].a: Five business days.\n"
               "faq[1].q: Do you ship to Europe?\nfaq[1].a: Yes\nfaq[1].days: 10\nactive: true")};
    auto a = pgrag::extractive_answer("How long do refunds take?", faq);
    EXPECT_NE(a.text.find("faq[0].a: Five business days."), std::string::npos) << a.text;
    EXPECT_EQ(a.text.find("faq[1]"), std::string::npos) << a.text;
    expect_verbatim(a, faq);
    // A Markdown FAQ: the heading asks, the paragraph under it answers.
    std::vector<pgrag::Source> md = {
        source(1, "## How long do refunds take?\n\nFive business days after we receive it.\n")};
    EXPECT_EQ(pgrag::extractive_answer("How long do refunds take?", md).text,
              "Five business days after we receive it. [1]");
    // A sentence quoting the question (an example of asking it) is not the answer either.
    EXPECT_EQ(pgrag::extractive_answer("How long do refunds take?",
                                       {source(1,
                                               "Try asking \"How long do refunds take?\" in the demo. Refunds take "
                                               "five days. [2]")})
                  .text,
              "Refunds take five days. [2] [1]");
    // Only the question, nothing after it: nothing answers.
    EXPECT_EQ(pgrag::extractive_answer("How long do refunds take?", {source(1, "How long do refunds take?")}).text,
              pgrag::kDontKnow);
}

TEST(Extractive, FieldLinesKeepTheirValueAndTheRecordsKey) {
    // CSV extractor output: one record per block of `column: value` lines.
    std::vector<pgrag::Source> csv = {
        source(1,
               "product: Widget\nprice: 9.99\nnotes: Comes in \"blue\", red\n\nproduct: Gadget\nprice: 19.50\n\n"
               "product: Multi\nline\nprice: 1\nnotes: ok")};
    auto a = pgrag::extractive_answer("What is the price of the Widget?", csv);
    EXPECT_EQ(a.text, "product: Widget; price: 9.99 [1]");
    auto b = pgrag::extractive_answer("How much does the Gadget cost?", csv);
    EXPECT_EQ(b.text, "product: Gadget; price: 19.50 [1]");
    expect_verbatim(b, csv);
    auto c = pgrag::extractive_answer("Which product comes in blue?", csv);
    EXPECT_EQ(c.text, "product: Widget; notes: Comes in \"blue\", red [1]");
}

// ---- 10 questions over 18 documents: the README by section and tests/data --------------------------

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Doc {
    std::string title, text, strategy;
};

std::vector<Doc> eighteen_documents() {
    std::vector<Doc> docs;
    const std::string data = PGRAG_TEST_DATA_DIR;
    // The README as it was when these questions were written (a snapshot: the live README keeps changing),
    // one document per "## " section (the part before the first one is the 12th).
    std::string readme = read_file(data + "/../unit/data/readme-snapshot.md");
    std::string section, title = "README";
    std::istringstream lines(readme);
    bool fence = false;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("```", 0) == 0) fence = !fence;
        if (!fence && line.rfind("## ", 0) == 0) {
            docs.push_back({title, section, "markdown"});
            title = line.substr(3);
            section.clear();
        }
        section += line + "\n";
    }
    docs.push_back({title, section, "markdown"});
    for (const char* f : {"README.md", "faq.json", "guide.md", "products.csv", "refund-policy.pdf", "store.html"}) {
        std::string raw = read_file(data + "/" + f);
        std::string mime = pgrag::guess_mime(f, raw);
        bool md = mime == "text/markdown" || mime == "text/html";
        docs.push_back({f, pgrag::extract_text(raw, mime), md ? "markdown" : "recursive"});
    }
    return docs;
}

std::vector<std::string> terms(const std::string& text) {
    static const std::set<std::string> stop = {"the", "and", "for", "does", "what", "which", "how",  "with", "are",
                                               "can", "you", "did", "its",  "not",  "from",  "that", "this", "when"};
    std::vector<std::string> out;
    std::string w;
    for (size_t i = 0; i <= text.size(); ++i) {
        unsigned char c = i < text.size() ? static_cast<unsigned char>(text[i]) : ' ';
        if (std::isalnum(c) || c >= 0x80) {
            w += static_cast<char>(std::tolower(c));
        } else if (!w.empty()) {
            if (w.size() > 3 && w.back() == 's') w.pop_back();
            if (w.size() > 1 && !stop.count(w)) out.push_back(w);
            w.clear();
        }
    }
    return out;
}

// The 5 best chunks by BM25 (k1 1.2, b 0.75; title and heading count with the text), as rag_answer's
// retrieval would give them to the answerer.
std::vector<pgrag::Source> retrieve(const std::vector<pgrag::Source>& chunks, const std::string& question) {
    std::vector<std::map<std::string, int>> tf(chunks.size());
    std::map<std::string, int> df;
    double avg = 0;
    std::vector<size_t> len(chunks.size());
    for (size_t i = 0; i < chunks.size(); ++i) {
        auto t = terms(chunks[i].title + " " + chunks[i].heading + " " + chunks[i].content);
        len[i] = t.size();
        avg += static_cast<double>(t.size()) / static_cast<double>(chunks.size());
        for (const auto& w : t)
            if (tf[i][w]++ == 0) ++df[w];
    }
    std::set<std::string> q;
    for (const auto& w : terms(question)) q.insert(w);
    std::vector<std::pair<double, size_t>> scored;
    for (size_t i = 0; i < chunks.size(); ++i) {
        double s = 0;
        for (const auto& w : q) {
            auto it = tf[i].find(w);
            if (it == tf[i].end()) continue;
            double n = static_cast<double>(chunks.size()), d = df[w];
            s += std::log(1 + (n - d + 0.5) / (d + 0.5)) * it->second * 2.2 /
                 (it->second + 1.2 * (0.25 + 0.75 * static_cast<double>(len[i]) / avg));
        }
        if (s > 0) scored.push_back({-s, i});
    }
    std::sort(scored.begin(), scored.end());
    std::vector<pgrag::Source> out;
    for (size_t r = 0; r < scored.size() && r < 5; ++r) {
        out.push_back(chunks[scored[r].second]);
        out.back().n = static_cast<int>(r + 1);
    }
    return out;
}

struct Case {
    const char* question;
    std::vector<const char*> expect;  // all of them, case-insensitive, in the answer
    std::vector<const char*> reject;  // none of them
};

}  // namespace

TEST(Extractive, TenQuestionsOverEighteenDocuments) {
    auto docs = eighteen_documents();
    ASSERT_EQ(docs.size(), 18u);
    std::vector<pgrag::Source> chunks;
    for (size_t d = 0; d < docs.size(); ++d) {
        pgrag::ChunkOptions o;
        o.strategy = docs[d].strategy;
        for (const auto& c : pgrag::chunk_text(docs[d].text, o)) {
            pgrag::Source s = source(0, c.content, docs[d].title);
            s.heading = c.heading;
            s.document_id = static_cast<int64_t>(d + 1);
            chunks.push_back(s);
        }
    }
    const std::vector<Case> cases = {
        {"Which user does make run start PostgreSQL as?",
         {"unprivileged `postgres` user", "refuses to run as root)"},
         {}},
        {"How long do refunds take?", {"five business days"}, {}},
        {"What is the price of the Widget?", {"widget", "9.99"}, {}},
        {"How much does the Gadget cost?", {"gadget", "19.50"}, {}},
        {"How many days does delivery to Europe take?", {"days: 10|seven to ten days"}, {}},
        {"What is the default distance metric of vector search?", {"`cosine` by default"}, {}},
        {"What are the default BM25 parameters?", {"1.2", "0.75"}, {}},
        {"What do I need for a return?", {"the receipt; the original packaging"}, {}},
        {"What does make test end with?", {"`pg_rag: N passed, M failed`"}, {}},
        {"What happens to the write when the embedding provider is down?",
         {"the write fails with the provider's error and rolls back"},
         {}},
    };
    int correct = 0;
    for (const auto& c : cases) {
        auto sources = retrieve(chunks, c.question);
        auto a = pgrag::extractive_answer(c.question, sources);
        bool ok = a.text != pgrag::kDontKnow;
        for (const char* e : c.expect) {  // "a|b": either
            bool any = false;
            std::string alternatives = lower(e);
            for (size_t p = 0, bar; p <= alternatives.size(); p = bar + 1) {
                bar = std::min(alternatives.find('|', p), alternatives.size());
                any = any || squeeze(lower(a.text)).find(alternatives.substr(p, bar - p)) != std::string::npos;
            }
            ok = ok && any;
        }
        for (const char* r : c.reject) ok = ok && lower(a.text).find(lower(r)) == std::string::npos;
        EXPECT_TRUE(ok) << c.question << "\n  answered: " << a.text;
        if (std::getenv("PGRAG_SHOW_ANSWERS"))
            std::cout << c.question << "\n  " << (ok ? "ok" : "WRONG") << ": " << a.text << "\n";
        if (a.text != pgrag::kDontKnow) expect_verbatim(a, sources);
        correct += ok;
    }
    RecordProperty("correct", correct);
    std::cout << "[ extractive ] " << correct << " of " << cases.size() << " answered correctly\n";
}
