// rag_chunk(), rag_extract_text() and rag_guess_mime(): documents in, text and chunks out.
#include <string>

#include "../core/chunker.hpp"
#include "../core/error.hpp"
#include "../core/extract.hpp"
#include "args.hpp"
#include "boundary.hpp"
#include "settings.hpp"

namespace pgrag::pg {
namespace {

std::string text_value(Datum d) {
    return pg_guard([&] { return std::string(text_to_cstring(DatumGetTextPP(d))); });
}

std::string bytea_value(Datum d) {
    return pg_guard([&] {
        bytea* b = DatumGetByteaPP(d);
        return std::string(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
    });
}

}  // namespace
}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// rag_chunk(content, max_chars, overlap, strategy) -> (seq, content, char_start, char_end, heading).
PGRAG_FUNCTION(rag_chunk) {
    ChunkOptions options;
    if (!PG_ARGISNULL(1)) options.max_size = PG_GETARG_INT32(1);
    if (!PG_ARGISNULL(2)) options.overlap = PG_GETARG_INT32(2);
    if (!PG_ARGISNULL(2) && options.overlap < 0)
        throw Error(ErrorCode::InvalidParameterValue, "overlap must not be negative");
    if (!PG_ARGISNULL(3)) options.strategy = text_value(PG_GETARG_DATUM(3));
    std::vector<Chunk> chunks;
    if (!PG_ARGISNULL(0))
        chunks = chunk_text(text_value(PG_GETARG_DATUM(0)), options, throw_if_interrupted);
    else
        chunk_text("", options);  // still validate the options
    pg_guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const Chunk& c : chunks) {
        if ((c.seq & 1023) == 0) throw_if_interrupted();
        Datum values[5] = {Int32GetDatum(c.seq), text_datum(c.content), Int32GetDatum(c.char_start),
                           Int32GetDatum(c.char_end), c.heading.empty() ? (Datum)0 : text_datum(c.heading)};
        bool nulls[5] = {false, false, false, false, c.heading.empty()};
        pg_guard([&] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
    }
    return (Datum)0;
}

// rag_extract_text(content bytea, mime text, filename text) -> text.
PGRAG_FUNCTION(rag_extract_text) {
    if (PG_ARGISNULL(0)) {
        fcinfo->isnull = true;
        return (Datum)0;
    }
    std::string content = bytea_value(PG_GETARG_DATUM(0));
    std::string mime = PG_ARGISNULL(1) ? "" : text_value(PG_GETARG_DATUM(1));
    std::string filename = PG_ARGISNULL(2) ? "" : text_value(PG_GETARG_DATUM(2));
    if (mime.empty()) mime = guess_mime(filename, content);
    if (mime.empty())
        throw Error(
            ErrorCode::FeatureNotSupported,
            "could not determine the file type" + (filename.empty() ? std::string() : " of \"" + filename + "\""), "",
            "Pass mime => 'text/plain' (or another supported type).");
    return text_datum(extract_text(content, mime, throw_if_interrupted));
}

// rag_guess_mime(filename text, content bytea) -> text, NULL when unknown.
PGRAG_FUNCTION(rag_guess_mime) {
    std::string filename = PG_ARGISNULL(0) ? "" : text_value(PG_GETARG_DATUM(0));
    std::string content = PG_ARGISNULL(1) ? "" : bytea_value(PG_GETARG_DATUM(1));
    std::string mime = guess_mime(filename, content);
    if (mime.empty()) {
        fcinfo->isnull = true;
        return (Datum)0;
    }
    return text_datum(mime);
}

// rag_embedding_model() -> "provider:model[:dims]", the identity stored with each chunk's embedding.
PGRAG_FUNCTION(rag_embedding_model) {
    EmbeddingSettings s = embedding_settings(nullptr, nullptr);
    std::string id = s.provider + ":" + resolved_embedding_model(s);
    if (s.provider == "local")
        id += ":" + std::to_string(s.local_dims);
    else if (s.dimensions > 0)
        id += ":" + std::to_string(s.dimensions);
    return text_datum(id);
}
