#include "transport/mcp_headers.hpp"

#include <algorithm>
#include <cctype>

#include "mcp/envelope.hpp"
#include "mcp/protocol_version.hpp"

namespace transport {

using nlohmann::json;

namespace {

std::string lower_trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

// The media type of a header value without its parameters ("application/json; charset=utf-8").
std::string media_type(std::string_view value) { return lower_trimmed(value.substr(0, value.find(';'))); }

std::optional<std::string> base64_decode(std::string_view text) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  unsigned int buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const auto index = kAlphabet.find(c);
    if (index == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6U) | static_cast<unsigned int>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> static_cast<unsigned int>(bits)) & 0xFFU));
    }
  }
  return out;
}

Rejection mismatch(json id, std::string message) {
  return Rejection{400,
                   mcp::RpcError{mcp::error_code::header_mismatch, "Header mismatch: " + std::move(message), nullptr},
                   std::move(id)};
}

// The body field Mcp-Name mirrors for `method`, or "" for methods without one.
std::string_view named_field(std::string_view method) {
  if (method == "tools/call" || method == "prompts/get") return "name";
  if (method == "resources/read") return "uri";
  return "";
}

bool element_claims_envelope(const json& element) {
  return element.is_object() && element.contains("params") && mcp::has_envelope_claim(element["params"]);
}

}  // namespace

Acceptable parse_accept(std::string_view accept) {
  if (lower_trimmed(accept).empty()) return Acceptable{};
  Acceptable result{false, false};
  std::size_t start = 0;
  while (start <= accept.size()) {
    const auto end = std::min(accept.find(',', start), accept.size());
    const std::string type = media_type(accept.substr(start, end - start));
    result.json = result.json || type == "application/json" || type == "application/*" || type == "*/*";
    result.sse = result.sse || type == "text/event-stream" || type == "text/*" || type == "*/*";
    start = end + 1;
  }
  return result;
}

bool is_json_content_type(std::string_view content_type) { return media_type(content_type) == "application/json"; }

std::optional<std::string> decode_mcp_header_value(std::string_view value) {
  const bool valid =
      std::all_of(value.begin(), value.end(), [](unsigned char c) { return c == '\t' || (c >= 0x20 && c < 0x7F); });
  if (!valid) return std::nullopt;
  constexpr std::string_view kPrefix = "=?base64?";
  constexpr std::string_view kSuffix = "?=";
  if (value.size() >= kPrefix.size() + kSuffix.size() && value.substr(0, kPrefix.size()) == kPrefix &&
      value.substr(value.size() - kSuffix.size()) == kSuffix) {
    return base64_decode(value.substr(kPrefix.size(), value.size() - kPrefix.size() - kSuffix.size()));
  }
  return std::string(value);
}

std::variant<Era, Rejection> route_post(const McpHeaders& headers, const json& body) {
  if (body.is_array()) {
    // Stateless requests are single POSTs; a batch is session traffic or nothing.
    if (std::any_of(body.begin(), body.end(), element_claims_envelope)) {
      return Rejection{
          400,
          mcp::RpcError{mcp::error_code::invalid_request,
                        "Invalid Request: a JSON-RPC batch may not hold protocol revision 2026-07-28 requests",
                        nullptr},
          nullptr};
    }
    return Era::session;
  }
  if (!body.is_object() || !body.contains("method") || !body["method"].is_string()) {
    return Era::session;  // responses and malformed messages: the session path answers those
  }
  const std::string method = body["method"].get<std::string>();
  const json params = body.value("params", json());
  const json id = body.contains("id") && mcp::is_request_id(body["id"]) ? body["id"] : json();
  const bool is_request = body.contains("id");
  const bool header_stateless = headers.protocol_version && mcp::is_stateless_era(*headers.protocol_version);
  const bool claim = mcp::has_envelope_claim(params);

  if (method == "initialize") {
    const auto claimed = mcp::claimed_version(params);
    if (claimed && mcp::is_stateless_era(*claimed)) return Era::stateless;  // answered there: no such method
    if (header_stateless) {
      return mismatch(id, "an initialize request (the session handshake) came with MCP-Protocol-Version " +
                              *headers.protocol_version);
    }
    return Era::session;
  }
  if (claim) return Era::stateless;
  if (header_stateless) {
    if (!is_request) return Era::stateless;  // notifications carry no envelope; the header decides
    return Rejection{400,
                     mcp::RpcError{mcp::error_code::invalid_params,
                                   "Invalid params: MCP-Protocol-Version " + *headers.protocol_version +
                                       " needs params._meta with \"" + std::string(mcp::meta_key::protocol_version) +
                                       "\" and \"" + std::string(mcp::meta_key::client_capabilities) + "\"",
                                   nullptr},
                     id};
  }
  return Era::session;
}

std::optional<Rejection> check_stateless_headers(const McpHeaders& headers, const mcp::Request& request,
                                                 std::string_view claimed_version) {
  if (!headers.protocol_version) {
    return mismatch(request.id, "the MCP-Protocol-Version header is required");
  }
  if (*headers.protocol_version != claimed_version) {
    return mismatch(request.id, "MCP-Protocol-Version " + *headers.protocol_version + " but the body's _meta names " +
                                    std::string(claimed_version));
  }
  if (!headers.method) {
    return mismatch(request.id, "the Mcp-Method header is required");
  }
  if (*headers.method != request.method) {
    return mismatch(request.id, "Mcp-Method " + *headers.method + " but the body's method is " + request.method);
  }
  const std::string_view field = named_field(request.method);
  if (field.empty()) return std::nullopt;
  const json body_value = request.params.is_object() ? request.params.value(std::string(field), json()) : json();
  if (!headers.name) {
    return mismatch(request.id, "the Mcp-Name header is required for " + request.method);
  }
  const auto decoded = decode_mcp_header_value(*headers.name);
  if (!decoded) {
    return mismatch(request.id, "the Mcp-Name header is not a valid header value");
  }
  if (!body_value.is_string() || body_value.get<std::string>() != *decoded) {
    return mismatch(request.id, "Mcp-Name '" + *decoded + "' does not match params." + std::string(field));
  }
  return std::nullopt;
}

}  // namespace transport
