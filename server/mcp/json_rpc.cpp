#include "mcp/json_rpc.hpp"

#include <utility>

namespace mcp {

namespace {

// nlohmann parses iteratively, but dump() and the tools that walk arguments recurse: a body of a
// million '[' must not reach them. Counting brackets outside strings is enough to bound that.
bool nested_deeper_than(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

InvalidMessage invalid(json id, std::string message) {
  return InvalidMessage{std::move(id), RpcError{error_code::invalid_request, std::move(message), nullptr}};
}

}  // namespace

bool is_request_id(const json& value) { return value.is_string() || value.is_number(); }

Message parse_message(const json& value) {
  if (!value.is_object()) {
    return invalid(nullptr, "Invalid Request: a message must be a JSON object");
  }
  // The id is echoed on errors whenever it is usable, so a client can match the error to its call.
  const auto id_it = value.find("id");
  const bool has_id = id_it != value.end();
  json usable_id = has_id && is_request_id(*id_it) ? *id_it : json(nullptr);

  const auto version = value.find("jsonrpc");
  if (version == value.end() || *version != "2.0") {
    return invalid(std::move(usable_id), "Invalid Request: \"jsonrpc\" must be \"2.0\"");
  }
  const auto method = value.find("method");
  if (method == value.end()) {
    if (has_id && (value.contains("result") || value.contains("error")) && is_request_id(*id_it)) {
      return ClientResponse{*id_it};
    }
    return invalid(std::move(usable_id), "Invalid Request: \"method\" is missing");
  }
  if (!method->is_string()) {
    return invalid(std::move(usable_id), "Invalid Request: \"method\" must be a string");
  }
  json params = nullptr;
  if (const auto it = value.find("params"); it != value.end()) {
    if (!it->is_object() && !it->is_array()) {
      return invalid(std::move(usable_id), "Invalid Request: \"params\" must be an object or an array");
    }
    params = *it;
  }
  if (!has_id) {
    return Notification{method->get<std::string>(), std::move(params)};
  }
  if (!is_request_id(*id_it)) {
    return invalid(nullptr, "Invalid Request: \"id\" must be a string or a number");
  }
  return Request{*id_it, method->get<std::string>(), std::move(params)};
}

tl::expected<json, RpcError> decode(std::string_view text, std::size_t max_depth) {
  if (nested_deeper_than(text, max_depth)) {
    return tl::unexpected(RpcError{error_code::parse_error, "Parse error: JSON nested too deeply", nullptr});
  }
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return tl::unexpected(RpcError{error_code::parse_error, "Parse error: the body is not valid JSON", nullptr});
  }
  return value;
}

std::string encode(const json& message) { return message.dump(-1, ' ', false, json::error_handler_t::replace); }

json result_response(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json error_response(const json& id, const RpcError& error) {
  json body{{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) {
    body["data"] = error.data;
  }
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(body)}};
}

json make_notification(std::string_view method, json params) {
  json message{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) {
    message["params"] = std::move(params);
  }
  return message;
}

bool is_error_response(const json& response, int code) {
  const auto error = response.find("error");
  if (error == response.end() || !error->is_object()) return false;
  return code == 0 || error->value("code", 0) == code;
}

}  // namespace mcp
