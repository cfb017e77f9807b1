// Queries through libpq: parameters always bound ($1...), never interpolated; errors carry the SQLSTATE.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgrag::server {

// A database error with its SQLSTATE ("" when the connection failed without one).
class DbError : public std::runtime_error {
  public:
    DbError(std::string sqlstate, const std::string& message, bool connection_lost, std::string detail = {},
            std::string hint = {})
        : std::runtime_error(message),
          sqlstate_(std::move(sqlstate)),
          detail_(std::move(detail)),
          hint_(std::move(hint)),
          connection_lost_(connection_lost) {}
    const std::string& sqlstate() const { return sqlstate_; }
    const std::string& detail() const { return detail_; }
    const std::string& hint() const { return hint_; }
    // The connection to Postgres failed or was refused. (A class-08 SQLSTATE on a live connection is
    // the extension's report of a provider it could not reach: not this.)
    bool connection_lost() const { return connection_lost_; }

  private:
    std::string sqlstate_, detail_, hint_;
    bool connection_lost_;
};

// One bound parameter: NULL, text, or bytes sent in binary (bytea).
struct Param {
    std::optional<std::string> value;
    bool binary = false;
    static Param null() { return {}; }
    static Param text(std::string v) { return {std::move(v), false}; }
    static Param bytes(std::string v) { return {std::move(v), true}; }
};

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

// The text of an interval parameter ($n::interval) of a number of seconds.
std::string interval_param(double seconds);

// Runs sql with params on conn; throws DbError for anything but a successful result.
PgResult exec(PGconn* conn, const std::string& sql, const std::vector<Param>& params);

// Prepares sql as the named statement (parameter types inferred, as exec does); throws DbError.
void prepare(PGconn* conn, const std::string& name, const std::string& sql);

// Runs a statement prepared on conn; throws DbError as exec does.
PgResult exec_prepared(PGconn* conn, const std::string& name, const std::vector<Param>& params);

// The first column of the first row as text (std::nullopt for NULL or no row).
std::optional<std::string> exec_value(PGconn* conn, const std::string& sql, const std::vector<Param>& params);

}  // namespace pgrag::server
