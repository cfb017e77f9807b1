#include "boundary.hpp"

#include <cstring>
#include <new>

#include "../core/error.hpp"

namespace pgrag::pg {
namespace {

// Everything needed to raise an error, in plain storage that needs no destructor.
struct Failure {
    ErrorData* postgres = nullptr;  // a Postgres error to re-throw as is
    int sqlstate = 0;
    bool canceled = false;
    char message[1024];
    char detail[1024];
    char hint[512];
};

void copy_text(char* dst, size_t size, const char* src) {
    std::strncpy(dst, src ? src : "", size - 1);
    dst[size - 1] = '\0';
}

int sqlstate_for(ErrorCode code) {
    switch (code) {
        case ErrorCode::InvalidTextRepresentation:
            return ERRCODE_INVALID_TEXT_REPRESENTATION;
        case ErrorCode::DataException:
            return ERRCODE_DATA_EXCEPTION;
        case ErrorCode::InvalidParameterValue:
            return ERRCODE_INVALID_PARAMETER_VALUE;
        case ErrorCode::NumericValueOutOfRange:
            return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
        case ErrorCode::NullValueNotAllowed:
            return ERRCODE_NULL_VALUE_NOT_ALLOWED;
        case ErrorCode::ArraySubscriptError:
            return ERRCODE_ARRAY_SUBSCRIPT_ERROR;
        case ErrorCode::ProgramLimitExceeded:
            return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
        case ErrorCode::FeatureNotSupported:
            return ERRCODE_FEATURE_NOT_SUPPORTED;
        case ErrorCode::UndefinedObject:
            return ERRCODE_UNDEFINED_OBJECT;
        case ErrorCode::QueryCanceled:
            return ERRCODE_QUERY_CANCELED;
        case ErrorCode::ExternalRoutineException:
            return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
        case ErrorCode::ConnectionFailure:
            return ERRCODE_CONNECTION_FAILURE;
        case ErrorCode::InvalidResponse:
            return ERRCODE_PROTOCOL_VIOLATION;
        case ErrorCode::InternalError:
            return ERRCODE_INTERNAL_ERROR;
        case ErrorCode::InsufficientPrivilege:
            return ERRCODE_INSUFFICIENT_PRIVILEGE;
    }
    return ERRCODE_INTERNAL_ERROR;
}

// Raises the recorded failure; called only once no C++ object of the body is alive.
pg_attribute_noreturn() void raise(Failure& failure) {
    if (failure.postgres) ReThrowError(failure.postgres);
    if (failure.canceled) CHECK_FOR_INTERRUPTS();  // raises the exact cancel or statement-timeout error
    ereport(ERROR, (errcode(failure.sqlstate), errmsg("%s", failure.message),
                    failure.detail[0] ? errdetail("%s", failure.detail) : 0,
                    failure.hint[0] ? errhint("%s", failure.hint) : 0));
    pg_unreachable();
}

}  // namespace

void run_guarded(void (*call)(void*), void* context) {
    MemoryContext caller_context = CurrentMemoryContext;
    ErrorData* volatile error = nullptr;
    PG_TRY();
    { call(context); }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        error = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (error) throw PostgresError(error);
}

Datum call_guarded(FunctionCallInfo fcinfo, Datum (*body)(FunctionCallInfo)) {
    Failure failure;
    failure.message[0] = failure.detail[0] = failure.hint[0] = '\0';
    try {
        return body(fcinfo);
    } catch (const PostgresError& e) {
        failure.postgres = e.data();
    } catch (const Error& e) {
        failure.sqlstate = sqlstate_for(e.code());
        failure.canceled = e.code() == ErrorCode::QueryCanceled;
        copy_text(failure.message, sizeof failure.message, e.what());
        copy_text(failure.detail, sizeof failure.detail, e.detail().c_str());
        copy_text(failure.hint, sizeof failure.hint, e.hint().c_str());
    } catch (const std::bad_alloc&) {
        failure.sqlstate = ERRCODE_OUT_OF_MEMORY;
        copy_text(failure.message, sizeof failure.message, "out of memory");
    } catch (const std::exception& e) {
        failure.sqlstate = ERRCODE_INTERNAL_ERROR;
        copy_text(failure.message, sizeof failure.message, "pg_rag internal error: ");
        std::strncat(failure.message, e.what(), sizeof failure.message - std::strlen(failure.message) - 1);
    } catch (...) {
        failure.sqlstate = ERRCODE_INTERNAL_ERROR;
        copy_text(failure.message, sizeof failure.message, "pg_rag internal error: unknown C++ exception");
    }
    raise(failure);
}

bool interrupt_pending() { return InterruptPending && (QueryCancelPending || ProcDiePending); }

void throw_if_interrupted() {
    if (interrupt_pending()) throw Error(ErrorCode::QueryCanceled, "canceling statement due to user request");
}

}  // namespace pgrag::pg
