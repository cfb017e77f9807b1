// The connection pool.
#include "pool.hpp"

#include <cstdio>

namespace pgrag::server {

namespace {
// One statement sets all three (session-level: the lease's later statements run in their own transactions).
constexpr const char* kSetIdentity =
    "SELECT set_config('pg_rag.user_id', $1, false), set_config('pg_rag.tenant_id', $2, false),"
    " set_config('pg_rag.user_admin', $3, false)";
}  // namespace

Lease::Lease(Lease&& o) noexcept : pool_(o.pool_), slot_(o.slot_), conn_(o.conn_), fresh_(o.fresh_), used_(o.used_) {
    o.pool_ = nullptr;
}

Lease::~Lease() { release(); }

void Lease::release() {
    if (!pool_) return;
    pool_->give_back(slot_, conn_);
    pool_ = nullptr;
    conn_ = nullptr;
}

PgResult Lease::exec(const std::string& sql, const std::vector<Param>& params) {
    bool first = !used_;
    used_ = true;
    try {
        return server::exec(conn_, sql, params);
    } catch (const DbError& e) {
        if (!(first && !fresh_ && e.connection_lost() && PQstatus(conn_) != CONNECTION_OK)) throw;
    }
    // The idle connection died under us (a restart): one new connection, one more try.
    PQfinish(conn_);
    conn_ = nullptr;
    conn_ = pool_->connect();
    fresh_ = true;
    return server::exec(conn_, sql, params);
}

std::optional<std::string> Lease::value(const std::string& sql, const std::vector<Param>& params) {
    PgResult r = exec(sql, params);
    if (PQntuples(r.get()) == 0 || PQnfields(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
    return std::string(PQgetvalue(r.get(), 0, 0), PQgetlength(r.get(), 0, 0));
}

Pool::Pool(std::string conninfo, int size, std::chrono::milliseconds wait, std::string setup_sql)
    : conninfo_(std::move(conninfo)),
      setup_sql_(std::move(setup_sql)),
      wait_(wait),
      slots_(size, nullptr),
      busy_(size, false) {}

Pool::~Pool() {
    for (PGconn* c : slots_)
        if (c) PQfinish(c);
}

PGconn* Pool::connect() {
    PGconn* c = PQconnectdb(conninfo_.c_str());
    if (!c || PQstatus(c) != CONNECTION_OK) {
        std::string message = c ? PQerrorMessage(c) : "out of memory";
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
        if (c) PQfinish(c);
        throw DbError("08006", "could not connect to the database: " + message, true);
    }
    if (!setup_sql_.empty()) {
        try {
            server::exec(c, setup_sql_, {});
        } catch (...) {
            PQfinish(c);
            throw;
        }
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (describe_.empty()) describe_ = std::string(PQhost(c)) + ":" + PQport(c) + "/" + PQdb(c);
    return c;
}

Lease Pool::acquire(const DbIdentity& who) {
    size_t slot = 0;
    PGconn* conn = nullptr;
    {
        std::unique_lock<std::mutex> lock(mu_);
        ++waiting_;
        bool got = cv_.wait_for(lock, wait_, [&] { return in_use_ < static_cast<int>(slots_.size()); });
        --waiting_;
        if (!got) throw PoolTimeout("no database connection became free within the wait timeout");
        // Prefer a connected slot; an empty one otherwise.
        size_t empty = slots_.size();
        for (slot = 0; slot < slots_.size(); ++slot) {
            if (busy_[slot]) continue;
            if (slots_[slot]) break;
            if (empty == slots_.size()) empty = slot;
        }
        if (slot == slots_.size()) slot = empty;
        busy_[slot] = true;
        ++in_use_;
        conn = slots_[slot];
        slots_[slot] = nullptr;
    }
    if (conn && PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        conn = nullptr;
    }
    bool fresh = false;
    if (!conn) {
        try {
            conn = connect();
            fresh = true;
        } catch (...) {
            give_back(slot, nullptr);
            throw;
        }
    }
    Lease lease(this, slot, conn, fresh);
    if (!identity_supported_) return lease;
    try {
        lease.exec(kSetIdentity,
                   {Param::text(who.user_id), Param::text(who.tenant_id), Param::text(who.admin ? "on" : "off")});
    } catch (const DbError& e) {
        // TEMPORARY until row-level security defines these settings: the extension reserves the pg_rag
        // prefix, so undefined names are refused (42602) once its library is loaded. Nothing reads them then.
        if (e.sqlstate() != "42602") throw;
        if (identity_supported_.exchange(false))
            std::fprintf(stderr,
                         "pg_rag_server: warning: this pg_rag does not define pg_rag.user_id: callers' identities are "
                         "not passed to Postgres\n");
    }
    return lease;
}

void Pool::give_back(size_t slot, PGconn* conn) {
    // A connection in a failed state or inside a transaction is not reused.
    if (conn && (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)) {
        PQfinish(conn);
        conn = nullptr;
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        slots_[slot] = conn;
        busy_[slot] = false;
        --in_use_;
    }
    cv_.notify_one();
}

int Pool::in_use() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_use_;
}

int Pool::waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
}

std::string Pool::describe() const {
    std::lock_guard<std::mutex> lock(mu_);
    return describe_;
}

}  // namespace pgrag::server
