// Snapshot files: what is written is read back; truncated, corrupt, foreign and unfinished files are
// refused; generations, listing and the writers' lock; the vector payload and a masked search over it.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/snapshot_file.hpp"
#include "core/vector_snapshot.hpp"

namespace {

namespace snap = pgrag::snapshot;

// A fresh directory, removed with everything in it at the end of the test.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/pgrag_snapshot_test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    operator const std::string&() const { return path; }
};

std::string write_sample(const std::string& dir, uint64_t generation = 1) {
    std::string path = snap::file_name(dir, "sample", "42", generation);
    snap::Writer w(path, "sample");
    w.meta("answer", "42");
    w.section(7, "hello", 5);
    w.begin(9);
    std::vector<uint32_t> numbers(100000);
    for (size_t i = 0; i < numbers.size(); ++i) numbers[i] = static_cast<uint32_t>(i);
    w.append(numbers.data(), 3);  // pieces split anywhere
    w.append(reinterpret_cast<const uint8_t*>(numbers.data()) + 3, numbers.size() * 4 - 3);
    w.commit();
    return path;
}

void flip_byte(const std::string& path, off_t at) {
    int fd = open(path.c_str(), O_RDWR);
    unsigned char c;
    ASSERT_EQ(pread(fd, &c, 1, at), 1);
    c ^= 0x5a;
    ASSERT_EQ(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

TEST(SnapshotFile, RoundTripsSectionsAndMetadataPrivately) {
    TempDir tmp;
    const std::string& dir = tmp.path;
    std::string path = write_sample(dir);
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);  // the database's OS user only
    auto f = snap::File::open(path, "sample");
    EXPECT_EQ(f->meta("answer").value_or(""), "42");
    EXPECT_FALSE(f->meta("question"));
    auto hello = f->section(7);
    ASSERT_TRUE(hello);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(hello->bytes), hello->size), "hello");
    auto numbers = f->section(9);
    ASSERT_TRUE(numbers);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(numbers->bytes) % snap::kAlign, 0u);
    ASSERT_EQ(numbers->size, 400000u);
    EXPECT_EQ(reinterpret_cast<const uint32_t*>(numbers->bytes)[99999], 99999u);
    EXPECT_FALSE(f->section(8));
    EXPECT_TRUE(f->verify());
    EXPECT_TRUE(snap::list_all(dir).size() == 1);  // no temporary file left
}

TEST(SnapshotFile, RefusesTruncatedCorruptAndForeignFiles) {
    TempDir tmp;
    const std::string& dir = tmp.path;
    std::string path = write_sample(dir);
    EXPECT_THROW(snap::File::open(path, "other"), snap::InvalidSnapshot);
    off_t size;
    {
        struct stat st;
        stat(path.c_str(), &st);
        size = st.st_size;
    }
    // A flipped byte in a section: the header is fine, verify() is not.
    flip_byte(path, 4096 + 70);
    EXPECT_FALSE(snap::File::open(path, "sample")->verify());
    flip_byte(path, 4096 + 70);
    EXPECT_TRUE(snap::File::open(path, "sample")->verify());
    // A flipped byte in the header, or in the table of contents at the end: refused on open.
    flip_byte(path, 20);
    EXPECT_THROW(snap::File::open(path, "sample"), snap::InvalidSnapshot);
    flip_byte(path, 20);
    flip_byte(path, size - 3);
    EXPECT_THROW(snap::File::open(path, "sample"), snap::InvalidSnapshot);
    flip_byte(path, size - 3);
    ASSERT_NO_THROW(snap::File::open(path, "sample"));
    // Truncated anywhere: refused.
    for (off_t keep : {off_t{0}, off_t{100}, off_t{4096}, size - 1}) {
        std::string copy = dir + "/copy.snap";
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(copy, std::ios::binary).write(bytes.data(), keep);
        EXPECT_THROW(snap::File::open(copy, "sample"), snap::InvalidSnapshot) << keep;
    }
    EXPECT_THROW(snap::File::open(dir + "/missing.snap", "sample"), std::runtime_error);
}

TEST(SnapshotFile, AnUnfinishedWriterLeavesNothing) {
    TempDir tmp;
    const std::string& dir = tmp.path;
    {
        snap::Writer w(snap::file_name(dir, "sample", "42", 1), "sample");
        w.section(1, "partial", 7);
    }
    EXPECT_TRUE(snap::list_all(dir).empty());
    // A cancel while writing: the check throws, the temporary file goes.
    int calls = 0;
    auto cancel = [&] {
        if (++calls == 2) throw std::runtime_error("canceled");
    };
    EXPECT_THROW(
        {
            snap::Writer w(snap::file_name(dir, "sample", "42", 1), "sample", cancel);
            std::vector<uint8_t> big(8 << 20);
            w.section(1, big.data(), big.size());
            w.commit();
        },
        std::runtime_error);
    EXPECT_TRUE(snap::list_all(dir).empty());
}

TEST(SnapshotFile, ListsGenerationsNewestFirst) {
    TempDir tmp;
    const std::string& dir = tmp.path;
    EXPECT_EQ(snap::next_generation(dir), 1u);
    write_sample(dir, 3);
    write_sample(dir, 12);
    snap::Writer(snap::file_name(dir, "sample", "4", 20), "sample").commit();     // another key
    snap::Writer(snap::file_name(dir, "sample", "42-1", 21), "sample").commit();  // a key that extends it
    std::vector<snap::Listed> files = snap::list(dir, "sample", "42");
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].generation, 12u);
    EXPECT_EQ(files[1].generation, 3u);
    EXPECT_EQ(snap::next_generation(dir), 22u);
    EXPECT_EQ(snap::list_all(dir).size(), 4u);
    EXPECT_TRUE(snap::list(dir + "/missing", "sample", "42").empty());
    snap::make_dirs(dir + "/a/b");
    struct stat st;
    ASSERT_EQ(stat((dir + "/a/b").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(SnapshotFile, OneWriterAtATime) {
    TempDir tmp;
    const std::string& dir = tmp.path;
    auto first = snap::DirLock::acquire(dir, 0, nullptr);
    ASSERT_TRUE(first);
    // flock is per open file: a second open in the same process contends like another backend.
    int checks = 0;
    auto second = snap::DirLock::acquire(dir, 50, [&] { ++checks; });
    EXPECT_FALSE(second);
    EXPECT_GE(checks, 3);  // it polled, checking for a cancel between tries
    EXPECT_THROW(snap::DirLock::acquire(dir, 1000, [] { throw std::runtime_error("canceled"); }), std::runtime_error);
    first.reset();
    EXPECT_TRUE(snap::DirLock::acquire(dir, 0, nullptr));
}

TEST(VectorSnapshot, RoundTripsTheRowsAndSearchesThemMasked) {
    TempDir tmp;
    const std::string& dir = tmp.path;
    const size_t dims = 8;
    pgrag::VectorMatrix m(dims);
    pgrag::ScopeTable scopes;
    pgrag::ScopeId alice = scopes.intern(std::string("alice"), std::nullopt);
    std::mt19937 rng(7);
    std::normal_distribution<float> gauss;
    for (int64_t id = 1; id <= 300; ++id) {
        std::vector<float> v(dims);
        for (float& x : v) x = gauss(rng);
        m.add(id * 3, id % 7, static_cast<uint16_t>(id % 2), v.data(), id % 5 == 0 ? alice : pgrag::kSharedScope);
    }
    m.remove(30);  // a removed row is not written
    std::string path = snap::file_name(dir, pgrag::kVectorSnapshotKind, "1-8", 1);
    snap::Writer w(path, pgrag::kVectorSnapshotKind);
    pgrag::write_vector_snapshot(w, m, {"a", "b"}, scopes, {"10:12:", 16384});
    w.commit();
    auto s = pgrag::VectorSnapshot::open(path);
    EXPECT_EQ(s->rows(), 299u);
    EXPECT_EQ(s->dims(), dims);
    EXPECT_EQ(s->meta().db_snapshot, "10:12:");
    EXPECT_EQ(s->meta().chunk_table, 16384u);
    EXPECT_EQ(s->group_names(), (std::vector<std::string>{"a", "b"}));
    ASSERT_EQ(s->scope_entries().size(), 2u);
    EXPECT_EQ(s->scope_entries()[1].owner.value_or(""), "alice");
    EXPECT_FALSE(s->row_of(30));
    ASSERT_TRUE(s->row_of(33));
    EXPECT_TRUE(s->file().verify());

    // Exact search over the file equals the search over the matrix; a masked row is skipped.
    std::vector<float> q(dims, 0.5f);
    pgrag::RowFilter all;
    for (pgrag::Metric metric : {pgrag::Metric::Cosine, pgrag::Metric::L2, pgrag::Metric::NegativeInnerProduct}) {
        auto expected = pgrag::nearest(m, q.data(), metric, 10, all);
        auto got = pgrag::nearest(s->view(), q.data(), metric, 10, all);
        ASSERT_EQ(got.size(), expected.size());
        for (size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].id, expected[i].id);
            EXPECT_EQ(got[i].distance, expected[i].distance);  // bit-identical
        }
    }
    auto top = pgrag::nearest(s->view(), q.data(), pgrag::Metric::Cosine, 1, all);
    std::vector<uint64_t> mask((s->rows() + 63) / 64, 0);
    size_t row = *s->row_of(top[0].id);
    mask[row >> 6] |= uint64_t{1} << (row & 63);
    pgrag::RowsView masked = s->view();
    masked.masked = mask.data();
    auto next = pgrag::nearest(masked, q.data(), pgrag::Metric::Cosine, 1, all);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_NE(next[0].id, top[0].id);
    EXPECT_EQ(pgrag::merge_nearest(next, top, 2)[0].id, top[0].id);
}

TEST(VectorSnapshot, RefusesAPayloadOfTheWrongShape) {
    TempDir tmp;
    const std::string& dir = tmp.path;
    std::string path = snap::file_name(dir, pgrag::kVectorSnapshotKind, "1-8", 1);
    {
        snap::Writer w(path, pgrag::kVectorSnapshotKind);
        w.meta("rows", "5");
        w.meta("dims", "8");
        w.meta("chunk_table", "1");
        std::vector<int64_t> ids = {1, 2, 3, 4};  // one short
        w.section(pgrag::kIds, ids.data(), ids.size() * 8);
        w.commit();
    }
    EXPECT_THROW(pgrag::VectorSnapshot::open(path), snap::InvalidSnapshot);
    {
        snap::Writer w(path, "sample");  // another kind
        w.commit();
    }
    EXPECT_THROW(pgrag::VectorSnapshot::open(path), snap::InvalidSnapshot);
}

}  // namespace
