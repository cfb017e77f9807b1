// Input checks for request bodies and query strings.
#include "request_json.hpp"

#include "json_errors.hpp"

namespace pgrag::server {

namespace {
// Nesting depth outside strings, by one linear scan.
bool depth_within(const std::string& s, int limit) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > limit) return false;
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return true;
}
}  // namespace

nlohmann::json parse_json_object(const std::string& body) {
    if (!depth_within(body, kMaxJsonDepth))
        throw bad_request("the request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded()) throw bad_request("the request body is not valid JSON");
    if (!doc.is_object()) throw bad_request("the request body must be a JSON object");
    return doc;
}

std::optional<std::string> opt_string(const nlohmann::json& obj, const char* field) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw bad_request(std::string("\"") + field + "\" must be a string");
    return it->get<std::string>();
}

std::optional<long> opt_int(const nlohmann::json& obj, const char* field, long min, long max) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) throw bad_request(std::string("\"") + field + "\" must be an integer");
    long v = it->get<long>();
    if (v < min || v > max)
        throw bad_request(std::string("\"") + field + "\" must be between " + std::to_string(min) + " and " +
                          std::to_string(max) + ", not " + std::to_string(v));
    return v;
}

std::optional<bool> opt_bool(const nlohmann::json& obj, const char* field) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) throw bad_request(std::string("\"") + field + "\" must be true or false");
    return it->get<bool>();
}

std::optional<double> opt_number(const nlohmann::json& obj, const char* field, double min, double max) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_number()) throw bad_request(std::string("\"") + field + "\" must be a number");
    double v = it->get<double>();
    if (!(v >= min && v <= max))
        throw bad_request(std::string("\"") + field + "\" must be between " + std::to_string(min) + " and " +
                          std::to_string(max));
    return v;
}

std::optional<std::string> opt_object_text(const nlohmann::json& obj, const char* field) {
    auto it = obj.find(field);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    if (!it->is_object()) throw bad_request(std::string("\"") + field + "\" must be a JSON object");
    return it->dump();
}

std::string required_text(const nlohmann::json& obj, const char* field) {
    auto v = opt_string(obj, field);
    if (!v || v->find_first_not_of(" \t\r\n") == std::string::npos)
        throw bad_request(std::string("\"") + field + "\" is required and must not be empty");
    return *v;
}

std::optional<long> query_int(const httplib::Request& req, const char* name, long min, long max) {
    if (!req.has_param(name)) return std::nullopt;
    std::string v = req.get_param_value(name);
    size_t used = 0;
    long n = 0;
    try {
        n = std::stol(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != v.size())
        throw bad_request(std::string("\"") + name + "\" must be an integer, not \"" + v + "\"");
    if (n < min || n > max)
        throw bad_request(std::string("\"") + name + "\" must be between " + std::to_string(min) + " and " +
                          std::to_string(max) + ", not " + v);
    return n;
}

std::optional<std::string> query_string(const httplib::Request& req, const char* name) {
    if (!req.has_param(name)) return std::nullopt;
    return req.get_param_value(name);
}

void only_fields(const nlohmann::json& obj, std::initializer_list<const char*> allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        bool ok = false;
        for (const char* a : allowed) ok = ok || it.key() == a;
        if (!ok) throw bad_request("unknown field \"" + it.key() + "\"");
    }
}

}  // namespace pgrag::server
