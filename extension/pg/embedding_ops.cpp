// Distance functions, norms, element-wise arithmetic and comparisons of embeddings.
#include <cmath>
#include <cstring>
#include <string>

#include "../core/distance.hpp"
#include "../core/embedding_text.hpp"
#include "../core/error.hpp"
#include "boundary.hpp"
#include "embedding.hpp"

using namespace pgrag;
using namespace pgrag::pg;

namespace {

// Reads two embedding arguments and checks they have the same dimensions.
struct Pair {
    Embedding* a;
    Embedding* b;
};

Pair pair_args(FunctionCallInfo fcinfo) {
    Pair p{embedding_arg(fcinfo, 0), embedding_arg(fcinfo, 1)};
    check_same_dims(static_cast<size_t>(p.a->dim), static_cast<size_t>(p.b->dim));
    return p;
}

Datum distance_datum(FunctionCallInfo fcinfo, Metric metric) {
    Pair p = pair_args(fcinfo);
    return Float8GetDatum(distance(metric, p.a->x, p.b->x, static_cast<size_t>(p.a->dim)));
}

// Element-wise arithmetic with overflow checks (a result must stay a finite float).
template <typename Op>
Datum elementwise(FunctionCallInfo fcinfo, Op op) {
    Pair p = pair_args(fcinfo);
    Embedding* result = new_embedding(p.a->dim);
    for (int i = 0; i < p.a->dim; ++i) {
        result->x[i] = op(p.a->x[i], p.b->x[i]);
        if (std::isinf(result->x[i])) throw Error(ErrorCode::NumericValueOutOfRange, "value out of range: overflow");
    }
    return PointerGetDatum(result);
}

// Total order: element by element, then the shorter vector first (as pgvector orders vectors).
int compare(const Embedding* a, const Embedding* b) {
    int n = std::min(a->dim, b->dim);
    for (int i = 0; i < n; ++i) {
        if (a->x[i] < b->x[i]) return -1;
        if (a->x[i] > b->x[i]) return 1;
    }
    return (a->dim > b->dim) - (a->dim < b->dim);
}

int compare_args(FunctionCallInfo fcinfo) { return compare(embedding_arg(fcinfo, 0), embedding_arg(fcinfo, 1)); }

}  // namespace

// Euclidean distance (the <-> operator).
PGRAG_FUNCTION(l2_distance) { return distance_datum(fcinfo, Metric::L2); }

// 1 - cosine similarity (the <=> operator); NaN when either vector is zero.
PGRAG_FUNCTION(cosine_distance) { return distance_datum(fcinfo, Metric::Cosine); }

// Dot product.
PGRAG_FUNCTION(inner_product) { return distance_datum(fcinfo, Metric::InnerProduct); }

// Negated dot product (the <#> operator, so ascending order means most similar first).
PGRAG_FUNCTION(negative_inner_product) { return distance_datum(fcinfo, Metric::NegativeInnerProduct); }

// Manhattan distance (the <+> operator).
PGRAG_FUNCTION(l1_distance) { return distance_datum(fcinfo, Metric::L1); }

// Euclidean norm.
PGRAG_FUNCTION(embedding_l2_norm) {
    Embedding* e = embedding_arg(fcinfo, 0);
    return Float8GetDatum(l2_norm(e->x, static_cast<size_t>(e->dim)));
}

// Scales to unit length; a zero vector stays zero.
PGRAG_FUNCTION(embedding_l2_normalize) {
    Embedding* e = embedding_arg(fcinfo, 0);
    double norm = l2_norm(e->x, static_cast<size_t>(e->dim));
    Embedding* result = new_embedding(e->dim);
    for (int i = 0; i < e->dim; ++i) result->x[i] = norm > 0 ? static_cast<float>(e->x[i] / norm) : 0.0f;
    return PointerGetDatum(result);
}

// Number of dimensions.
PGRAG_FUNCTION(embedding_dims) { return Int32GetDatum(embedding_arg(fcinfo, 0)->dim); }

PGRAG_FUNCTION(embedding_add) {
    return elementwise(fcinfo, [](float a, float b) { return a + b; });
}
PGRAG_FUNCTION(embedding_sub) {
    return elementwise(fcinfo, [](float a, float b) { return a - b; });
}
PGRAG_FUNCTION(embedding_mul) {
    return elementwise(fcinfo, [](float a, float b) { return a * b; });
}

PGRAG_FUNCTION(embedding_lt) { return BoolGetDatum(compare_args(fcinfo) < 0); }
PGRAG_FUNCTION(embedding_le) { return BoolGetDatum(compare_args(fcinfo) <= 0); }
PGRAG_FUNCTION(embedding_eq) { return BoolGetDatum(compare_args(fcinfo) == 0); }
PGRAG_FUNCTION(embedding_ne) { return BoolGetDatum(compare_args(fcinfo) != 0); }
PGRAG_FUNCTION(embedding_ge) { return BoolGetDatum(compare_args(fcinfo) >= 0); }
PGRAG_FUNCTION(embedding_gt) { return BoolGetDatum(compare_args(fcinfo) > 0); }
PGRAG_FUNCTION(embedding_cmp) { return Int32GetDatum(compare_args(fcinfo)); }

// Hash consistent with equality: -0 and +0 are equal, so they hash alike.
PGRAG_FUNCTION(embedding_hash) {
    Embedding* e = embedding_arg(fcinfo, 0);
    uint32 h = static_cast<uint32>(e->dim);
    for (int i = 0; i < e->dim; ++i) {
        float v = e->x[i] == 0.0f ? 0.0f : e->x[i];
        uint32 bits;
        std::memcpy(&bits, &v, sizeof bits);
        h = hash_combine(h, murmurhash32(bits));
    }
    return UInt32GetDatum(h);
}

// The kernel path in use in this backend ("avx2", "avx512" or "portable").
PGRAG_FUNCTION(rag_kernel_info) {
    const char* name = isa_name(active_isa());
    return pg_guard([&] { return PointerGetDatum(cstring_to_text(name)); });
}
