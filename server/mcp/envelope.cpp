#include "mcp/envelope.hpp"

#include "mcp/protocol_version.hpp"

namespace mcp {

namespace {

const json* meta_of(const json& params) {
  if (!params.is_object()) return nullptr;
  const auto meta = params.find("_meta");
  return meta != params.end() && meta->is_object() ? &*meta : nullptr;
}

tl::unexpected<RpcError> invalid(std::string message) {
  return tl::unexpected(RpcError{error_code::invalid_params, "Invalid params: " + std::move(message), nullptr});
}

bool is_implementation(const json& value) {
  return value.is_object() && value.contains("name") && value["name"].is_string() && value.contains("version") &&
         value["version"].is_string();
}

}  // namespace

bool has_envelope_claim(const json& params) {
  const json* meta = meta_of(params);
  return meta != nullptr && meta->contains(meta_key::protocol_version);
}

std::optional<std::string> claimed_version(const json& params) {
  const json* meta = meta_of(params);
  if (meta == nullptr) return std::nullopt;
  const auto version = meta->find(meta_key::protocol_version);
  if (version == meta->end() || !version->is_string()) return std::nullopt;
  return version->get<std::string>();
}

tl::expected<RequestEnvelope, RpcError> read_envelope(const json& params) {
  const json* meta = meta_of(params);
  if (meta == nullptr) {
    return invalid("the request has no params._meta with the per-request protocol fields");
  }
  const auto version = claimed_version(params);
  if (!version) {
    return invalid("_meta[\"" + std::string(meta_key::protocol_version) + "\"] must be a string");
  }
  const Revision* found = find_revision(*version);
  if (found == nullptr || !found->stateless) {
    return tl::unexpected(unsupported_version_error(*version));
  }
  RequestEnvelope envelope;
  envelope.protocol_version = *version;

  const auto capabilities = meta->find(meta_key::client_capabilities);
  if (capabilities == meta->end() || !capabilities->is_object()) {
    return invalid("_meta[\"" + std::string(meta_key::client_capabilities) + "\"] must be an object");
  }
  envelope.client_capabilities = *capabilities;

  if (const auto info = meta->find(meta_key::client_info); info != meta->end()) {
    if (!is_implementation(*info)) {
      return invalid("_meta[\"" + std::string(meta_key::client_info) + "\"] must have a string name and version");
    }
    envelope.client_info = *info;
  }
  if (const auto level = meta->find(meta_key::log_level); level != meta->end()) {
    envelope.log_level = level->is_string() ? parse_log_level(level->get<std::string>()) : std::nullopt;
    if (!envelope.log_level) {
      return invalid("_meta[\"" + std::string(meta_key::log_level) + "\"] is not a log level");
    }
  }
  return envelope;
}

json progress_token(const json& params) {
  const json* meta = meta_of(params);
  if (meta == nullptr) return nullptr;
  const auto token = meta->find("progressToken");
  return token != meta->end() && is_request_id(*token) ? *token : json(nullptr);
}

RpcError unsupported_version_error(std::string_view requested) {
  return RpcError{error_code::unsupported_protocol_version, "Unsupported protocol version",
                  json{{"supported", supported_versions()}, {"requested", requested}}};
}

}  // namespace mcp
