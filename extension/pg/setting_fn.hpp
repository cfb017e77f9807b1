// Reading pg_rag.* settings by name, for SQL (rag_setting) and for the answer cache key.
#pragma once

#include <map>
#include <string>

namespace pgrag::pg {

// Every pg_rag.* setting a user can see, except secrets (superuser-only), name -> current value.
std::map<std::string, std::string> visible_settings();

}  // namespace pgrag::pg
