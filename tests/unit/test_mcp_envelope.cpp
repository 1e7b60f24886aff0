#include <catch2/catch.hpp>

#include "mcp/envelope.hpp"

using mcp::json;

namespace {

json params_with(json meta) { return json{{"_meta", std::move(meta)}}; }

json good_meta() {
  return json{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
              {"io.modelcontextprotocol/clientCapabilities", json::object()},
              {"io.modelcontextprotocol/clientInfo", json{{"name", "c"}, {"version", "1"}}}};
}

}  // namespace

TEST_CASE("a complete per-request envelope is read") {
  json meta = good_meta();
  meta["io.modelcontextprotocol/logLevel"] = "warning";
  const auto envelope = mcp::read_envelope(params_with(meta));
  REQUIRE(envelope);
  CHECK(envelope->protocol_version == "2026-07-28");
  CHECK(envelope->client_info["name"] == "c");
  CHECK(envelope->client_capabilities == json::object());
  CHECK(envelope->log_level == mcp::LogLevel::warning);
}

TEST_CASE("clientInfo and logLevel are optional") {
  json meta = good_meta();
  meta.erase("io.modelcontextprotocol/clientInfo");
  const auto envelope = mcp::read_envelope(params_with(meta));
  REQUIRE(envelope);
  CHECK(envelope->client_info.is_null());
  CHECK_FALSE(envelope->log_level);
}

TEST_CASE("missing or malformed envelope fields are invalid params") {
  const auto [mutate, why] = GENERATE(table<int, const char*>({
      {0, "no _meta"},
      {1, "no protocolVersion"},
      {2, "protocolVersion not a string"},
      {3, "no clientCapabilities"},
      {4, "clientCapabilities not an object"},
      {5, "clientInfo without version"},
      {6, "unknown log level"},
  }));
  CAPTURE(why);
  json meta = good_meta();
  json params = params_with(meta);
  switch (mutate) {
    case 0: params = json::object(); break;
    case 1: params["_meta"].erase("io.modelcontextprotocol/protocolVersion"); break;
    case 2: params["_meta"]["io.modelcontextprotocol/protocolVersion"] = 20260728; break;
    case 3: params["_meta"].erase("io.modelcontextprotocol/clientCapabilities"); break;
    case 4: params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = "all"; break;
    case 5: params["_meta"]["io.modelcontextprotocol/clientInfo"] = json{{"name", "c"}}; break;
    default: params["_meta"]["io.modelcontextprotocol/logLevel"] = "loud"; break;
  }
  const auto envelope = mcp::read_envelope(params);
  REQUIRE_FALSE(envelope);
  CHECK(envelope.error().code == mcp::error_code::invalid_params);
}

TEST_CASE("an unsupported version is UnsupportedProtocolVersionError listing the supported ones") {
  for (const char* version : {"1900-01-01", "2027-01-01", "2025-06-18"}) {
    CAPTURE(version);
    json meta = good_meta();
    meta["io.modelcontextprotocol/protocolVersion"] = version;
    const auto envelope = mcp::read_envelope(params_with(meta));
    REQUIRE_FALSE(envelope);
    CHECK(envelope.error().code == -32022);
    CHECK(envelope.error().data["requested"] == version);
    CHECK(envelope.error().data["supported"][0] == "2026-07-28");
  }
}

TEST_CASE("the envelope claim is the protocol-version key, whatever its value") {
  CHECK(mcp::has_envelope_claim(params_with(good_meta())));
  CHECK(mcp::has_envelope_claim(params_with(json{{"io.modelcontextprotocol/protocolVersion", 1}})));
  CHECK_FALSE(mcp::claimed_version(params_with(json{{"io.modelcontextprotocol/protocolVersion", 1}})));
  CHECK_FALSE(mcp::has_envelope_claim(params_with(json{{"progressToken", 1}})));
  CHECK_FALSE(mcp::has_envelope_claim(json::object()));
  CHECK_FALSE(mcp::has_envelope_claim(nullptr));
  CHECK(mcp::claimed_version(params_with(good_meta())) == "2026-07-28");
}

TEST_CASE("a progress token is a string or a number in _meta") {
  CHECK(mcp::progress_token(params_with(json{{"progressToken", 5}})) == 5);
  CHECK(mcp::progress_token(params_with(json{{"progressToken", "p"}})) == "p");
  CHECK(mcp::progress_token(params_with(json{{"progressToken", nullptr}})).is_null());
  CHECK(mcp::progress_token(params_with(json{{"progressToken", json::object()}})).is_null());
  CHECK(mcp::progress_token(json{{"progressToken", 5}}).is_null());
}
