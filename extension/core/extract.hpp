// Text extraction from documents: plain text, Markdown, HTML, PDF, CSV and JSON.
#pragma once

#include <string>
#include <string_view>

namespace pgrag {

// The MIME type for a file name's extension, or sniffed from the content (%PDF, <html); "" if unknown.
std::string guess_mime(std::string_view filename, std::string_view content);

// Extracts UTF-8 text. Throws Error naming the file type for corrupt, encrypted, truncated or
// unsupported input (FeatureNotSupported for unknown types, InvalidTextRepresentation otherwise).
std::string extract_text(std::string_view content, const std::string& mime);

// Byte offset of the first invalid UTF-8 sequence (or NUL byte), or npos when the text is valid.
size_t invalid_utf8_offset(std::string_view text);

}  // namespace pgrag
