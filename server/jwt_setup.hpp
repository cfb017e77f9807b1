// The JWT verifier as the options configure it, and --jwt-check.
#pragma once

#include <iosfwd>
#include <memory>

#include "jwt.hpp"
#include "options.hpp"

namespace pgrag::server {

// nullptr when no JWT option is set; throws std::runtime_error when the JWKS cannot be loaded.
std::unique_ptr<JwtVerifier> make_jwt_verifier(const Options& o);

// --jwt-check: reads one token from in (surrounding whitespace ignored), writes the identity as JSON to
// out, or the reason to err. Returns the exit status: 0 accepted, 1 refused.
int check_token(JwtVerifier& verifier, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace pgrag::server
