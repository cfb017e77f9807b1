// A fixed-size pool of libpq connections: a request waits up to a timeout for one (then 503 with
// Retry-After), first come first served; broken connections are dropped and opened again on next use,
// so the server recovers by itself after Postgres restarts. Each connection prepares every distinct
// SQL text it runs once and executes the prepared statement afterwards (no parse and plan per query);
// a new connection starts with none, so statements are prepared again after a reconnect.
// Every lease runs as its caller's identity (DbIdentity), set on the connection before its first query.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
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

// A pooled connection and the statements prepared on it.
struct PooledConnection {
    PGconn* conn = nullptr;                                 // nullptr: not connected
    std::unordered_map<std::string, std::string> prepared;  // SQL text -> statement name
    unsigned long next_statement = 0;
    std::string identity;  // the identity settings now in effect on conn (identity_key); "" = the defaults

    // Drops the connection (if any) and what was prepared on it.
    void reset();
};

// Statements prepared per connection at most; further distinct SQL texts run unprepared, so code
// that builds SQL text at run time cannot grow a connection's memory without bound.
constexpr size_t kMaxPreparedPerConnection = 200;

// A borrowed connection, returned to the pool when it goes out of scope (or by release()).
class Lease {
  public:
    Lease(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    void release();

    // Runs a query (a prepared statement per distinct SQL text, transparently). The first query of a
    // lease on a connection that was idle in the pool and turns out dead (Postgres restarted meanwhile)
    // is retried once on a new connection: it cannot have run.
    PgResult exec(const std::string& sql, const std::vector<Param>& params = {});
    std::optional<std::string> value(const std::string& sql, const std::vector<Param>& params = {});

  private:
    friend class Pool;
    Lease(Pool* pool, size_t slot, PooledConnection* c, bool fresh, DbIdentity who)
        : pool_(pool), slot_(slot), c_(c), fresh_(fresh), who_(std::move(who)) {}
    PgResult run(const std::string& sql, const std::vector<Param>& params);
    void set_identity();  // makes who_ the connection's identity, unless it is already

    Pool* pool_;
    size_t slot_;
    PooledConnection* c_;
    bool fresh_;
    bool used_ = false;
    DbIdentity who_;
};

class Pool {
  public:
    // conninfo: libpq connection string ("" = PG* variables); setup: run on each new connection.
    Pool(std::string conninfo, int size, std::chrono::milliseconds wait, std::string setup_sql);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // Borrows a connection, opening one when the slot is empty, and makes who its identity before
    // anything else runs (one round trip when the connection's last caller was someone else). Throws
    // PoolTimeout or DbError.
    Lease acquire(const DbIdentity& who = DbIdentity::anonymous());

    int size() const { return static_cast<int>(slots_.size()); }
    int in_use() const;
    int waiting() const;
    // Where the pool connects, without secrets: "host:port/dbname" of a live connection, or "".
    std::string describe() const;

  private:
    friend class Lease;
    void give_back(size_t slot);
    PGconn* connect();  // throws DbError

    std::string conninfo_, setup_sql_;
    std::chrono::milliseconds wait_;
    mutable std::mutex mu_;
    // A request waiting for a connection; a returned connection goes to the longest-waiting one.
    struct Waiter {
        std::condition_variable cv;
        size_t slot = 0;
        bool granted = false;
    };
    std::deque<Waiter*> waiters_;
    std::vector<PooledConnection> slots_;  // never resized: leases point into it
    std::vector<bool> busy_;
    int in_use_ = 0;
    std::string describe_;
};

}  // namespace pgrag::server
