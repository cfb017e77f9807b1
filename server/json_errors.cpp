// Error mapping: everything thrown ends as a JSON error with a status, never as a crash or a bare 500.
#include "json_errors.hpp"

#include "core/error.hpp"
#include "db.hpp"
#include "pool.hpp"

namespace pgrag::server {

ApiError bad_request(const std::string& message) {
    return ApiError(400, "invalid_request_error", "invalid_request", message);
}

int status_for_sqlstate(const std::string& s, bool connection_lost) {
    if (connection_lost) return 503;
    if (s == "42501") return 403;
    if (s == "0A000") return 415;
    if (s == "57014") return 504;
    if (s == "P0002") return 404;
    if (s == "38000" || s.rfind("08", 0) == 0) return 502;  // raised by the extension for a provider
    if (s.rfind("22", 0) == 0 || s.rfind("42", 0) == 0 || s == "54000" || s == "23505") return 400;
    if (s.rfind("53", 0) == 0 || s.rfind("57P", 0) == 0) return 503;
    return 500;
}

namespace {

const char* type_for_status(int status) {
    switch (status) {
        case 400:
            return "invalid_request_error";
        case 403:
            return "permission_error";
        case 404:
            return "not_found_error";
        case 413:
            return "invalid_request_error";
        case 415:
            return "invalid_request_error";
        case 502:
            return "provider_error";
        case 503:
            return "unavailable_error";
        case 504:
            return "timeout_error";
        default:
            return "server_error";
    }
}

int status_for_core(pgrag::ErrorCode c) {
    switch (c) {
        case pgrag::ErrorCode::ExternalRoutineException:
        case pgrag::ErrorCode::ConnectionFailure:
        case pgrag::ErrorCode::InvalidResponse:
            return 502;
        case pgrag::ErrorCode::QueryCanceled:
            return 504;
        case pgrag::ErrorCode::FeatureNotSupported:
            return 415;
        case pgrag::ErrorCode::InternalError:
            return 500;
        default:
            return 400;
    }
}

}  // namespace

ApiError to_api_error(std::exception_ptr ep) {
    try {
        std::rethrow_exception(ep);
    } catch (const ApiError& e) {
        return e;
    } catch (const PoolTimeout& e) {
        ApiError a(503, "unavailable_error", "pool_exhausted", std::string("server busy: ") + e.what());
        a.retry_after_s = 1;
        return a;
    } catch (const DbError& e) {
        int status = status_for_sqlstate(e.sqlstate(), e.connection_lost());
        std::string code = e.connection_lost() ? "database_unavailable" : e.sqlstate();
        ApiError a(status, type_for_status(status), code, e.what());
        if (status == 503) a.retry_after_s = 1;
        return a;
    } catch (const pgrag::Error& e) {
        int status = status_for_core(e.code());
        return ApiError(status, type_for_status(status), status == 504 ? "timeout" : "provider_error", e.what());
    } catch (const std::exception& e) {
        return ApiError(500, "server_error", "internal_error", std::string("internal error: ") + e.what());
    } catch (...) {
        return ApiError(500, "server_error", "internal_error", "internal error");
    }
}

nlohmann::json error_json(const ApiError& e, bool openai) {
    nlohmann::json err = {{"message", e.what()}, {"type", e.type()}, {"code", e.code()}};
    if (openai) err["param"] = nullptr;
    return {{"error", err}};
}

}  // namespace pgrag::server
