// Decodes arbitrary bytes as a JSON-RPC message body and classifies it: must
// never crash, throw, or produce a reply that cannot be encoded.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mcp/json_rpc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = mcp::decode(text);
  if (!decoded) {
    (void)mcp::encode(mcp::error_response(nullptr, decoded.error()));
    return 0;
  }
  const auto message = mcp::parse_message(*decoded);
  if (const auto* invalid = std::get_if<mcp::InvalidMessage>(&message)) {
    (void)mcp::encode(mcp::error_response(invalid->id, invalid->error));
  } else if (const auto* request = std::get_if<mcp::Request>(&message)) {
    (void)mcp::encode(mcp::result_response(request->id, *decoded));
  }
  return 0;
}
