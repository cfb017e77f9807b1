// The server's connection pool against the test cluster: every distinct SQL text is prepared once per
// connection and executed as a prepared statement afterwards, transparently, and prepared again when
// the session lost it (a new connection after a Postgres restart, DISCARD ALL, a changed result type);
// waiting requests are served in arrival order.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pool.hpp"

using pgrag::server::DbError;
using pgrag::server::kMaxPreparedPerConnection;
using pgrag::server::Lease;
using pgrag::server::Param;
using pgrag::server::Pool;

namespace {

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

const std::string kPort = env_or("PGRAG_TEST_PG_PORT", "55550");
const std::string kData = env_or("PGRAG_TEST_PG_DATADIR", "");
const std::string kRootDir = env_or("PGRAG_TEST_ROOT", ".");

// One connection, so consecutive leases get the same session.
Pool one_connection() {
    return Pool("host=127.0.0.1 port=" + kPort + " dbname=pg_rag_server user=postgres", 1, std::chrono::seconds(5), "");
}

// How many statements of this session are prepared with exactly this text.
int prepared_count(Lease& db, const std::string& sql) {
    return std::stoi(
        db.value("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", {Param::text(sql)}).value());
}

}  // namespace

TEST(PoolStatements, EachDistinctTextIsPreparedOncePerConnection) {
    Pool pool = one_connection();
    Lease db = pool.acquire();
    const std::string add = "SELECT $1::int + 1";
    EXPECT_EQ(db.value(add, {Param::text("1")}), "2");
    EXPECT_EQ(db.value(add, {Param::text("41")}), "42");
    EXPECT_EQ(prepared_count(db, add), 1);
    EXPECT_EQ(db.value("SELECT $1::text IS NULL", {Param::null()}), "t");
    EXPECT_EQ(db.value("SELECT length($1::bytea)", {Param::bytes(std::string("\0\1\2", 3))}), "3");
    db.release();
    // The next lease gets the same session: still one statement for the text, and it still runs.
    Lease again = pool.acquire();
    EXPECT_EQ(again.value(add, {Param::text("6")}), "7");
    EXPECT_EQ(prepared_count(again, add), 1);
    EXPECT_EQ(prepared_count(again, "SELECT length($1::bytea)"), 1);
}

TEST(PoolStatements, AStatementThatFailsToPrepareIsNotRemembered) {
    Pool pool = one_connection();
    Lease db = pool.acquire();
    for (int i = 0; i < 2; ++i) {
        try {
            db.exec("SELEC 1");
            ADD_FAILURE() << "a syntax error ran";
        } catch (const DbError& e) {
            EXPECT_EQ(e.sqlstate(), "42601") << e.what();  // the same error each time, not a stale statement
        }
    }
    EXPECT_EQ(prepared_count(db, "SELEC 1"), 0);
    EXPECT_EQ(db.value("SELECT 5"), "5");
}

TEST(PoolStatements, PreparedAgainAfterDiscardAll) {
    Pool pool = one_connection();
    Lease db = pool.acquire();
    EXPECT_EQ(db.value("SELECT 7"), "7");
    db.exec("DISCARD ALL");  // drops every prepared statement of the session
    EXPECT_EQ(db.value("SELECT 7"), "7");
    EXPECT_EQ(prepared_count(db, "SELECT 7"), 1);
}

TEST(PoolStatements, PreparedAgainWhenTheResultColumnsChange) {
    Pool pool = one_connection();
    Lease db = pool.acquire();
    db.exec("DROP TABLE IF EXISTS pool_test_rows");
    db.exec("CREATE TABLE pool_test_rows (a int)");
    db.exec("INSERT INTO pool_test_rows VALUES (1)");
    const std::string all = "SELECT * FROM pool_test_rows";
    EXPECT_EQ(PQnfields(db.exec(all).get()), 1);
    db.exec("ALTER TABLE pool_test_rows ADD COLUMN b int DEFAULT 5");
    auto r = db.exec(all);  // Postgres: "cached plan must not change result type" unless prepared again
    ASSERT_EQ(PQnfields(r.get()), 2);
    EXPECT_STREQ(PQgetvalue(r.get(), 0, 1), "5");
    db.exec("DROP TABLE pool_test_rows");
}

TEST(PoolStatements, TextsBeyondTheLimitRunUnprepared) {
    Pool pool = one_connection();
    Lease db = pool.acquire();
    for (size_t i = 0; i < kMaxPreparedPerConnection + 20; ++i)
        EXPECT_EQ(db.value("SELECT " + std::to_string(i)), std::to_string(i));
    EXPECT_EQ(db.value("SELECT count(*) FROM pg_prepared_statements"), std::to_string(kMaxPreparedPerConnection));
}

// Postgres restarts under an idle pooled connection: the next lease reconnects and its statements are
// prepared anew on the new session (the old session's names mean nothing there).
TEST(PoolStatements, StatementsSurviveAPostgresRestart) {
    ASSERT_FALSE(kData.empty());
    Pool pool = one_connection();
    const std::string q = "SELECT $1::int * 2";
    std::string pid;
    {
        Lease db = pool.acquire();
        EXPECT_EQ(db.value(q, {Param::text("4")}), "8");
        pid = db.value("SELECT pg_backend_pid()::text").value();
    }
    ASSERT_EQ(std::system(("bash " + kRootDir + "/docker/pg-cluster.sh stop " + kData).c_str()), 0);
    ASSERT_EQ(std::system(("bash " + kRootDir + "/docker/pg-cluster.sh start " + kData + " " + kPort).c_str()), 0);
    Lease db = pool.acquire();
    EXPECT_EQ(db.value(q, {Param::text("21")}), "42");
    EXPECT_NE(db.value("SELECT pg_backend_pid()::text").value(), pid) << "not a new session";
    EXPECT_EQ(prepared_count(db, q), 1);
}

// Requests waiting for a connection get it in arrival order: one that arrives while others wait goes
// behind them, even when it asks at the moment a connection is returned.
TEST(PoolWaiting, ConnectionsGoToWaitersInArrivalOrder) {
    Pool pool = one_connection();
    std::mutex mu;
    std::vector<std::string> order;
    auto take = [&](const std::string& who) {
        Lease db = pool.acquire();
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(who);
    };
    auto wait_for_waiting = [&](int n) {
        for (int i = 0; i < 500 && pool.waiting() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ASSERT_EQ(pool.waiting(), n);
    };
    Lease held = pool.acquire();
    std::thread first([&] { take("first"); });
    wait_for_waiting(1);
    std::thread second([&] { take("second"); });
    wait_for_waiting(2);
    held.release();
    take("late");
    first.join();
    second.join();
    EXPECT_EQ(order, (std::vector<std::string>{"first", "second", "late"}));
}
