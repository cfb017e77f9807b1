#include "shared_copy.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>
#include <cstdio>
#include <set>

#include "boundary.hpp"
#include "spi.hpp"

extern "C" {
#include "access/xact.h"
#include "storage/proc.h"
}

namespace pgrag::pg {
namespace {

// The chunk-table oid a file name carries after its kind ("<kind>-<oid>-..."), or 0.
Oid chunk_table_of(const std::string& name) {
    size_t dash = name.find('-');
    if (dash == std::string::npos) return InvalidOid;
    unsigned long oid = 0;
    size_t i = dash + 1;
    for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i)
        oid = oid * 10 + static_cast<unsigned>(name[i] - '0');
    return i < name.size() && name[i] == '-' ? static_cast<Oid>(oid) : InvalidOid;
}

std::string base_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

// A temporary file whose writer (pid after ".tmp.") is gone.
bool orphan_temp(const std::string& name) {
    size_t at = name.find(".snap.tmp.");
    if (at == std::string::npos) return false;
    long pid = std::atol(name.c_str() + at + 10);
    return pid > 0 && pid != getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0;
}

// Removes pg_rag/<oid> of databases that no longer exist.
void remove_dropped_databases() {
    std::set<std::string> live;
    run_sql("SELECT oid::text FROM pg_catalog.pg_database", {}, true, [&](const SqlRow& row) {
        if (std::optional<std::string> oid = optional_text(row, 1)) live.insert(*oid);
    });
    DIR* d = ::opendir("pg_rag");
    if (!d) return;
    std::vector<std::string> gone;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos && !live.count(name))
            gone.push_back("pg_rag/" + name);
    }
    ::closedir(d);
    for (const std::string& dir : gone) {
        // Only our own files: a directory holding anything else stays.
        for (const std::string& f : snapshot::list_all(dir)) ::unlink(f.c_str());
        ::unlink((dir + "/lock").c_str());
        ::rmdir(dir.c_str());
    }
}

}  // namespace

std::string snapshot_dir() { return "pg_rag/" + std::to_string(MyDatabaseId); }

std::string chunk_table_key(Oid chunks) { return std::to_string(chunks); }

bool xid_assigned() { return TransactionIdIsValid(GetTopTransactionIdIfAny()); }

std::optional<snapshot::DirLock> lock_snapshot_dir(int wait_ms) {
    std::string dir = snapshot_dir();
    snapshot::make_dirs(dir);
    return snapshot::DirLock::acquire(dir, wait_ms, throw_if_interrupted);
}

void remove_superseded(const std::string& kind, const std::string& key, uint64_t kept_generation, Oid chunks) {
    std::string dir = snapshot_dir();
    for (const snapshot::Listed& f : snapshot::list(dir, kind, key))
        if (f.generation < kept_generation) ::unlink(f.path.c_str());
    for (const std::string& path : snapshot::list_all(dir)) {
        std::string name = base_name(path);
        Oid of = chunk_table_of(name);
        if (orphan_temp(name) || (name.find(".tmp.") == std::string::npos && of != InvalidOid && of != chunks))
            ::unlink(path.c_str());
    }
    remove_dropped_databases();
}

bool adopt_newest_base(const std::optional<snapshot::Listed>& newest, std::optional<uint64_t> mapped_generation,
                       RefusedBase& refused, const std::function<bool(const snapshot::Listed&)>& adopt) {
    if (!newest || (mapped_generation && newest->generation <= *mapped_generation)) return false;
    if (newest->generation == refused.generation && refused.transaction == MyProc->lxid) return false;
    if (adopt(*newest)) return true;
    refused = {newest->generation, MyProc->lxid};
    return false;
}

}  // namespace pgrag::pg
