// Errors as JSON {"error": {"message", "type", "code"}} with the right HTTP status: request errors,
// database errors by SQLSTATE, core-library (provider) errors, pool exhaustion.
#pragma once

#include <exception>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace pgrag::server {

// An error the client gets as it is.
class ApiError : public std::runtime_error {
  public:
    ApiError(int status, std::string type, std::string code, const std::string& message)
        : std::runtime_error(message), status_(status), type_(std::move(type)), code_(std::move(code)) {}
    int status() const { return status_; }
    const std::string& type() const { return type_; }
    const std::string& code() const { return code_; }
    int retry_after_s = 0;         // > 0: sent as Retry-After
    std::string www_authenticate;  // sent as WWW-Authenticate when set (401, 403 of a missing scope)

  private:
    int status_;
    std::string type_, code_;
};

// 400 invalid_request_error with code "invalid_request".
ApiError bad_request(const std::string& message);

// The HTTP status of a SQLSTATE: 22xxx/42xxx (input) 400, 0A000 415 (files), 42501 403, 57014 504,
// connection classes 503, a provider's errors (38000, 08xxx raised by the extension) 502, P0002 404.
int status_for_sqlstate(const std::string& sqlstate, bool connection_lost);

// Maps whatever was thrown (ApiError, DbError, pgrag::Error, PoolTimeout, anything) to an ApiError.
ApiError to_api_error(std::exception_ptr ep);

// The JSON body of an error; openai: OpenAI's shape (with "param": null).
nlohmann::json error_json(const ApiError& e, bool openai = false);

}  // namespace pgrag::server
