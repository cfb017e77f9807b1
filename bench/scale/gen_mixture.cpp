// A Gaussian mixture like real embeddings (clusters of topics), written for COPY ... FROM STDIN (FORMAT binary).
//   gen_mixture chunks ROWS DOCUMENT_ID   rag_chunks (document_id, seq, content, char_start, char_end,
//                                         embedding, embedding_model, tsv), embedding_model 'openai:scale-gmm'
//                                         (what rag_embedding_model() says for model scale-gmm)
//   gen_mixture vectors ROWS              (id bigint, embedding): pgvector's vector has the same binary form
//   gen_mixture queries COUNT             (id integer, embedding): fresh draws from the mixture, not rows
//   gen_mixture topics COUNT              text COPY of (id, centre) for the same draws as `queries`
// A chunk's content is "topic t<centre>" and its tsv what to_tsvector('english', content) gives, so
// keyword and hybrid search (and rag_answer) have words that follow the clusters.
// Every mode draws the same centres (seed 1); rows use seed 2, queries seed 3, so `chunks` and `vectors`
// give the same vectors in the same order. Vectors are unit length (cosine, as embedding models are used).
// Environment: SCALE_DIMS (768), SCALE_CENTRES (1000), SCALE_SPREAD (0.6: noise norm / centre norm).
#include <arpa/inet.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

// xoshiro256**: fast, and the same numbers on every machine.
struct Rng {
    uint64_t s[4];
    explicit Rng(uint64_t seed) {
        for (auto& x : s) {  // splitmix64 seeding
            seed += 0x9e3779b97f4a7c15ull;
            uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            x = z ^ (z >> 31);
        }
    }
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t next() {
        uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
        s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
        return result;
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }  // [0, 1)
    // Two standard normals at a time (Box-Muller).
    void normals(float* out, size_t n) {
        for (size_t i = 0; i < n; i += 2) {
            double r = std::sqrt(-2.0 * std::log(1.0 - uniform())), a = 6.283185307179586 * uniform();
            out[i] = static_cast<float>(r * std::cos(a));
            if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(a));
        }
    }
};

size_t env_size(const char* name, size_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

void normalize(float* v, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += static_cast<double>(v[i]) * v[i];
    float scale = static_cast<float>(1.0 / std::sqrt(sum));
    for (size_t i = 0; i < n; ++i) v[i] *= scale;
}

// Buffered big-endian writer of the COPY binary format.
struct Out {
    std::vector<char> buf;
    void bytes(const void* p, size_t n) {
        const char* c = static_cast<const char*>(p);
        buf.insert(buf.end(), c, c + n);
        if (buf.size() > (1 << 20)) flush();
    }
    void i16(int16_t v) {
        uint16_t b = htons(static_cast<uint16_t>(v));
        bytes(&b, 2);
    }
    void i32(int32_t v) {
        uint32_t b = htonl(static_cast<uint32_t>(v));
        bytes(&b, 4);
    }
    void i64(int64_t v) {
        i32(static_cast<int32_t>(static_cast<uint64_t>(v) >> 32));
        i32(static_cast<int32_t>(v & 0xffffffff));
    }
    void field_i32(int32_t v) { i32(4), i32(v); }
    void field_i64(int64_t v) { i32(8), i64(v); }
    void field_text(const std::string& s) { i32(static_cast<int32_t>(s.size())), bytes(s.data(), s.size()); }
    void field_vector(const float* v, size_t dims) {  // int16 dims, int16 unused, float4 x dims
        i32(static_cast<int32_t>(4 + 4 * dims)), i16(static_cast<int16_t>(dims)), i16(0);
        for (size_t i = 0; i < dims; ++i) {
            uint32_t bits;
            std::memcpy(&bits, &v[i], 4);
            i32(static_cast<int32_t>(bits));
        }
    }
    // tsvector's binary form: lexeme count, then each lexeme NUL-terminated with its positions.
    void field_tsvector(const std::vector<std::pair<std::string, uint16_t>>& lexemes) {
        int32_t size = 4;
        for (const auto& l : lexemes) size += static_cast<int32_t>(l.first.size()) + 1 + 2 + 2;
        i32(size), i32(static_cast<int32_t>(lexemes.size()));
        for (const auto& l : lexemes)
            bytes(l.first.c_str(), l.first.size() + 1), i16(1), i16(static_cast<int16_t>(l.second));
    }
    void flush() {
        if (!buf.empty() && std::fwrite(buf.data(), 1, buf.size(), stdout) != buf.size()) std::exit(1);
        buf.clear();
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: gen_mixture chunks ROWS DOCUMENT_ID | vectors ROWS | queries COUNT\n");
        return 2;
    }
    std::string mode = argv[1];
    size_t rows = std::strtoull(argv[2], nullptr, 10);
    int64_t document_id = argc > 3 ? std::strtoll(argv[3], nullptr, 10) : 0;
    const size_t dims = env_size("SCALE_DIMS", 768), centres = env_size("SCALE_CENTRES", 1000);
    const char* spread_env = std::getenv("SCALE_SPREAD");
    const double spread = spread_env && *spread_env ? std::atof(spread_env) : 0.6;

    std::vector<float> centre(centres * dims);
    Rng centre_rng(1);
    centre_rng.normals(centre.data(), centre.size());
    for (size_t c = 0; c < centres; ++c) normalize(&centre[c * dims], dims);

    Rng rng(mode == "queries" || mode == "topics" ? 3 : 2);
    Out out;
    static const char kHeader[] = "PGCOPY\n\377\r\n";
    const bool topics = mode == "topics";
    if (!topics) out.bytes(kHeader, 11), out.i32(0), out.i32(0);
    std::vector<float> v(dims);
    const float noise = static_cast<float>(spread / std::sqrt(static_cast<double>(dims)));
    for (size_t r = 0; r < rows; ++r) {
        const size_t which = rng.next() % centres;
        const float* c = &centre[which * dims];
        rng.normals(v.data(), dims);
        for (size_t i = 0; i < dims; ++i) v[i] = c[i] + noise * v[i];
        normalize(v.data(), dims);
        const std::string topic = "t" + std::to_string(which);
        if (topics) {
            const std::string line = std::to_string(r + 1) + "\t" + std::to_string(which) + "\n";
            out.bytes(line.data(), line.size());
        } else if (mode == "chunks") {
            const std::string content = "topic " + topic;
            out.i16(8);
            out.field_i64(document_id), out.field_i32(static_cast<int32_t>(r)), out.field_text(content);
            out.field_i32(0), out.field_i32(static_cast<int32_t>(content.size())), out.field_vector(v.data(), dims),
                out.field_text("openai:scale-gmm");
            out.field_tsvector({{topic, 2}, {"topic", 1}});  // sorted as tsvector keeps them: "t<digit>" < "topic"
        } else {
            out.i16(2);
            if (mode == "queries")
                out.field_i32(static_cast<int32_t>(r + 1));
            else
                out.field_i64(static_cast<int64_t>(r + 1));
            out.field_vector(v.data(), dims);
        }
    }
    if (!topics) out.i16(-1);
    out.flush();
    return 0;
}
