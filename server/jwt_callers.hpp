// A verified JWT as a caller: its user, read and write scopes, admin for --jwt-admin-group, the tenant
// of a group named --jwt-tenant-prefix<tenant>.
#pragma once

#include <vector>

#include "auth.hpp"
#include "jwt.hpp"
#include "options.hpp"

namespace pgrag::server {

// The caller of an identity the verifier accepted.
Caller caller_of_token(const Identity& identity, const Options& o);

// A JwtCheck over verifier (which must outlive it).
JwtCheck jwt_caller_check(JwtVerifier& verifier, const Options& o);

}  // namespace pgrag::server
