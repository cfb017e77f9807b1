// Who is calling: the identity and scopes a request was authenticated with (an API key, a JWT, or the
// anonymous local caller of --auth none), and what its queries run as in Postgres.
#pragma once

#include <optional>
#include <string>

#include "pool.hpp"

namespace pgrag::server {

// What a caller may do: read (search, chat, own sessions), write (upload and delete own documents),
// admin (shared documents, keys, everyone's usage).
enum Scope : unsigned { kScopeRead = 1, kScopeWrite = 2, kScopeAdmin = 4 };
constexpr unsigned kAllScopes = kScopeRead | kScopeWrite | kScopeAdmin;

const char* scope_name(Scope s);
// Scopes from Postgres's text[] output ("{read,write}") or a comma-separated list; unknown names are ignored.
unsigned parse_scopes(const std::string& text);
// "read, write" (for messages).
std::string scopes_text(unsigned scopes);

struct Caller {
    std::string user_id;    // "" for the anonymous local caller
    std::string tenant_id;  // "" for none
    unsigned scopes = 0;
    std::optional<long long> key_id;  // the API key it signed in with
    bool authenticated = false;       // false: --auth none and no credentials

    bool has(Scope s) const { return (scopes & s) != 0; }
    bool admin() const { return has(kScopeAdmin); }
    // What its leases set. The anonymous local caller (--auth none) sets nothing: the server's own role is
    // the user then, with that role's rights (a superuser is an admin).
    DbIdentity db() const { return authenticated ? DbIdentity{user_id, tenant_id, admin()} : DbIdentity::anonymous(); }
    // The key rate limits and stream counts are kept under (one per user of a tenant).
    std::string limit_key() const { return tenant_id + '\x1f' + user_id; }

    static Caller local_anonymous() {
        Caller c;
        c.scopes = kAllScopes;
        return c;
    }
};

}  // namespace pgrag::server
