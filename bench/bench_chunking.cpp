// Chunking throughput per strategy on a multi-megabyte Markdown text, in MB/s on one core, with the
// ratio to a baseline measured in the same run: one memchr pass over the text counting newlines
// (the least work any splitter has to do).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "core/chunker.hpp"

namespace {

// A Markdown manual: headings, paragraphs, lists, code blocks, some Unicode.
std::string make_markdown(size_t target_bytes) {
    std::string md;
    for (int section = 0; md.size() < target_bytes; ++section) {
        md += "# Chapter " + std::to_string(section) + "\n\n";
        for (int sub = 0; sub < 4; ++sub) {
            md += "## Topic " + std::to_string(sub) + " of chapter " + std::to_string(section) + "\n\n";
            for (int p = 0; p < 3; ++p)
                md +=
                    "Refunds are processed within five business days after the returned item arrives. "
                    "Digital goods cannot be refunded once downloaded! Do we ship to Europe? Yes: seven to ten "
                    "days, and express delivery costs extra. Café owners in Zürich get 東京 prices.\n\n";
            md += "- first item of the list\n- second item, a little longer than the first\n- third\n\n";
            md += "```sql\nSELECT * FROM rag_search('refunds', k => 5);\n\nSELECT rag_answer('How long?');\n```\n\n";
        }
    }
    return md;
}

double seconds(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main() {
    const std::string text = make_markdown(8 << 20);
    const double mb = static_cast<double>(text.size()) / 1e6;
    const int kRuns = 3;

    auto start = std::chrono::steady_clock::now();
    size_t lines = 0;
    for (int r = 0; r < kRuns; ++r)
        for (const char* p = text.data();
             (p = static_cast<const char*>(std::memchr(p, '\n', text.data() + text.size() - p))); ++p)
            ++lines;
    double baseline = mb * kRuns / seconds(start);
    std::printf("chunking %.1f MB of Markdown (%zu lines), one core\n", mb, lines / kRuns);
    std::printf("  %-30s %8.1f MB/s\n", "baseline: memchr newline scan", baseline);

    for (const char* strategy : {"characters", "recursive", "sentences", "markdown", "tokens"}) {
        pgrag::ChunkOptions o;
        o.max_size = std::strcmp(strategy, "tokens") == 0 ? 250 : 1000;
        o.overlap = o.max_size / 5;
        o.strategy = strategy;
        size_t chunks = 0;
        start = std::chrono::steady_clock::now();
        for (int r = 0; r < kRuns; ++r) chunks = pgrag::chunk_text(text, o).size();
        double rate = mb * kRuns / seconds(start);
        std::printf("  %-30s %8.1f MB/s  (%zu chunks, %.3f of the baseline)\n", strategy, rate, chunks,
                    rate / baseline);
    }
    return 0;
}
