// The on-disk embedding value and small helpers to read and build it.
#pragma once

#include "postgres.hpp"

namespace pgrag::pg {

// Varlena layout: header, dimension count, reserved, then dim float4 values (pgvector-compatible sizes).
struct Embedding {
    int32 vl_len_;
    int16 dim;
    int16 unused;
    float x[FLEXIBLE_ARRAY_MEMBER];
};

inline size_t embedding_size(int dim) { return offsetof(Embedding, x) + sizeof(float) * static_cast<size_t>(dim); }

// Allocates a zeroed embedding of dim dimensions in the current memory context.
Embedding* new_embedding(int dim);

// Detoasts argument n (through the guard: detoasting can raise).
Embedding* embedding_arg(FunctionCallInfo fcinfo, int n);

// Throws unless typmod is -1 or equal to dim.
void check_typmod(int dim, int32 typmod);

}  // namespace pgrag::pg
