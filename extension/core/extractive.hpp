// The built-in extractive answerer (provider "extractive").
#pragma once

#include <string>
#include <vector>

#include "answer.hpp"

namespace pgrag {

// The model name the extractive answerer reports.
extern const char* const kExtractiveModel;

// The sentence an extractive answer gives when the sources do not contain an answer.
extern const char* const kDontKnow;

// Picks the units of the sources that best answer the question and cites them as [n]: whole
// sentences (hard-wrapped lines joined by a space), headings, list items, table rows and code lines
// as found; for `key: value` records (the CSV and JSON extractors' output) the record's first line
// and its answering lines, joined by "; ". A question in the sources (or a unit quoting the question)
// is never the answer: its words go to what follows it. Answers kDontKnow when no unit covers enough
// of the question's content words.
Answer extractive_answer(const std::string& question, const std::vector<Source>& sources);

// The answer cut into sentences for streaming: each piece ends after a sentence's citations and the
// space that follows them ("A. [1] ", "B. [2]"); concatenated they give the text back unchanged.
std::vector<std::string> sentence_pieces(const std::string& text);

// Combines a follow-up with the previous question's content words, for retrieval without an LLM.
std::string standalone_question_extractive(const std::string& question, const std::string& previous_question);

}  // namespace pgrag
