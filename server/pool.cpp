// The connection pool.
#include "pool.hpp"

#include <algorithm>

namespace pgrag::server {

namespace {
// One statement sets all three. Session-level, and set again by every lease whose caller differs from
// the connection's last one: nothing else on the server's connections changes these settings.
constexpr const char* kSetIdentity =
    "SELECT set_config('pg_rag.user_id', $1, false), set_config('pg_rag.tenant_id', $2, false),"
    " set_config('pg_rag.user_admin', $3, false)";

// The session lost the statement (DISCARD ALL, DEALLOCATE) or its result columns changed since it was
// prepared (ALTER TABLE under SELECT *): it did not run, and preparing it again fixes it.
bool stale_statement(const DbError& e) {
    return e.sqlstate() == "26000" ||
           (e.sqlstate() == "0A000" && std::string(e.what()).find("cached plan must not change") != std::string::npos);
}
}  // namespace

void PooledConnection::reset() {
    if (conn) PQfinish(conn);
    conn = nullptr;
    prepared.clear();
    identity.clear();
}

Lease::Lease(Lease&& o) noexcept
    : pool_(o.pool_), slot_(o.slot_), c_(o.c_), fresh_(o.fresh_), used_(o.used_), who_(std::move(o.who_)) {
    o.pool_ = nullptr;
}

Lease::~Lease() { release(); }

void Lease::release() {
    if (!pool_) return;
    pool_->give_back(slot_);
    pool_ = nullptr;
    c_ = nullptr;
}

PgResult Lease::exec(const std::string& sql, const std::vector<Param>& params) {
    bool first = !used_;
    used_ = true;
    try {
        return run(sql, params);
    } catch (const DbError& e) {
        if (!(first && !fresh_ && e.connection_lost() && PQstatus(c_->conn) != CONNECTION_OK)) throw;
    }
    // The idle connection died under us (a restart): one new connection, one more try, as the caller.
    c_->reset();
    c_->conn = pool_->connect();
    fresh_ = true;
    set_identity();
    return run(sql, params);
}

namespace {
// Names an identity; "" for the anonymous one, a new connection's.
std::string identity_key(const DbIdentity& who) {
    if (who.user_id.empty() && who.tenant_id.empty() && !who.admin) return "";  // the defaults
    return who.user_id + '\x1f' + who.tenant_id + '\x1f' + (who.admin ? "on" : "off");
}
}  // namespace

void Lease::set_identity() {
    std::string key = identity_key(who_);
    if (c_->identity == key) return;
    // exec: on an idle connection that died, this is the query retried on a new one.
    exec(kSetIdentity,
         {Param::text(who_.user_id), Param::text(who_.tenant_id), Param::text(who_.admin ? "on" : "off")});
    c_->identity = key;
}

PgResult Lease::run(const std::string& sql, const std::vector<Param>& params) {
    auto it = c_->prepared.find(sql);
    if (it == c_->prepared.end()) {
        if (c_->prepared.size() >= kMaxPreparedPerConnection) return server::exec(c_->conn, sql, params);
        std::string name = "pgrag_" + std::to_string(++c_->next_statement);
        prepare(c_->conn, name, sql);  // a statement that fails to prepare is not remembered
        it = c_->prepared.emplace(sql, name).first;
    }
    try {
        return exec_prepared(c_->conn, it->second, params);
    } catch (const DbError& e) {
        // Outside a transaction block the failed statement changed nothing: prepare it again, once.
        if (!stale_statement(e) || PQtransactionStatus(c_->conn) != PQTRANS_IDLE) throw;
    }
    std::string old = it->second;
    c_->prepared.erase(it);
    try {
        server::exec(c_->conn, "DEALLOCATE " + old, {});
    } catch (const DbError&) {  // already gone (26000)
    }
    std::string name = "pgrag_" + std::to_string(++c_->next_statement);
    prepare(c_->conn, name, sql);
    c_->prepared.emplace(sql, name);
    return exec_prepared(c_->conn, name, params);
}

std::optional<std::string> Lease::value(const std::string& sql, const std::vector<Param>& params) {
    PgResult r = exec(sql, params);
    if (PQntuples(r.get()) == 0 || PQnfields(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
    return std::string(PQgetvalue(r.get(), 0, 0), PQgetlength(r.get(), 0, 0));
}

Pool::Pool(std::string conninfo, int size, std::chrono::milliseconds wait, std::string setup_sql)
    : conninfo_(std::move(conninfo)), setup_sql_(std::move(setup_sql)), wait_(wait), slots_(size), busy_(size, false) {}

Pool::~Pool() {
    for (auto& c : slots_) c.reset();
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
    {
        std::unique_lock<std::mutex> lock(mu_);
        if (in_use_ < static_cast<int>(slots_.size()) && waiters_.empty()) {
            // Prefer a connected slot; an empty one otherwise.
            size_t empty = slots_.size();
            for (slot = 0; slot < slots_.size(); ++slot) {
                if (busy_[slot]) continue;
                if (slots_[slot].conn) break;
                if (empty == slots_.size()) empty = slot;
            }
            if (slot == slots_.size()) slot = empty;
            busy_[slot] = true;
            ++in_use_;
        } else {
            // In line: give_back hands the slot over directly, so a request that arrives later cannot
            // take it first, and waits are served in arrival order.
            Waiter w;
            waiters_.push_back(&w);
            if (!w.cv.wait_for(lock, wait_, [&] { return w.granted; })) {
                waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &w));
                throw PoolTimeout("no database connection became free within the wait timeout");
            }
            slot = w.slot;
        }
    }
    // The slot is ours now: only its lease touches it until give_back.
    PooledConnection& c = slots_[slot];
    if (c.conn && PQstatus(c.conn) != CONNECTION_OK) c.reset();
    bool fresh = false;
    if (!c.conn) {
        try {
            c.conn = connect();
            fresh = true;
        } catch (...) {
            give_back(slot);
            throw;
        }
    }
    Lease lease(this, slot, &c, fresh, who);
    lease.set_identity();
    return lease;
}

void Pool::give_back(size_t slot) {
    // A connection in a failed state or inside a transaction is not reused.
    PooledConnection& c = slots_[slot];
    if (c.conn && (PQstatus(c.conn) != CONNECTION_OK || PQtransactionStatus(c.conn) != PQTRANS_IDLE)) c.reset();
    std::lock_guard<std::mutex> lock(mu_);
    if (waiters_.empty()) {
        busy_[slot] = false;
        --in_use_;
        return;
    }
    Waiter* w = waiters_.front();  // the slot stays busy: it changes hands
    waiters_.pop_front();
    w->slot = slot;
    w->granted = true;
    w->cv.notify_one();
}

int Pool::in_use() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_use_;
}

int Pool::waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(waiters_.size());
}

std::string Pool::describe() const {
    std::lock_guard<std::mutex> lock(mu_);
    return describe_;
}

}  // namespace pgrag::server
