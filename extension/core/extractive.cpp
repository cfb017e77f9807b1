// The built-in extractive answerer: verbatim sentences of the sources that cover the question,
// cited as [n]; no network, no invented text.
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

bool word_byte(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80; }

const std::set<std::string>& stopwords() {
    static const std::set<std::string> words = {
        "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "before", "but",
        "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "his", "how",
        "i", "if", "in", "into", "is", "it", "its", "many", "much", "my", "no", "not", "of", "on", "or", "our",
        "she", "so", "some", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to",
        "was", "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with", "would", "you",
        "your", "long", "take", "takes", "get", "one", "other", "more", "most", "name", "called", "did", "us"};
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

// Sentences of a chunk, trimmed (split after . ! ? followed by a space, and at newlines).
std::vector<std::string> sentences_of(const std::string& text) {
    std::vector<std::string> out;
    std::string current;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        bool end = c == '\n' || ((c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || text[i + 1] == ' '));
        if (c != '\n') current += c;
        if (end) {
            size_t a = current.find_first_not_of(" \t\r\f#-*");
            size_t b = current.find_last_not_of(" \t\r\f");
            if (a != std::string::npos && b >= a) out.push_back(current.substr(a, b - a + 1));
            current.clear();
        }
    }
    size_t a = current.find_first_not_of(" \t\r\f#-*");
    if (a != std::string::npos) out.push_back(current.substr(a, current.find_last_not_of(" \t\r\f") - a + 1));
    return out;
}

}  // namespace

Answer extractive_answer(const std::string& question, const std::vector<Source>& sources) {
    Answer a;
    a.provider = "extractive";
    a.model = kExtractiveModel;
    std::vector<std::string> q = content_words(question);
    std::set<std::string> qset(q.begin(), q.end());
    if (qset.empty() || sources.empty()) {
        a.text = kDontKnow;
        return a;
    }
    // Rarer question words (in fewer retrieved sentences) weigh more.
    struct Candidate {
        double score;
        int source_n;
        size_t order;
        std::string sentence;
        std::set<std::string> matched;
    };
    std::vector<Candidate> candidates;
    std::map<std::string, int> sentence_freq;
    size_t order = 0;
    for (const auto& src : sources) {
        for (const auto& s : sentences_of(src.content)) {
            std::vector<std::string> words = content_words(s);
            std::set<std::string> matched;
            for (const auto& w : words)
                if (qset.count(w)) matched.insert(w);
            for (const auto& w : matched) ++sentence_freq[w];
            candidates.push_back({0, src.n, order++, s, matched});
        }
    }
    double total = 0;
    for (const auto& w : qset) total += 1.0 + std::log(1.0 + static_cast<double>(candidates.size()) / (1 + sentence_freq[w]));
    for (auto& c : candidates) {
        double s = 0;
        for (const auto& w : c.matched)
            s += 1.0 + std::log(1.0 + static_cast<double>(candidates.size()) / (1 + sentence_freq[w]));
        c.score = s / total - 0.01 * (c.source_n - 1);  // coverage of the question, a little less for lower-ranked sources
    }
    std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& x, const Candidate& y) { return x.score > y.score; });
    // Enough of the question must be covered, by at least one content word.
    const double kMinCoverage = qset.size() == 1 ? 0.99 : 0.34;
    std::vector<const Candidate*> picked;
    std::set<std::string> covered;
    for (const auto& c : candidates) {
        if (c.matched.empty() || c.score < kMinCoverage * (picked.empty() ? 1.0 : 0.6)) continue;
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
        a.text += c->sentence + " [" + std::to_string(c->source_n) + "]";
    }
    a.prompt_tokens = static_cast<int64_t>(approximate_tokens(question));
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
