// Input, output, typmod and binary I/O of the embedding type, and its casts to and from arrays.
#include <cmath>
#include <string>
#include <vector>

#include "../core/embedding_text.hpp"
#include "../core/error.hpp"
#include "boundary.hpp"
#include "embedding.hpp"

namespace pgrag::pg {

Embedding* new_embedding(int dim) {
    return pg_guard([&] {
        auto* e = static_cast<Embedding*>(palloc0(embedding_size(dim)));
        SET_VARSIZE(e, embedding_size(dim));
        e->dim = static_cast<int16>(dim);
        return e;
    });
}

Embedding* embedding_arg(FunctionCallInfo fcinfo, int n) {
    return pg_guard([&] { return reinterpret_cast<Embedding*>(PG_DETOAST_DATUM(PG_GETARG_DATUM(n))); });
}

void check_typmod(int dim, int32 typmod) {
    if (typmod != -1 && typmod != dim)
        throw Error(ErrorCode::DataException,
                    "expected " + std::to_string(typmod) + " dimensions, not " + std::to_string(dim));
}

namespace {

Embedding* embedding_from(const float* values, size_t count, int32 typmod) {
    check_embedding_values(values, count);
    check_typmod(static_cast<int>(count), typmod);
    Embedding* e = new_embedding(static_cast<int>(count));
    std::copy(values, values + count, e->x);
    return e;
}

// Reads a 1-D array of int4, float4, float8 or numeric into floats; rejects NULLs and other shapes.
std::vector<float> floats_from_array(ArrayType* array) {
    if (ARR_NDIM(array) > 1) throw Error(ErrorCode::DataException, "array must be 1-D");
    if (ARR_HASNULL(array) && array_contains_nulls(array))
        throw Error(ErrorCode::NullValueNotAllowed, "array must not contain nulls");
    Oid element_type = ARR_ELEMTYPE(array);
    if (element_type != INT4OID && element_type != FLOAT4OID && element_type != FLOAT8OID && element_type != NUMERICOID)
        throw Error(ErrorCode::FeatureNotSupported, "unsupported array element type for embedding");
    Datum* elements = nullptr;
    int count = 0;
    pg_guard([&] {
        int16 typlen;
        bool typbyval;
        char typalign;
        get_typlenbyvalalign(element_type, &typlen, &typbyval, &typalign);
        deconstruct_array(array, element_type, typlen, typbyval, typalign, &elements, nullptr, &count);
    });
    std::vector<float> values(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        double v = 0;
        switch (element_type) {
            case INT4OID:
                v = DatumGetInt32(elements[i]);
                break;
            case FLOAT4OID:
                v = DatumGetFloat4(elements[i]);
                break;
            case FLOAT8OID:
                v = DatumGetFloat8(elements[i]);
                break;
            case NUMERICOID:
                v = pg_guard([&] { return DatumGetFloat8(DirectFunctionCall1(numeric_float8, elements[i])); });
                break;
        }
        if (std::isfinite(v) && std::fabs(v) > 3.402823466e+38)
            throw Error(ErrorCode::NumericValueOutOfRange, "value out of range for type embedding");
        values[static_cast<size_t>(i)] = static_cast<float>(v);
    }
    return values;
}

// Builds a 1-D array of the given element type from an embedding.
Datum array_from_embedding(const Embedding* e, Oid element_type) {
    return pg_guard([&] {
        Datum* elements = static_cast<Datum*>(palloc(sizeof(Datum) * static_cast<size_t>(e->dim)));
        for (int i = 0; i < e->dim; ++i) {
            if (element_type == FLOAT4OID)
                elements[i] = Float4GetDatum(e->x[i]);
            else if (element_type == FLOAT8OID)
                elements[i] = Float8GetDatum(e->x[i]);
            else
                elements[i] = DirectFunctionCall1(float4_numeric, Float4GetDatum(e->x[i]));
        }
        int16 typlen;
        bool typbyval;
        char typalign;
        get_typlenbyvalalign(element_type, &typlen, &typbyval, &typalign);
        return PointerGetDatum(construct_array(elements, e->dim, element_type, typlen, typbyval, typalign));
    });
}

}  // namespace
}  // namespace pgrag::pg

using namespace pgrag;
using namespace pgrag::pg;

// Parses the text form "[1,2,3]".
PGRAG_FUNCTION(embedding_in) {
    const char* text = PG_GETARG_CSTRING(0);
    int32 typmod = PG_GETARG_INT32(2);
    std::vector<float> values = parse_embedding(text);
    return PointerGetDatum(embedding_from(values.data(), values.size(), typmod));
}

// Prints the text form with the shortest round-tripping digits.
PGRAG_FUNCTION(embedding_out) {
    Embedding* e = embedding_arg(fcinfo, 0);
    std::string text = format_embedding(e->x, static_cast<size_t>(e->dim));
    return pg_guard([&] { return CStringGetDatum(pstrdup(text.c_str())); });
}

// Parses the n of embedding(n).
PGRAG_FUNCTION(embedding_typmod_in) {
    ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
    int32* mods = nullptr;
    int count = 0;
    pg_guard([&] { mods = ArrayGetIntegerTypmods(array, &count); });
    if (count != 1) throw Error(ErrorCode::InvalidParameterValue, "invalid type modifier");
    if (mods[0] < 1) throw Error(ErrorCode::InvalidParameterValue, "dimensions for type embedding must be at least 1");
    if (mods[0] > kMaxEmbeddingDims)
        throw Error(ErrorCode::InvalidParameterValue,
                    "dimensions for type embedding cannot exceed " + std::to_string(kMaxEmbeddingDims));
    return Int32GetDatum(mods[0]);
}

// Prints "(n)" for embedding(n).
PGRAG_FUNCTION(embedding_typmod_out) {
    int32 typmod = PG_GETARG_INT32(0);
    std::string text = typmod < 0 ? "" : "(" + std::to_string(typmod) + ")";
    return pg_guard([&] { return CStringGetDatum(pstrdup(text.c_str())); });
}

// Binary input: int16 dim, int16 reserved, dim float4 values.
PGRAG_FUNCTION(embedding_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    int32 typmod = PG_GETARG_INT32(2);
    int dim = 0, unused = 0;
    pg_guard([&] {
        dim = pq_getmsgint(buf, sizeof(int16));
        unused = pq_getmsgint(buf, sizeof(int16));
    });
    if (dim < 1 || dim > kMaxEmbeddingDims)
        throw Error(ErrorCode::InvalidTextRepresentation,
                    "invalid embedding dimensions in binary input: " + std::to_string(dim));
    if (unused != 0) throw Error(ErrorCode::InvalidTextRepresentation, "invalid reserved field in binary input");
    std::vector<float> values(static_cast<size_t>(dim));
    pg_guard([&] {
        for (int i = 0; i < dim; ++i) values[static_cast<size_t>(i)] = pq_getmsgfloat4(buf);
    });
    return PointerGetDatum(embedding_from(values.data(), values.size(), typmod));
}

// Binary output, the inverse of embedding_recv.
PGRAG_FUNCTION(embedding_send) {
    Embedding* e = embedding_arg(fcinfo, 0);
    return pg_guard([&] {
        StringInfoData buf;
        pq_begintypsend(&buf);
        pq_sendint(&buf, e->dim, sizeof(int16));
        pq_sendint(&buf, e->unused, sizeof(int16));
        for (int i = 0; i < e->dim; ++i) pq_sendfloat4(&buf, e->x[i]);
        return PointerGetDatum(pq_endtypsend(&buf));
    });
}

// Applies the typmod of embedding(n) on assignment.
PGRAG_FUNCTION(embedding_typmod_cast) {
    Embedding* e = embedding_arg(fcinfo, 0);
    check_typmod(e->dim, PG_GETARG_INT32(1));
    return PointerGetDatum(e);
}

// int4[], real[], double precision[] or numeric[] -> embedding.
PGRAG_FUNCTION(array_to_embedding) {
    ArrayType* array = pg_guard([&] { return PG_GETARG_ARRAYTYPE_P(0); });
    std::vector<float> values = floats_from_array(array);
    return PointerGetDatum(embedding_from(values.data(), values.size(), PG_GETARG_INT32(1)));
}

// embedding -> real[].
PGRAG_FUNCTION(embedding_to_float4) { return array_from_embedding(embedding_arg(fcinfo, 0), FLOAT4OID); }

// embedding -> double precision[].
PGRAG_FUNCTION(embedding_to_float8) { return array_from_embedding(embedding_arg(fcinfo, 0), FLOAT8OID); }

// embedding -> numeric[].
PGRAG_FUNCTION(embedding_to_numeric) { return array_from_embedding(embedding_arg(fcinfo, 0), NUMERICOID); }
