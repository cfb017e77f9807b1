// Tokens to callers.
#include "jwt_callers.hpp"

namespace pgrag::server {

Caller caller_of_token(const Identity& identity, const Options& o) {
    Caller c;
    c.user_id = identity.user_id;
    c.scopes = kScopeRead | kScopeWrite;
    c.authenticated = true;
    for (const auto& group : identity.groups) {
        if (!o.jwt_admin_group.empty() && group == o.jwt_admin_group) c.scopes |= kScopeAdmin;
        if (!o.jwt_tenant_prefix.empty() && group.size() > o.jwt_tenant_prefix.size() &&
            group.compare(0, o.jwt_tenant_prefix.size(), o.jwt_tenant_prefix) == 0)
            c.tenant_id = group.substr(o.jwt_tenant_prefix.size());
    }
    return c;
}

JwtCheck jwt_caller_check(JwtVerifier& verifier, const Options& o) {
    return [&verifier, o](const std::string& token, std::string& why) -> std::optional<Caller> {
        auto identity = verifier.verify(token, why);
        if (!identity) return std::nullopt;
        return caller_of_token(*identity, o);
    };
}

}  // namespace pgrag::server
