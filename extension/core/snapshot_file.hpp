// Snapshot files: immutable, checksummed sets of byte sections that every backend of a database maps
// read-only (MAP_SHARED, PROT_READ), so a copy of the knowledge base is held once by the page cache
// instead of once per connection. The format knows nothing of what the sections hold (vectors, a BM25
// index, ...): a payload gives each section a tag, plus text metadata (key = value).
//
// Layout: a 4 KiB header, then the sections, each starting on a 64-byte boundary, then the table of
// contents and the metadata. The header holds a magic, the format version, the payload kind, the file
// size and an FNV-1a checksum covering the header, the table of contents and the metadata; each section
// has its own checksum, verified by verify() (not on open: that would read every byte of a large copy
// in every backend). A truncated file fails the size check, a torn header or contents the checksum.
//
// Writing: to "<final>.tmp.<pid>", fsync, rename over the final name, fsync the directory: a reader
// sees the whole file or none. Files are created 0600 (the database's OS user only). Writers of one
// directory serialise on a lock file (flock, polled without blocking so that a cancel is honoured).
// Naming: "<kind>-<key>-<generation>.snap"; generations only grow, and a reader maps the newest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "interrupt.hpp"

namespace pgrag::snapshot {

class Hasher;
constexpr size_t kAlign = 64;
constexpr uint32_t kFormatVersion = 1;

// A file that is not a valid snapshot (truncated, corrupt, another kind or version).
struct InvalidSnapshot : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Streams sections into a temporary file; commit() publishes it under its final name. A writer that
// is destroyed without commit() (an error, a cancel) removes its temporary file.
class Writer {
  public:
    Writer(std::string final_path, std::string kind, InterruptCheck check = nullptr);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    void meta(const std::string& key, const std::string& value);
    // Starts a section (the previous one ends); append() adds its bytes, in as many calls as wanted.
    void begin(uint32_t tag);
    void append(const void* bytes, size_t size);
    void section(uint32_t tag, const void* bytes, size_t size) {
        begin(tag);
        append(bytes, size);
    }
    // Writes the table of contents and header, syncs and renames; throws std::runtime_error on I/O errors.
    void commit();

  private:
    struct Entry {
        uint32_t tag;
        uint64_t offset, size, checksum;
    };
    void end_section();
    void write_raw(const void* bytes, size_t size);
    void flush();

    std::string final_path_, temp_path_, kind_;
    InterruptCheck check_;
    int fd_ = -1;
    uint64_t offset_ = 0;
    std::vector<uint8_t> buffer_;
    std::vector<Entry> entries_;
    std::map<std::string, std::string> meta_;
    std::unique_ptr<Hasher> hasher_;  // of the open section
    bool committed_ = false;
};

// A mapped snapshot file (read-only). Section pointers stay valid while the object lives, even after
// the file is unlinked.
class File {
  public:
    // Maps path and checks header, size and contents; throws InvalidSnapshot (or std::runtime_error
    // when the file cannot be opened).
    static std::unique_ptr<File> open(const std::string& path, const std::string& kind);
    ~File();
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    struct Section {
        const uint8_t* bytes = nullptr;
        size_t size = 0;
    };
    // The section tagged `tag` (none: nothing).
    std::optional<Section> section(uint32_t tag) const;
    // A metadata value (none: the key is absent).
    std::optional<std::string> meta(const std::string& key) const;
    // Whether every section's bytes match their checksum (reads the whole file).
    bool verify(const InterruptCheck& check = nullptr) const;
    size_t mapped_bytes() const { return size_; }
    const std::string& path() const { return path_; }

  private:
    File() = default;
    struct Entry {
        uint32_t tag;
        uint64_t offset, size, checksum;
    };
    std::string path_;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    std::vector<Entry> entries_;
    std::map<std::string, std::string> meta_;
};

// FNV-1a 64 of bytes, continuing from `seed`.
uint64_t checksum(const void* bytes, size_t size, uint64_t seed = 0xcbf29ce484222325ULL);

// "<dir>/<kind>-<key>-<generation>.snap".
std::string file_name(const std::string& dir, const std::string& kind, const std::string& key, uint64_t generation);

// A snapshot file in a directory: its generation and path.
struct Listed {
    uint64_t generation;
    std::string path;
};
// The files of `kind` and `key` in dir, newest generation first (none when dir is missing).
std::vector<Listed> list(const std::string& dir, const std::string& kind, const std::string& key);
// Every "*.snap" (and stale "*.tmp.*") file of dir, whatever its kind and key.
std::vector<std::string> list_all(const std::string& dir);
// One more than the highest generation of any file in dir (1 for an empty or missing dir).
uint64_t next_generation(const std::string& dir);

// Creates dir and its parents as needed (mode 0700); throws std::runtime_error on failure.
void make_dirs(const std::string& dir);

// The writers' lock of a directory (flock on "<dir>/lock"), released on destruction.
class DirLock {
  public:
    // Tries every ~10 ms, calling check between tries (which may throw), for at most wait_ms;
    // nothing when another writer still holds it then.
    static std::optional<DirLock> acquire(const std::string& dir, int wait_ms, const InterruptCheck& check);
    DirLock(DirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    DirLock& operator=(DirLock&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    ~DirLock();

  private:
    explicit DirLock(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace pgrag::snapshot
