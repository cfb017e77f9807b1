// Reading request bodies and query strings: malformed JSON, wrong types and out-of-range values are
// 400 errors that name the field.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace pgrag::server {

// Deepest nesting of objects and arrays a request may have (the parser is iterative, but nothing we
// accept is deeper than this).
constexpr int kMaxJsonDepth = 64;

// The body as a JSON object; 400 for anything else.
nlohmann::json parse_json_object(const std::string& body);

// Optional fields: absent or null read as std::nullopt; another type is a 400 naming the field.
std::optional<std::string> opt_string(const nlohmann::json& obj, const char* field);
std::optional<long> opt_int(const nlohmann::json& obj, const char* field, long min, long max);
std::optional<bool> opt_bool(const nlohmann::json& obj, const char* field);
std::optional<double> opt_number(const nlohmann::json& obj, const char* field, double min, double max);
// An object field (filter, metadata) as JSON text.
std::optional<std::string> opt_object_text(const nlohmann::json& obj, const char* field);

// A required, non-blank string field.
std::string required_text(const nlohmann::json& obj, const char* field);

// Query-string parameters.
std::optional<long> query_int(const httplib::Request& req, const char* name, long min, long max);
std::optional<std::string> query_string(const httplib::Request& req, const char* name);

// Refuses fields other than the allowed ones (a typo such as "sesion_id" must not be ignored).
void only_fields(const nlohmann::json& obj, std::initializer_list<const char*> allowed);

}  // namespace pgrag::server
