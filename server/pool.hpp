// A fixed-size pool of libpq connections: a request waits up to a timeout for one (then 503 with
// Retry-After); broken connections are dropped and opened again on next use, so the server recovers
// by itself after Postgres restarts. Every lease first sets the caller's identity on its connection.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "db.hpp"

namespace pgrag::server {

// No connection became free within the wait timeout.
class PoolTimeout : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class Pool;

// Who a lease's queries run for: the settings pg_rag.user_id, pg_rag.tenant_id and pg_rag.user_admin,
// which row-level security reads. Empty user: anonymous.
struct DbIdentity {
    std::string user_id;
    std::string tenant_id;
    bool admin = false;
    static DbIdentity anonymous() { return {}; }
};

// A borrowed connection, returned to the pool when it goes out of scope (or by release()).
class Lease {
  public:
    Lease(Pool* pool, size_t slot, PGconn* conn, bool fresh) : pool_(pool), slot_(slot), conn_(conn), fresh_(fresh) {}
    Lease(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    void release();

    // Runs a query. The first query of a lease on a connection that was idle in the pool and turns out
    // dead (Postgres restarted meanwhile) is retried once on a new connection: it cannot have run.
    PgResult exec(const std::string& sql, const std::vector<Param>& params = {});
    std::optional<std::string> value(const std::string& sql, const std::vector<Param>& params = {});

  private:
    Pool* pool_;
    size_t slot_;
    PGconn* conn_;
    bool fresh_;
    bool used_ = false;
};

class Pool {
  public:
    // conninfo: libpq connection string ("" = PG* variables); setup: run on each new connection.
    Pool(std::string conninfo, int size, std::chrono::milliseconds wait, std::string setup_sql);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // Borrows a connection, opening one when the slot is empty, and sets who on it before anything else
    // runs (in one round trip, on every lease, so no identity outlives its request). Throws PoolTimeout or
    // DbError.
    Lease acquire(const DbIdentity& who = DbIdentity::anonymous());

    // False while the extension does not define the identity settings (before row-level security):
    // leases then set none.
    bool identity_supported() const { return identity_supported_; }

    int size() const { return static_cast<int>(slots_.size()); }
    int in_use() const;
    int waiting() const;
    // Where the pool connects, without secrets: "host:port/dbname" of a live connection, or "".
    std::string describe() const;

  private:
    friend class Lease;
    void give_back(size_t slot, PGconn* conn);
    PGconn* connect();  // throws DbError

    std::string conninfo_, setup_sql_;
    std::chrono::milliseconds wait_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<PGconn*> slots_;  // nullptr: not connected
    std::vector<bool> busy_;
    int in_use_ = 0, waiting_ = 0;
    std::string describe_;
    std::atomic<bool> identity_supported_{true};
};

}  // namespace pgrag::server
