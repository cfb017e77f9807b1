// avg(embedding) and sum(embedding): transition state is float8[] {count, sum_1, ..., sum_n}.
#include <cmath>
#include <cstring>

#include "../core/embedding_text.hpp"
#include "../core/error.hpp"
#include "boundary.hpp"
#include "embedding.hpp"

using namespace pgrag;
using namespace pgrag::pg;

namespace {

// Reads the state array; returns its float8 values and their number.
float8* state_values(ArrayType* state, int* count) {
    if (ARR_NDIM(state) != 1 || ARR_HASNULL(state) || ARR_ELEMTYPE(state) != FLOAT8OID)
        throw Error(ErrorCode::InternalError, "embedding aggregate: invalid transition state");
    *count = ARR_DIMS(state)[0];
    return reinterpret_cast<float8*>(ARR_DATA_PTR(state));
}

ArrayType* new_state(int count) {
    return pg_guard([&] {
        Datum* zeros = static_cast<Datum*>(palloc(sizeof(Datum) * static_cast<size_t>(count)));
        for (int i = 0; i < count; ++i) zeros[i] = Float8GetDatum(0.0);
        return construct_array(zeros, count, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
    });
}

// True when called as an aggregate transition, where the state may be updated in place.
bool in_aggregate(FunctionCallInfo fcinfo) { return AggCheckCallContext(fcinfo, nullptr) != 0; }

// Builds the resulting embedding from sums, divided by count for avg.
Datum finish(FunctionCallInfo fcinfo, bool average) {
    ArrayType* state = pg_guard([&] { return PG_GETARG_ARRAYTYPE_P(0); });
    int count = 0;
    float8* values = state_values(state, &count);
    if (count < 2 || values[0] == 0) return (Datum)0;  // the caller returns NULL (see below)
    Embedding* result = new_embedding(count - 1);
    for (int i = 1; i < count; ++i) {
        double v = average ? values[i] / values[0] : values[i];
        if (std::fabs(v) > 3.402823466e+38)
            throw Error(ErrorCode::NumericValueOutOfRange, "value out of range: overflow");
        result->x[i - 1] = static_cast<float>(v);
    }
    return PointerGetDatum(result);
}

}  // namespace

// Adds one embedding to the state.
PGRAG_FUNCTION(embedding_accum) {
    ArrayType* state = pg_guard([&] { return PG_GETARG_ARRAYTYPE_P(0); });
    Embedding* e = embedding_arg(fcinfo, 1);
    int count = 0;
    float8* values = state_values(state, &count);
    if (count == 1) {
        // First row of the group: size the state to this embedding (a fresh array, never the initial value).
        double rows = values[0];
        state = new_state(e->dim + 1);
        values = state_values(state, &count);
        values[0] = rows;
    } else {
        check_same_dims(static_cast<size_t>(count - 1), static_cast<size_t>(e->dim));
        if (!in_aggregate(fcinfo)) {
            ArrayType* copy = new_state(count);
            std::memcpy(ARR_DATA_PTR(copy), values, sizeof(float8) * static_cast<size_t>(count));
            state = copy;
            values = state_values(state, &count);
        }
    }
    values[0] += 1;
    for (int i = 0; i < e->dim; ++i) values[i + 1] += e->x[i];
    return PointerGetDatum(state);
}

// Merges two partial states (parallel aggregation).
PGRAG_FUNCTION(embedding_combine) {
    ArrayType* a = pg_guard([&] { return PG_GETARG_ARRAYTYPE_P(0); });
    ArrayType* b = pg_guard([&] { return PG_GETARG_ARRAYTYPE_P(1); });
    int na = 0, nb = 0;
    float8* va = state_values(a, &na);
    float8* vb = state_values(b, &nb);
    if (nb == 1 && vb[0] == 0) return PointerGetDatum(a);
    if (na == 1 && va[0] == 0) return PointerGetDatum(b);
    check_same_dims(static_cast<size_t>(na - 1), static_cast<size_t>(nb - 1));
    ArrayType* result = new_state(na);
    float8* out = state_values(result, &na);
    for (int i = 0; i < na; ++i) out[i] = va[i] + vb[i];
    return PointerGetDatum(result);
}

// Final function of avg(embedding).
PGRAG_FUNCTION(embedding_avg) {
    Datum d = finish(fcinfo, true);
    if (d == 0) fcinfo->isnull = true;
    return d;
}

// Final function of sum(embedding).
PGRAG_FUNCTION(embedding_sum) {
    Datum d = finish(fcinfo, false);
    if (d == 0) fcinfo->isnull = true;
    return d;
}
