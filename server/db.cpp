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

PgResult exec(PGconn* conn, const std::string& sql, const std::vector<Param>& params) {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const auto& p : params) {
        values.push_back(p.value ? p.value->data() : nullptr);
        lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
        formats.push_back(p.binary ? 1 : 0);
    }
    PgResult r(PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), lengths.data(),
                            formats.data(), 0),
               &PQclear);
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

std::optional<std::string> exec_value(PGconn* conn, const std::string& sql, const std::vector<Param>& params) {
    PgResult r = exec(conn, sql, params);
    if (PQntuples(r.get()) == 0 || PQnfields(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
    return std::string(PQgetvalue(r.get(), 0, 0), PQgetlength(r.get(), 0, 0));
}

}  // namespace pgrag::server
