// Text extraction from documents: plain text, Markdown, HTML, PDF, CSV and JSON.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "interrupt.hpp"

namespace pgrag {

// JSON nesting deeper than this is refused (ProgramLimitExceeded), never parsed recursively.
constexpr size_t kMaxJsonDepth = 1000;
// JSON lines repeat key paths: the text may be at most this many times the document (plus 1 MiB).
constexpr size_t kJsonExpansion = 32;
// The largest text Postgres can store (1 GB less a varlena header).
constexpr size_t kMaxExtractedText = (size_t{1} << 30) - 1 - 4;

// The MIME type for a file name's extension, or sniffed from the content (%PDF, <html); "" if unknown.
std::string guess_mime(std::string_view filename, std::string_view content);

// Extracts UTF-8 text (never containing NUL) in document order. Throws Error: FeatureNotSupported
// for unknown types and encrypted PDFs, ProgramLimitExceeded past the limits above,
// InvalidTextRepresentation for corrupt, truncated or mis-encoded input (naming the byte offset
// where known). Never drops text silently.
std::string extract_text(std::string_view content, const std::string& mime, const InterruptCheck& check = nullptr);

// Byte offset of the first invalid UTF-8 sequence (or NUL byte), or npos when the text is valid.
size_t invalid_utf8_offset(std::string_view text);

}  // namespace pgrag
