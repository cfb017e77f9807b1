// The C++/Postgres boundary.
//
// PGRAG_FUNCTION(name) defines an SQL-callable extern "C" function whose C++ body may throw: the
// wrapper catches everything and raises the Postgres ERROR only after the catch scope has closed,
// so every destructor has run before longjmp. pg_guard() is the other direction: it runs a call
// into Postgres that may ereport(ERROR) and turns that error into a C++ exception (PostgresError).
// Never throw inside pg_guard's callable, never ereport while C++ objects are alive.
#pragma once

#include <exception>
#include <type_traits>

#include "postgres.hpp"

namespace pgrag::pg {

// A Postgres ERROR caught by pg_guard; the wrapper re-raises it unchanged.
class PostgresError : public std::exception {
  public:
    explicit PostgresError(ErrorData* data) : data_(data) {}
    ErrorData* data() const noexcept { return data_; }
    const char* what() const noexcept override { return data_ && data_->message ? data_->message : "postgres error"; }

  private:
    ErrorData* data_;
};

// Runs call(context) inside PG_TRY; a Postgres ERROR is copied and thrown as PostgresError after PG_END_TRY.
void run_guarded(void (*call)(void*), void* context);

// Runs fn (which calls Postgres and creates no C++ objects needing destruction) and converts an ERROR.
template <typename Fn>
auto pg_guard(Fn&& fn) -> decltype(fn()) {
    using Result = decltype(fn());
    if constexpr (std::is_void_v<Result>) {
        run_guarded([](void* f) { (*static_cast<std::remove_reference_t<Fn>*>(f))(); }, &fn);
    } else {
        Result result{};
        auto store = [&] { result = fn(); };
        run_guarded([](void* f) { (*static_cast<decltype(store)*>(f))(); }, &store);
        return result;
    }
}

// Calls body and turns any exception into a Postgres ERROR after the catch scope closes.
Datum call_guarded(FunctionCallInfo fcinfo, Datum (*body)(FunctionCallInfo));

// Throws pgrag::Error(QueryCanceled) if a cancel or timeout is pending; for loops and network waits.
bool interrupt_pending();
void throw_if_interrupted();

}  // namespace pgrag::pg

#define PGRAG_FUNCTION(name)                                                              \
    static Datum name##_body(FunctionCallInfo fcinfo);                                    \
    extern "C" {                                                                          \
    PG_FUNCTION_INFO_V1(name);                                                            \
    Datum name(PG_FUNCTION_ARGS) { return pgrag::pg::call_guarded(fcinfo, name##_body); } \
    }                                                                                     \
    static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
