#include "chunker.hpp"

#include <algorithm>
#include <deque>
#include <functional>

#include "error.hpp"

namespace pgrag {
namespace {

struct Span {
    size_t begin;  // byte offsets into the text
    size_t end;
};

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }
bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_ascii_word(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Byte length of the code point starting at text[i].
size_t cp_len(std::string_view text, size_t i) {
    size_t n = 1;
    while (i + n < text.size() && is_continuation(static_cast<unsigned char>(text[i + n]))) ++n;
    return n;
}

class Chunker {
  public:
    class Merger;  // packs pieces into chunks as they stream in
    Chunker(std::string_view text, const ChunkOptions& o, const InterruptCheck& check)
        : text_(text), max_(static_cast<size_t>(o.max_size)), poll_(check) {
        overlap_ = o.overlap < 0 ? max_ / 5 : static_cast<size_t>(o.overlap);
        tokens_ = o.strategy == "tokens";
    }

    size_t measure(Span s) const {
        std::string_view v = text_.substr(s.begin, s.end - s.begin);
        return tokens_ ? approximate_tokens(v) : code_point_count(v);
    }

    // Level 0: paragraphs, 1: lines, 2: sentences, 3: words, 4: characters.
    static constexpr int kCharacterLevel = 4;

    // Where pieces start inside s at the given level (separators stay with the piece they end).
    // The next one from byte i on (i advances past it), or npos: streamed, never a vector of every
    // cut (8 bytes per word of the text).
    size_t next_cut(Span s, int level, size_t& at) {
        size_t i = at;  // a local, so the hot loop keeps it in a register; polled per cut, not per byte
        while (i < s.end) {
            unsigned char c = static_cast<unsigned char>(text_[i]);
            size_t next = i + 1;
            size_t cut = std::string_view::npos;
            switch (level) {
                case 0:
                    if (c == '\n') {
                        size_t j = i + 1;
                        while (j < s.end && (text_[j] == ' ' || text_[j] == '\t' || text_[j] == '\r')) ++j;
                        if (j < s.end && text_[j] == '\n') {
                            while (j < s.end && is_space(static_cast<unsigned char>(text_[j]))) ++j;
                            if (j < s.end) cut = j;
                            next = j;
                        }
                    }
                    break;
                case 1:
                    if (c == '\n' && i + 1 < s.end) cut = i + 1;
                    break;
                case 2:
                    if ((c == '.' || c == '!' || c == '?') && i + 1 < s.end &&
                        is_space(static_cast<unsigned char>(text_[i + 1]))) {
                        size_t j = i + 1;
                        while (j < s.end && is_space(static_cast<unsigned char>(text_[j]))) ++j;
                        if (j < s.end) cut = j;
                        next = j;
                    } else if (c == 0xE3 && i + 2 < s.end && static_cast<unsigned char>(text_[i + 1]) == 0x80 &&
                               static_cast<unsigned char>(text_[i + 2]) == 0x82) {  // 。
                        if (i + 3 < s.end) cut = i + 3;
                        next = i + 3;
                    } else if (c == 0xEF && i + 2 < s.end && static_cast<unsigned char>(text_[i + 1]) == 0xBC &&
                               (static_cast<unsigned char>(text_[i + 2]) == 0x81 ||
                                static_cast<unsigned char>(text_[i + 2]) == 0x9F)) {  // ！ ？
                        if (i + 3 < s.end) cut = i + 3;
                        next = i + 3;
                    }
                    break;
                case 3:
                    if (is_space(c)) {
                        size_t j = i + 1;
                        while (j < s.end && is_space(static_cast<unsigned char>(text_[j]))) ++j;
                        if (j < s.end) cut = j;
                        next = j;
                    }
                    break;
            }
            i = std::max(next, i + 1);
            if (cut != std::string_view::npos) {
                poll_.tick(i - at);
                at = i;
                return cut;
            }
        }
        poll_.tick(i - at);
        at = i;
        return std::string_view::npos;
    }

    // Splits s into pieces of at most max (a single code point may exceed a token budget of 0: never).
    void split(Span s, int level, Merger& out) {
        if (measure(s) <= max_) {
            out.push(s);
            return;
        }
        if (level >= kCharacterLevel) {
            hard_split(s, out);
            return;
        }
        size_t i = s.begin, start = s.begin;  // recursion depth is the level (at most 4), not the input
        for (size_t cut = next_cut(s, level, i); cut != std::string_view::npos; cut = next_cut(s, level, i)) {
            split({start, cut}, level + 1, out);
            start = cut;
        }
        split({start, s.end}, level + 1, out);
    }

    // Cuts at code point boundaries into pieces no larger than max. The size of the growing piece is
    // kept as a running count equal to measure() of it (re-measuring each time was quadratic in max).
    void hard_split(Span s, Merger& out) {
        size_t start = s.begin;
        while (start < s.end) {
            size_t end = start;
            size_t taken = 0;
            size_t size = 0, word = 0;  // measure({start, end}), and for tokens its trailing ASCII word's length
            while (end < s.end) {
                poll_.tick();
                size_t next = end + cp_len(text_, end);
                unsigned char c = static_cast<unsigned char>(text_[end]);
                size_t new_size, new_word = 0;
                if (!tokens_) {
                    new_size = size + !is_continuation(c);
                } else if (is_ascii_word(c)) {
                    new_word = word + 1;
                    new_size = size - (word + 3) / 4 + (new_word + 3) / 4;
                    if (next > end + 1) {  // stray continuation bytes (invalid UTF-8) end the word, count 1
                        ++new_size;
                        new_word = 0;
                    }
                } else {
                    new_size = size + !is_space(c);
                }
                if (taken > 0 && new_size > max_) break;
                end = next;
                ++taken;
                size = new_size;
                word = new_word;
                if (!tokens_ && taken == max_) break;
            }
            out.push({start, end});
            start = end;
        }
    }

    // Packs consecutive pieces into chunks up to max, starting each new chunk with the previous
    // chunk's trailing pieces that fit in the overlap budget. A piece's size includes the gap before
    // it (markdown blocks skip blank lines), so sizes add up to at least the span they cover (exactly
    // for contiguous pieces; for tokens a sum can only overestimate) and a running total replaces
    // re-measuring without ever letting a chunk exceed max.
    class Merger {
      public:
        Merger(Chunker& c, const std::string& heading, std::vector<Chunk>& out) : c_(c), heading_(heading), out_(out) {}
        void push(Span p) {
            if (current_.empty() && !started_) previous_end_ = p.begin;
            started_ = true;
            size_t size = c_.measure({std::min(previous_end_, p.begin), p.end});
            previous_end_ = p.end;
            if (!current_.empty() && total_ + size > c_.max_) {
                c_.emit({current_.front().first.begin, current_.back().first.end}, heading_, out_);
                while (!current_.empty() && (total_ > c_.overlap_ || total_ + size > c_.max_)) {
                    total_ -= current_.front().second;
                    current_.pop_front();
                }
            }
            current_.push_back({p, size});
            total_ += size;
        }
        void finish() {
            if (!current_.empty()) c_.emit({current_.front().first.begin, current_.back().first.end}, heading_, out_);
            current_.clear();
            total_ = 0;
            started_ = false;
        }

      private:
        Chunker& c_;
        const std::string& heading_;
        std::vector<Chunk>& out_;
        std::deque<std::pair<Span, size_t>> current_;  // piece and its size
        size_t total_ = 0;
        size_t previous_end_ = 0;
        bool started_ = false;
    };

    // Adds a chunk for s, trimmed of surrounding whitespace; skips it if nothing is left or if it
    // repeats the previous chunk's span (possible when overlap keeps everything).
    void emit(Span s, const std::string& heading, std::vector<Chunk>& out) {
        while (s.begin < s.end && is_space(static_cast<unsigned char>(text_[s.begin]))) ++s.begin;
        while (s.end > s.begin && is_space(static_cast<unsigned char>(text_[s.end - 1]))) --s.end;
        if (s.begin == s.end) return;
        if (!spans_.empty() && spans_.back().begin == s.begin && spans_.back().end == s.end) return;
        spans_.push_back(s);
        out.push_back(
            {static_cast<int>(out.size()) + 1, std::string(text_.substr(s.begin, s.end - s.begin)), 0, 0, heading});
    }

    // Fixed windows of max code points advancing by max - overlap (walked, not indexed: an offset
    // per code point would take 8 bytes per input byte).
    void characters(std::vector<Chunk>& out) {
        size_t step = max_ - overlap_;
        auto advance = [&](size_t at, size_t count) {
            for (size_t k = 0; k < count && at < text_.size(); ++k) {
                poll_.tick();
                at += cp_len(text_, at);
            }
            return at;
        };
        for (size_t first = 0; first < text_.size(); first = advance(first, step)) {
            size_t last = advance(first, max_);
            emit({first, last}, "", out);
            if (last == text_.size()) break;
        }
    }

    void recursive(Span s, const std::string& heading, std::vector<Chunk>& out) {
        Merger merger(*this, heading, out);
        split(s, 0, merger);
        merger.finish();
    }

    // Whole sentences (paragraph ends count as sentence ends), packed up to the size.
    void sentences(std::vector<Chunk>& out) {
        Span all{0, text_.size()};
        // The paragraph, line and sentence cuts merged in order as they stream (none is stored).
        size_t at[3] = {0, 0, 0}, next[3];
        for (int level = 0; level < 3; ++level) next[level] = next_cut(all, level, at[level]);
        const std::string no_heading;
        Merger merger(*this, no_heading, out);
        auto add = [&](Span s) {
            if (measure(s) <= max_)
                merger.push(s);
            else
                split(s, 3, merger);  // an over-long sentence: by words, then characters
        };
        size_t start = 0;
        for (;;) {
            size_t c = std::min({next[0], next[1], next[2]});
            if (c == std::string_view::npos) break;
            for (int level = 0; level < 3; ++level)
                if (next[level] == c) next[level] = next_cut(all, level, at[level]);
            add({start, c});
            start = c;
        }
        if (start < text_.size()) add({start, text_.size()});
        merger.finish();
    }

    // Sections at headings (never inside fenced code), heading paths, code blocks kept whole.
    void markdown(std::vector<Chunk>& out) {
        struct Line {
            size_t begin, end;  // end includes the newline
        };
        std::vector<std::pair<int, std::string>> path;  // (level, title)
        std::string heading;
        Merger blocks(*this, heading, out);  // blocks of the current section
        std::string fence;                   // the open fence marker, if inside a code block
        size_t block_start = std::string_view::npos;
        bool block_is_code = false;
        auto close_block = [&](size_t end) {
            if (block_start != std::string_view::npos && end > block_start) {
                Span b{block_start, end};
                if (measure(b) <= max_)
                    blocks.push(b);
                else if (block_is_code)
                    split(b, 1, blocks);  // an over-long code block: by lines, then characters
                else
                    split(b, 1, blocks);
            }
            block_start = std::string_view::npos;
            block_is_code = false;
        };
        auto close_section = [&](size_t end) {
            close_block(end);
            blocks.finish();
        };
        for (size_t i = 0; i < text_.size();) {
            size_t nl = text_.find('\n', i);
            Line l{i, nl == std::string_view::npos ? text_.size() : nl + 1};
            i = l.end;
            poll_.tick(l.end - l.begin);
            std::string_view line = text_.substr(l.begin, l.end - l.begin);
            size_t indent = line.find_first_not_of(' ');
            std::string_view body =
                indent == std::string_view::npos || indent > 3 ? std::string_view() : line.substr(indent);
            bool is_fence = body.rfind("```", 0) == 0 || body.rfind("~~~", 0) == 0;
            if (!fence.empty()) {  // inside a code block: only the closing fence matters
                if (is_fence && body.rfind(fence, 0) == 0) {
                    fence.clear();
                    close_block(l.end);
                }
                continue;
            }
            if (is_fence) {
                close_block(l.begin);
                fence = body.substr(0, 3);
                block_start = l.begin;
                block_is_code = true;
                continue;
            }
            size_t hashes = 0;
            while (hashes < body.size() && body[hashes] == '#') ++hashes;
            if (hashes >= 1 && hashes <= 6 && hashes < body.size() && (body[hashes] == ' ' || body[hashes] == '\t')) {
                close_section(l.begin);
                std::string title(body.substr(hashes));
                while (!title.empty() && (is_space(static_cast<unsigned char>(title.back())) || title.back() == '#'))
                    title.pop_back();
                title.erase(0, title.find_first_not_of(" \t"));
                while (!path.empty() && path.back().first >= static_cast<int>(hashes)) path.pop_back();
                path.push_back({static_cast<int>(hashes), title});
                heading.clear();
                for (const auto& [level, t] : path) heading += (heading.empty() ? "" : " > ") + t;
                block_start = l.begin;  // the heading line starts the section's first block
                continue;
            }
            bool blank = line.find_first_not_of(" \t\r\n") == std::string_view::npos;
            if (blank) {
                close_block(l.begin);
            } else if (block_start == std::string_view::npos) {
                block_start = l.begin;
            }
        }
        close_section(text_.size());  // an unclosed fence runs to the end, whole
    }

    // Code point offsets of every emitted span, in one forward pass (starts and ends never decrease).
    void fill_offsets(std::vector<Chunk>& out) {
        size_t byte = 0, cp = 0;
        auto advance = [&](size_t to) {
            if (to < byte) {  // not expected: spans are ordered; recount from the start
                byte = 0;
                cp = 0;
            }
            poll_.tick(to - byte);
            for (; byte < to; ++byte)
                if (!is_continuation(static_cast<unsigned char>(text_[byte]))) ++cp;
            return cp;
        };
        std::vector<int> starts(out.size()), ends(out.size());
        for (size_t i = 0; i < out.size(); ++i) starts[i] = static_cast<int>(advance(spans_[i].begin));
        byte = cp = 0;
        for (size_t i = 0; i < out.size(); ++i) ends[i] = static_cast<int>(advance(spans_[i].end));
        for (size_t i = 0; i < out.size(); ++i) {
            out[i].char_start = starts[i];
            out[i].char_end = ends[i];
        }
    }

    std::vector<Chunk> run(const std::string& strategy) {
        std::vector<Chunk> out;
        if (strategy == "characters")
            characters(out);
        else if (strategy == "recursive" || strategy == "tokens")
            recursive({0, text_.size()}, "", out);
        else if (strategy == "sentences")
            sentences(out);
        else if (strategy == "markdown")
            markdown(out);
        fill_offsets(out);
        return out;
    }

  private:
    std::string_view text_;
    size_t max_;
    Poller poll_;
    size_t overlap_ = 0;
    bool tokens_ = false;
    std::vector<Span> spans_;
};

}  // namespace

size_t code_point_count(std::string_view text) {
    size_t n = 0;
    for (unsigned char c : text) n += !is_continuation(c);
    return n;
}

size_t approximate_tokens(std::string_view text) {
    size_t tokens = 0;
    for (size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (is_ascii_word(c)) {
            size_t j = i;
            while (j < text.size() && is_ascii_word(static_cast<unsigned char>(text[j]))) ++j;
            tokens += (j - i + 3) / 4;
            i = j;
        } else {
            if (!is_space(c)) ++tokens;
            i += cp_len(text, i);
        }
    }
    return tokens;
}

std::vector<Chunk> chunk_text(std::string_view text, const ChunkOptions& options, const InterruptCheck& check) {
    static const char* const kStrategies[] = {"characters", "recursive", "sentences", "markdown", "tokens"};
    if (std::find_if(std::begin(kStrategies), std::end(kStrategies),
                     [&](const char* s) { return options.strategy == s; }) == std::end(kStrategies))
        throw Error(ErrorCode::InvalidParameterValue, "unknown chunking strategy \"" + options.strategy + "\"", "",
                    "Valid strategies are characters, recursive, sentences, markdown and tokens.");
    if (options.max_size < 1)
        throw Error(ErrorCode::InvalidParameterValue,
                    "max_chars must be at least 1, not " + std::to_string(options.max_size));
    int overlap = options.overlap < 0 ? options.max_size / 5 : options.overlap;
    if (overlap >= options.max_size)
        throw Error(ErrorCode::InvalidParameterValue, "overlap (" + std::to_string(overlap) +
                                                          ") must be smaller than max_chars (" +
                                                          std::to_string(options.max_size) + ")");
    Chunker chunker(text, options, check);
    return chunker.run(options.strategy);
}

}  // namespace pgrag
