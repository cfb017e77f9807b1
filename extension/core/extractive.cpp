// The built-in extractive answerer: verbatim units of the sources that cover the question (whole
// sentences, list items, rows, or a record's key and value lines), cited as [n]; no network, no
// invented text.
#include "extractive.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "chunker.hpp"

namespace pgrag {

const char* const kDontKnow = "I don't know: the knowledge base does not contain an answer to this question.";
const char* const kExtractiveModel = "pg_rag-extractive-v1";

namespace {

// ---- words ---------------------------------------------------------------------------------------

bool word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

const std::set<std::string>& stopwords() {
    static const std::set<std::string> words = {
        "a",      "about", "after", "all",   "also",  "an",   "and",    "any",   "are", "as",   "at",   "be",   "been",
        "before", "but",   "by",    "can",   "could", "did",  "do",     "does",  "for", "from", "had",  "has",  "have",
        "he",     "her",   "his",   "how",   "i",     "if",   "in",     "into",  "is",  "it",   "its",  "many", "much",
        "my",     "no",    "not",   "of",    "on",    "or",   "our",    "she",   "so",  "some", "than", "that", "the",
        "their",  "them",  "then",  "there", "these", "they", "this",   "to",    "was", "we",   "were", "what", "when",
        "where",  "which", "who",   "whom",  "why",   "will", "with",   "would", "you", "your", "long", "take", "takes",
        "get",    "one",   "other", "more",  "most",  "name", "called", "did",   "us"};
    return words;
}

// Lower-cased content words with plain plurals folded.
std::vector<std::string> content_words(const std::string& text) {
    std::vector<std::string> out;
    for (size_t i = 0; i < text.size();) {
        while (i < text.size() && !word_byte(static_cast<unsigned char>(text[i]))) ++i;
        size_t start = i;
        while (i < text.size() && word_byte(static_cast<unsigned char>(text[i]))) ++i;
        if (i == start) continue;
        std::string w = text.substr(start, i - start);
        for (char& c : w)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (stopwords().count(w)) continue;
        if (w.size() > 3 && w.back() == 's' && w[w.size() - 2] != 's') w.pop_back();
        out.push_back(w);
    }
    return out;
}

// ---- units: what an answer may quote -------------------------------------------------------------

// A heading, a sentence (of a paragraph or list item, hard-wrapped lines joined), a table row, a
// line of code, or one `key: value` line of a record (the CSV and JSON extractors' output).
enum class Kind { Heading, Sentence, Row, Code, Field };

struct Unit {
    Kind kind;
    std::string text;
    int level = 0;    // heading level
    int record = -1;  // field lines of one record share it
    int list = -1;    // one-sentence items of one list share it
};

std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t\r\f");
    if (a == std::string::npos) return "";
    return s.substr(a, s.find_last_not_of(" \t\r\f") - a + 1);
}

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_lower(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Length of a list marker ("- ", "* ", "+ ", "12. ", "3) ") at the start of a trimmed line, or 0.
size_t list_marker(const std::string& t) {
    if (t.size() > 1 && (t[0] == '-' || t[0] == '*' || t[0] == '+') && t[1] == ' ') return 2;
    size_t i = 0;
    while (i < t.size() && i < 3 && is_digit(t[i])) ++i;
    if (i > 0 && i + 1 < t.size() && (t[i] == '.' || t[i] == ')') && t[i + 1] == ' ') return i + 2;
    return 0;
}

// The key of a `key: value` line (a JSON path or a column name of up to four words), or "".
std::string field_key(const std::string& t) {
    size_t colon = t.find(": ");
    if (colon == std::string::npos || colon == 0 || colon > 60 || !is_alpha(t[0])) return "";
    std::string key = t.substr(0, colon);
    bool path = key.find(' ') == std::string::npos;
    int spaces = 0;
    for (char c : key) {
        if (c == ' ') ++spaces;
        bool ok = is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == ' ' ||
                  (path && (c == '.' || c == '[' || c == ']'));
        if (!ok || spaces > 3) return "";
    }
    return key;
}

// A field line's record within its block: the JSON path up to its last index ("faq[0]"), so the
// fields of one array element stay together; CSV rows are one block each.
std::string record_prefix(const std::string& key) {
    size_t close = key.rfind(']');
    return close == std::string::npos ? "" : key.substr(0, close + 1);
}

bool is_heading(const std::string& t, int* level) {
    size_t n = 0;
    while (n < t.size() && t[n] == '#') ++n;
    if (n == 0 || n > 6 || n >= t.size() || t[n] != ' ') return false;
    *level = static_cast<int>(n);
    return true;
}

bool is_table_row(const std::string& t) { return t[0] == '|' || t.find(" | ") != std::string::npos; }

// Words that end in a period without ending the sentence.
bool abbreviation_before(const std::string& s, size_t dot) {
    size_t start = dot;
    while (start > 0 && (is_alpha(s[start - 1]) || s[start - 1] == '.')) --start;
    std::string w = s.substr(start, dot - start);
    for (char& c : w)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    static const std::set<std::string> abbreviations = {"e.g", "i.e", "etc", "vs",     "cf",  "mr",  "mrs", "ms", "dr",
                                                        "st",  "no",  "fig", "approx", "inc", "ltd", "jr",  "sr"};
    if (abbreviations.count(w)) return true;
    // An initial ("J. Smith", "U.S. Army").
    return dot >= 1 && (s[dot - 1] >= 'A' && s[dot - 1] <= 'Z') && (dot == 1 || !is_alpha(s[dot - 2]));
}

// Sentences of a paragraph: they end at . ! ? (and closing quotes or brackets after them) followed by
// a space and something other than a lower-case letter, or at 。！？.
void split_sentences(const std::string& text, std::vector<Unit>& out) {
    size_t start = 0;
    auto emit = [&](size_t end) {
        std::string s = trim(text.substr(start, end - start));
        if (s.rfind("\xc2\xa0", 0) == 0) s = trim(s.substr(2));  // a no-break space after the last sentence
        if (!s.empty()) out.push_back({Kind::Sentence, s});
        start = end;
    };
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (i + 2 < text.size() && (text.compare(i, 3, "\u3002") == 0 || text.compare(i, 3, "\uff01") == 0 ||
                                    text.compare(i, 3, "\uff1f") == 0)) {  // 。！？
            emit(i + 3);
            i += 2;
            continue;
        }
        if (c != '.' && c != '!' && c != '?') continue;
        size_t end = i + 1;
        while (end < text.size() &&
               (text[end] == '"' || text[end] == '\'' || text[end] == ')' || text[end] == '*' || text[end] == '`'))
            ++end;
        bool nbsp = text.compare(end, 2, "\xc2\xa0") == 0;
        if (end < text.size() && text[end] != ' ' && !nbsp) continue;
        size_t next = end + (nbsp ? 2 : 0);
        while (next < text.size() && text[next] == ' ') ++next;
        if (next < text.size() && (is_lower(text[next]) || text[next] == '[')) continue;  // "[n]" cites this one
        if (c == '.' && abbreviation_before(text, i)) continue;
        emit(end);
        i = end - 1;
    }
    emit(text.size());
}

// The units of a chunk. Lines are joined into paragraphs (hard wrap) up to a blank line, a heading,
// a list item, a table row or a code line; a block whose lines are mostly `key: value` lines is a
// record block (field lines, a multi-line value continuing its field).
std::vector<Unit> units_of(const std::string& content) {
    std::vector<Unit> out;
    std::vector<std::string> block;
    int records = 0, lists = 0;
    auto flush_block = [&]() {
        if (block.empty()) return;
        size_t fields = 0;
        for (const auto& line : block) fields += !field_key(trim(line)).empty();
        if (!field_key(trim(block[0])).empty() && fields >= 2 && 2 * fields >= block.size()) {
            std::map<std::string, int> record_of;
            for (const auto& line : block) {
                std::string t = trim(line);
                std::string key = field_key(t);
                if (key.empty()) {  // a value on several lines (the block starts with a field line)
                    out.back().text += " " + t;
                    continue;
                }
                auto [it, added] = record_of.emplace(record_prefix(key), records);
                if (added) ++records;
                out.push_back({Kind::Field, t, 0, it->second});
            }
        } else {
            std::string paragraph;
            bool in_item = false;
            int list = -1;
            auto flush_paragraph = [&]() {
                size_t before = out.size();
                split_sentences(paragraph, out);
                if (in_item && out.size() == before + 1) out.back().list = list;
                paragraph.clear();
                in_item = false;
            };
            size_t widest = 0;
            for (const auto& t : block) widest = std::max(widest, trim(t).size());
            for (size_t i = 0; i < block.size(); ++i) {
                std::string t = trim(block[i]);
                int level = 0;
                if (is_heading(t, &level)) {
                    flush_paragraph();
                    list = -1;
                    out.push_back({Kind::Heading, trim(t.substr(static_cast<size_t>(level))), level});
                } else if (is_table_row(t)) {
                    flush_paragraph();
                    list = -1;
                    if (t.find_first_not_of("|-: ") != std::string::npos) out.push_back({Kind::Row, t});
                } else if (size_t m = list_marker(t)) {
                    flush_paragraph();
                    if (list < 0) list = lists++;
                    paragraph = t.substr(m);
                    in_item = true;
                } else {
                    // An item continues on indented lines only; a title line (short, no final
                    // punctuation, a capital after it) is not wrapped into the next sentence.
                    if (in_item && block[i][0] != ' ' && block[i][0] != '\t') flush_paragraph();
                    if (!in_item) list = -1;
                    bool title = paragraph.empty() && !in_item && i + 1 < block.size() && 3 * t.size() < 2 * widest &&
                                 t.size() < 60 && std::string(".,;:!?-(").find(t.back()) == std::string::npos &&
                                 !is_lower(trim(block[i + 1])[0]);
                    if (title) {  // a PDF's title line: a heading
                        out.push_back({Kind::Heading, t, 6});
                        continue;
                    }
                    paragraph += paragraph.empty() ? t : " " + t;
                }
            }
            flush_paragraph();
        }
        block.clear();
    };
    bool fence = false;
    size_t pos = 0;
    while (pos <= content.size()) {
        size_t nl = content.find('\n', pos);
        if (nl == std::string::npos) nl = content.size();
        std::string line = content.substr(pos, nl - pos);
        std::string t = trim(line);
        pos = nl + 1;
        if (t.rfind("```", 0) == 0) {
            flush_block();
            fence = !fence;
        } else if (fence) {
            if (!t.empty()) out.push_back({Kind::Code, t});
        } else if (t.empty()) {
            flush_block();
        } else {
            block.push_back(line);
        }
    }
    flush_block();
    return out;
}

// All words, lower-cased, each followed by a space (for whole-word containment of the question).
std::string word_sequence(const std::string& text) {
    std::string out = " ";
    for (size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (word_byte(c)) {
            out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
            if (i + 1 == text.size() || !word_byte(static_cast<unsigned char>(text[i + 1]))) out += ' ';
        }
    }
    return out;
}

// A question (or a heading) points at the answer after it; it is not the answer.
bool asks(const std::string& text) {
    size_t end = text.find_last_not_of(" *_`\"')");
    return end != std::string::npos && text[end] == '?';
}

}  // namespace

namespace {

// At most this many items of a list answer together.
const size_t kMaxListItems = 8;

// A line of code is an example rather than a statement: a sentence covering as much comes first.
const double kCodePenalty = 0.05;

// What an answer may quote: a sentence or row, or a record's key line with its answering lines.
struct Candidate {
    double score = 0;  // coverage, less a little for lower-ranked sources and code
    double coverage = 0;
    int source_n = 0;
    size_t order = 0;
    std::string text;
    std::set<std::string> matched;
};

// The question as asked, and its content words.
struct Question {
    std::string words;  // word_sequence of the question
    std::set<std::string> content;
};

// Quotes the question itself (an FAQ entry, a code example asking it): that is not an answer.
bool quotes(const std::string& text, const Question& q) {
    return q.words.size() > 2 && word_sequence(text).find(q.words) != std::string::npos;
}

std::set<std::string> matched_words(const std::string& text, const std::set<std::string>& q, bool* novel) {
    std::set<std::string> matched;
    *novel = false;
    for (const auto& w : content_words(text)) {
        if (q.count(w))
            matched.insert(w);
        else
            *novel = true;
    }
    return matched;
}

// A record answers with its key line (the first, for context) and its lines that say something the
// question does not: a matched field with a new value, else the fields after the question's echo.
void add_record(const std::vector<const Unit*>& lines, const Question& question, int source_n, size_t order,
                std::vector<Candidate>& out) {
    const std::set<std::string>& q = question.content;
    std::set<std::string> matched;
    std::vector<bool> answers(lines.size()), echoes(lines.size());
    size_t first_matched = lines.size();
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& t = lines[i]->text;
        size_t colon = t.find(": ");
        std::string value = t.substr(colon + 2);
        bool novel_key = false, novel_value = false;
        auto m = matched_words(t.substr(0, colon), q, &novel_key);
        auto mv = matched_words(value, q, &novel_value);
        m.insert(mv.begin(), mv.end());
        echoes[i] = !novel_value || asks(value) || quotes(value, question);
        answers[i] = !m.empty() && !echoes[i];
        if (!m.empty() && first_matched == lines.size()) first_matched = i;
        matched.insert(m.begin(), m.end());
    }
    if (matched.empty()) return;
    bool any = std::find(answers.begin(), answers.end(), true) != answers.end();
    for (size_t i = first_matched + 1, taken = 0; !any && i < lines.size() && taken < 2; ++i)
        if (!echoes[i]) answers[i] = true, ++taken;
    if (std::find(answers.begin(), answers.end(), true) == answers.end()) return;  // only the question itself
    Candidate c;
    c.source_n = source_n;
    c.order = order;
    c.matched = matched;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i != 0 && !answers[i]) continue;
        if (!c.text.empty()) c.text += "; ";
        c.text += lines[i]->text;
    }
    out.push_back(std::move(c));
}

// The candidates of one source. A heading's matched words go to the first sentence under it, and a
// question or a restatement of the question (no word of its own) to the sentence after it: they
// point at the answer and are never the answer themselves.
// Returns the number of units of the source.
size_t add_candidates(const Source& src, const Question& question, size_t& order, std::vector<Candidate>& out) {
    const std::set<std::string>& q = question.content;
    std::vector<Unit> units = units_of(src.content);
    std::set<std::string> headings[7], pending;
    for (size_t i = 0; i < units.size(); ++i) {
        const Unit& u = units[i];
        if (u.kind == Kind::Field) {
            std::vector<const Unit*> lines;
            size_t j = i;
            for (; j < units.size() && units[j].kind == Kind::Field && units[j].record == u.record; ++j)
                lines.push_back(&units[j]);
            add_record(lines, question, src.n, order++, out);
            i = j - 1;
            pending.clear();
            continue;
        }
        bool novel = false;
        auto matched = matched_words(u.text, q, &novel);
        if (u.kind == Kind::Heading) {
            headings[u.level] = matched;
            for (int l = u.level + 1; l < 7; ++l) headings[l].clear();
            pending.clear();
            for (int l = 1; l <= u.level; ++l) pending.insert(headings[l].begin(), headings[l].end());
            continue;
        }
        bool inherited_only = matched.empty() && !pending.empty();
        bool question_only = !novel || asks(u.text);
        if (question_only || quotes(u.text, question)) {
            // A question points at what follows; a longer unit quoting it (an example) points nowhere.
            if (question_only && u.kind != Kind::Code) pending.insert(matched.begin(), matched.end());
            continue;
        }
        if (u.kind == Kind::Sentence) matched.insert(pending.begin(), pending.end());
        pending.clear();
        // A chunk may start inside a sentence (chunk overlap): that piece is not a whole sentence.
        if (i == 0 && u.kind == Kind::Sentence && is_lower(u.text[0])) continue;
        if (matched.empty()) continue;
        if (u.list >= 0 && inherited_only) {  // the list under a heading that asks: its items together
            std::string text = u.text;
            size_t j = i + 1;
            for (; j < units.size() && units[j].list == u.list && j - i < kMaxListItems; ++j)
                text += "; " + units[j].text;
            out.push_back({0, 0, src.n, order++, text, matched});
            i = j - 1;
            continue;
        }
        out.push_back({u.kind == Kind::Code ? -kCodePenalty : 0, 0, src.n, order++, u.text, matched});
    }
    return units.size();
}

}  // namespace

Answer extractive_answer(const std::string& question_text, const std::vector<Source>& sources) {
    Answer a;
    a.provider = "extractive";
    a.model = kExtractiveModel;
    std::vector<std::string> q = content_words(question_text);
    std::set<std::string> qset(q.begin(), q.end());
    if (qset.empty() || sources.empty()) {
        a.text = kDontKnow;
        return a;
    }
    Question question{word_sequence(question_text), qset};
    std::vector<Candidate> candidates;
    size_t order = 0, units = 0;
    for (const auto& src : sources) units += add_candidates(src, question, order, candidates);
    // Rarer question words (in fewer candidates) weigh more.
    std::map<std::string, int> freq;
    for (const auto& c : candidates)
        for (const auto& w : c.matched) ++freq[w];
    auto weight = [&](const std::string& w) {
        return 1.0 + std::log(1.0 + static_cast<double>(units) / (1 + freq[w]));
    };
    double total = 0;
    for (const auto& w : qset) total += weight(w);
    for (auto& c : candidates) {
        double s = 0;
        for (const auto& w : c.matched) s += weight(w);
        c.coverage = s / total;
        c.score += c.coverage - 0.01 * (c.source_n - 1);
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& x, const Candidate& y) { return x.score > y.score; });
    // Enough of the question must be covered, by at least one content word.
    const double kMinCoverage = qset.size() == 1 ? 0.99 : 0.34;
    std::vector<const Candidate*> picked;
    std::set<std::string> covered;
    for (const auto& c : candidates) {
        if (c.coverage < kMinCoverage * (picked.empty() ? 1.0 : 0.6)) continue;
        bool adds = picked.empty();
        for (const auto& w : c.matched)
            if (!covered.count(w)) adds = true;
        if (!adds) continue;
        picked.push_back(&c);
        covered.insert(c.matched.begin(), c.matched.end());
        if (picked.size() == 3) break;
    }
    if (picked.empty()) {
        a.text = kDontKnow;
        return a;
    }
    std::sort(picked.begin(), picked.end(), [](const Candidate* x, const Candidate* y) { return x->order < y->order; });
    for (const Candidate* c : picked) {
        if (!a.text.empty()) a.text += " ";
        a.text += c->text + " [" + std::to_string(c->source_n) + "]";
    }
    a.prompt_tokens = static_cast<int64_t>(approximate_tokens(question_text));
    a.completion_tokens = static_cast<int64_t>(approximate_tokens(a.text));
    return a;
}

std::string standalone_question_extractive(const std::string& question, const std::string& previous_question) {
    std::string extra;
    std::set<std::string> seen;
    for (const auto& w : content_words(question)) seen.insert(w);
    for (const auto& w : content_words(previous_question))
        if (seen.insert(w).second) extra += " " + w;
    return question + extra;
}

std::vector<std::string> sentence_pieces(const std::string& text) {
    std::vector<std::string> pieces;
    size_t start = 0;
    for (size_t i = 1; i < text.size(); ++i) {
        // A space after a sentence end or a citation ends a piece, unless a citation follows it.
        char prev = text[i - 1];
        if (text[i] != ' ' || !(prev == '.' || prev == '!' || prev == '?' || prev == ']')) continue;
        if (i + 1 < text.size() && text[i + 1] == '[') continue;
        pieces.push_back(text.substr(start, i + 1 - start));
        start = i + 1;
    }
    if (start < text.size()) pieces.push_back(text.substr(start));
    return pieces;
}

}  // namespace pgrag
