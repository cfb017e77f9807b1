// libpq calls with bound parameters and SQLSTATE-carrying errors.
#include "db.hpp"

#include <cstdio>

namespace pgrag::server {

namespace {
std::string field(const PGresult* r, int code) {
    const char* v = r ? PQresultErrorField(r, code) : nullptr;
    return v ? v : "";
}

}  // namespace

std::string interval_param(double seconds) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f seconds", seconds);
    return buf;
}

namespace {
// The result when it succeeded; a DbError with the SQLSTATE, message, detail and hint otherwise.
PgResult checked(PGconn* conn, PGresult* raw) {
    PgResult r(raw, &PQclear);
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    std::string message = field(r.get(), PG_DIAG_MESSAGE_PRIMARY);
    if (message.empty()) {
        message = PQerrorMessage(conn);
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    }
    std::string sqlstate = field(r.get(), PG_DIAG_SQLSTATE);
    // Administrator shutdown and crash recovery end the session too.
    bool lost = PQstatus(conn) != CONNECTION_OK || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
    if (lost && sqlstate.empty()) sqlstate = "08006";
    throw DbError(sqlstate, message, lost, field(r.get(), PG_DIAG_MESSAGE_DETAIL),
                  field(r.get(), PG_DIAG_MESSAGE_HINT));
}

// libpq's parallel arrays of parameter values, lengths and formats.
struct BoundParams {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    explicit BoundParams(const std::vector<Param>& params) {
        for (const auto& p : params) {
            values.push_back(p.value ? p.value->data() : nullptr);
            lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
            formats.push_back(p.binary ? 1 : 0);
        }
    }
    int count() const { return static_cast<int>(values.size()); }
};

}  // namespace

PgResult exec(PGconn* conn, const std::string& sql, const std::vector<Param>& params) {
    BoundParams b(params);
    return checked(conn, PQexecParams(conn, sql.c_str(), b.count(), nullptr, b.values.data(), b.lengths.data(),
                                      b.formats.data(), 0));
}

void prepare(PGconn* conn, const std::string& name, const std::string& sql) {
    checked(conn, PQprepare(conn, name.c_str(), sql.c_str(), 0, nullptr));
}

PgResult exec_prepared(PGconn* conn, const std::string& name, const std::vector<Param>& params) {
    BoundParams b(params);
    return checked(
        conn, PQexecPrepared(conn, name.c_str(), b.count(), b.values.data(), b.lengths.data(), b.formats.data(), 0));
}

std::optional<std::string> exec_value(PGconn* conn, const std::string& sql, const std::vector<Param>& params) {
    PgResult r = exec(conn, sql, params);
    if (PQntuples(r.get()) == 0 || PQnfields(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
    return std::string(PQgetvalue(r.get(), 0, 0), PQgetlength(r.get(), 0, 0));
}

}  // namespace pgrag::server
