// libFuzzer target for one extractor (FUZZ_MIME, set per target at build time): any input either
// gives valid UTF-8 text without NUL, or throws pgrag::Error. Anything else (a crash, a sanitizer
// report, another exception, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/extract.hpp"

#ifndef FUZZ_MIME
#error "FUZZ_MIME must name the MIME type to fuzz"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view content(reinterpret_cast<const char*>(data), size);
    int polls = 0;
    auto check = [&] { ++polls; };  // never cancels; exercises the polling paths
    try {
        std::string text = pgrag::extract_text(content, FUZZ_MIME, check);
        if (pgrag::invalid_utf8_offset(text) != std::string_view::npos) {
            std::fprintf(stderr, "extract_text(%s) returned invalid UTF-8 or NUL\n", FUZZ_MIME);
            std::abort();
        }
        if (text.size() > pgrag::kMaxExtractedText) std::abort();
    } catch (const pgrag::Error&) {
        // a clear error: fine
    }
    (void)pgrag::guess_mime("", content);
    return 0;
}
