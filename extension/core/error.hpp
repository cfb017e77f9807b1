// Errors raised by the core library. The Postgres glue maps ErrorCode to a SQLSTATE.
#pragma once

#include <stdexcept>
#include <string>

namespace pgrag {

// What went wrong, independent of Postgres; each maps to exactly one SQLSTATE in the glue.
enum class ErrorCode {
    InvalidTextRepresentation,  // 22P02
    DataException,              // 22000
    InvalidParameterValue,      // 22023
    NumericValueOutOfRange,     // 22003
    NullValueNotAllowed,        // 22004
    ArraySubscriptError,        // 2202E
    ProgramLimitExceeded,       // 54000
    FeatureNotSupported,        // 0A000
    UndefinedObject,            // 42704
    QueryCanceled,              // 57014: the glue re-checks interrupts to raise the exact cancel/timeout error
    ExternalRoutineException,   // 38000: a provider answered with an error
    ConnectionFailure,          // 08006: a provider could not be reached
    InvalidResponse,            // 08P01: a provider answered something we cannot use
    InternalError,              // XX000
    InsufficientPrivilege,      // 42501: the administrator's policy forbids it (e.g. a provider host)
};

// A core-library error with a message, and optionally a detail and a hint (as in ereport).
class Error : public std::runtime_error {
  public:
    Error(ErrorCode code, const std::string& message, std::string detail = {}, std::string hint = {})
        : std::runtime_error(message), code_(code), detail_(std::move(detail)), hint_(std::move(hint)) {}

    ErrorCode code() const noexcept { return code_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }

  private:
    ErrorCode code_;
    std::string detail_;
    std::string hint_;
};

}  // namespace pgrag
