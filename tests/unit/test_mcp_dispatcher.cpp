#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <unistd.h>

#include <cstdio>

#include "mcp/dispatcher.hpp"
#include "mcp/session_messages.hpp"

using mcp::json;

namespace {

using namespace std::chrono_literals;

// A dispatcher over a registry of fake tools, recording the notifications it sends.
struct Harness {
  Harness() {
    tools.add(
        {"echo", "Echo", "Echoes", json{{"type", "object"}}, json{{"type", "object"}}, json{{"readOnlyHint", true}}},
        [](const json& arguments, mcp::ToolContext& context) -> core::Result<json> {
          context.progress(1, 2, "half");
          context.log("debug", "quiet");
          context.log("warning", "loud");
          context.progress(2, 2, "");
          return json{{"content", json::array({json{{"type", "text"}, {"text", arguments.value("text", "")}}})},
                      {"structuredContent", json{{"text", arguments.value("text", "")}}}};
        });
    tools.add({"broken", "", "", json{{"type", "object"}}, nullptr, nullptr},
              [](const json&, mcp::ToolContext&) -> core::Result<json> {
                return core::fail(core::ErrorKind::unavailable, "the engine is not reachable");
              });
    tools.add({"picky", "", "", json{{"type", "object"}}, nullptr, nullptr},
              [](const json&, mcp::ToolContext&) -> core::Result<json> {
                return core::fail(core::ErrorKind::invalid_argument, "language must be one of python, bash");
              });
    tools.add({"throws", "", "", json{{"type", "object"}}, nullptr, nullptr},
              [](const json&, mcp::ToolContext&) -> core::Result<json> { throw std::runtime_error("secret detail"); });
    tools.add({"scalar", "", "", json{{"type", "object"}}, nullptr, nullptr},
              [](const json&, mcp::ToolContext&) -> core::Result<json> { return json(42); });
  }

  json session_call(mcp::Session& session, const json& id, const std::string& method, json params = nullptr) {
    return mcp::answer_in_session(dispatcher, session, mcp::Request{id, method, std::move(params)}, notify).message;
  }

  json stateless_call(const std::string& method, json params = json::object(),
                      std::optional<mcp::LogLevel> level = std::nullopt) {
    mcp::RequestEnvelope envelope{"2026-07-28", nullptr, json::object(), level};
    return dispatcher.answer(mcp::Request{1, method, std::move(params)},
                             mcp::Dispatcher::stateless_context(envelope, {}, notify));
  }

  std::vector<json> sent_methods(const std::string& method) {
    const std::scoped_lock lock(mutex);
    std::vector<json> found;
    for (const auto& message : sent) {
      if (message["method"] == method) found.push_back(message);
    }
    return found;
  }

  mcp::ToolRegistry tools;
  mcp::Dispatcher dispatcher{tools, mcp::ServerInfo{"mcp-sandbox", "9.9.9", ""}};
  std::mutex mutex;
  std::vector<json> sent;
  mcp::Outbound notify = [this](const json& message) {
    const std::scoped_lock lock(mutex);
    sent.push_back(message);
  };
};

std::unique_ptr<mcp::Session> initialized_session(Harness& harness, const std::string& version) {
  auto session = std::make_unique<mcp::Session>("sess-" + version);
  harness.session_call(*session, 0, "initialize",
                       json{{"protocolVersion", version},
                            {"capabilities", json::object()},
                            {"clientInfo", json{{"name", "test"}, {"version", "1"}}}});
  return session;
}

int error_code_of(const json& response) { return response.at("error").at("code").get<int>(); }

}  // namespace

TEST_CASE("initialize echoes each supported session version and otherwise offers the latest") {
  Harness harness;
  const auto [requested, negotiated] = GENERATE(table<const char*, const char*>({
      {"2024-11-05", "2024-11-05"},
      {"2025-03-26", "2025-03-26"},
      {"2025-06-18", "2025-06-18"},
      {"2025-11-25", "2025-11-25"},
      {"2026-07-28", "2025-11-25"},
      {"1999-12-31", "2025-11-25"},
  }));
  CAPTURE(requested);
  mcp::Session session("s1");
  const json response = harness.session_call(session, "init", "initialize",
                                             json{{"protocolVersion", requested},
                                                  {"capabilities", json::object()},
                                                  {"clientInfo", json{{"name", "c"}, {"version", "1"}}}});
  REQUIRE(response.contains("result"));
  CHECK(response["id"] == "init");
  CHECK(response["result"]["protocolVersion"] == negotiated);
  CHECK(response["result"]["serverInfo"] == json{{"name", "mcp-sandbox"}, {"version", "9.9.9"}});
  CHECK(response["result"]["capabilities"]["tools"]["listChanged"] == false);
  CHECK(response["result"]["capabilities"].contains("logging"));
  CHECK_FALSE(response["result"].contains("resultType"));
  CHECK(session.protocol_version() == negotiated);
  CHECK(session.client_name() == "c");
}

TEST_CASE("initialize without a protocol version is invalid params") {
  Harness harness;
  mcp::Session session("s1");
  CHECK(error_code_of(harness.session_call(session, 1, "initialize", json::object())) == -32602);
  CHECK_FALSE(session.negotiated());
}

TEST_CASE("methods exist only in the revisions that define them") {
  Harness harness;
  const auto [version, method, code] = GENERATE(table<const char*, const char*, int>({
      {"2025-06-18", "server/discover", -32601},
      {"2025-06-18", "subscriptions/listen", -32601},
      {"2025-06-18", "completion/complete", -32601},
      {"2025-06-18", "resources/list", -32601},
      {"2025-06-18", "resources/read", -32601},
      {"2025-06-18", "prompts/list", -32601},
      {"2025-06-18", "prompts/get", -32601},
      {"2025-06-18", "ping", 0},
      {"2024-11-05", "logging/setLevel", -32602},  // exists: fails only on its missing level
      {"2026-07-28", "ping", -32601},
      {"2026-07-28", "logging/setLevel", -32601},
      {"2026-07-28", "initialize", -32601},
      {"2026-07-28", "resources/list", -32601},
      {"2026-07-28", "server/discover", 0},
  }));
  CAPTURE(version, method);
  json response;
  if (std::string(version) == "2026-07-28") {
    response = harness.stateless_call(method);
  } else {
    const auto session_owner = initialized_session(harness, version);
    mcp::Session& session = *session_owner;
    response = harness.session_call(session, 2, method, json::object());
  }
  if (code == 0) {
    CHECK(response.contains("result"));
  } else {
    CHECK(error_code_of(response) == code);
  }
}

TEST_CASE("tools/list shows each revision only the tool fields it defines") {
  Harness harness;
  const auto old_session_owner = initialized_session(harness, "2024-11-05");
  mcp::Session& old_session = *old_session_owner;
  const json old_tool = harness.session_call(old_session, 1, "tools/list")["result"]["tools"][0];
  CHECK(old_tool["name"] == "echo");
  CHECK(old_tool["inputSchema"]["type"] == "object");
  CHECK_FALSE(old_tool.contains("annotations"));
  CHECK_FALSE(old_tool.contains("outputSchema"));
  CHECK_FALSE(old_tool.contains("title"));

  const auto march_owner = initialized_session(harness, "2025-03-26");
  mcp::Session& march = *march_owner;
  const json march_tool = harness.session_call(march, 1, "tools/list")["result"]["tools"][0];
  CHECK(march_tool["annotations"]["readOnlyHint"] == true);
  CHECK_FALSE(march_tool.contains("outputSchema"));

  const auto june_owner = initialized_session(harness, "2025-06-18");
  mcp::Session& june = *june_owner;
  const json june_result = harness.session_call(june, 1, "tools/list")["result"];
  CHECK(june_result["tools"][0]["title"] == "Echo");
  CHECK(june_result["tools"][0]["outputSchema"]["type"] == "object");
  CHECK(june_result["tools"].size() == harness.tools.definitions().size());
  CHECK_FALSE(june_result.contains("ttlMs"));

  const json stateless = harness.stateless_call("tools/list")["result"];
  CHECK(stateless["resultType"] == "complete");
  CHECK(stateless["ttlMs"].is_number_integer());
  CHECK(stateless["cacheScope"] == "public");
  CHECK(stateless["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcp-sandbox");
}

TEST_CASE("tools/list refuses a cursor it never handed out") {
  Harness harness;
  const auto session_owner = initialized_session(harness, "2025-06-18");
  mcp::Session& session = *session_owner;
  CHECK(error_code_of(harness.session_call(session, 1, "tools/list", json{{"cursor", "abc"}})) == -32602);
}

TEST_CASE("tools/call maps tool outcomes to results and errors") {
  Harness harness;
  const auto session_owner = initialized_session(harness, "2025-06-18");
  mcp::Session& session = *session_owner;
  const auto call = [&](const std::string& name, json arguments = json::object()) {
    return harness.session_call(session, "c", "tools/call", json{{"name", name}, {"arguments", std::move(arguments)}});
  };

  const json ok = call("echo", json{{"text", "hi"}});
  CHECK(ok["result"]["content"][0]["text"] == "hi");
  CHECK(ok["result"]["structuredContent"]["text"] == "hi");
  CHECK_FALSE(ok["result"].value("isError", false));

  CHECK(error_code_of(call("no-such-tool")) == -32602);
  // Arguments a tool refuses are the model's to correct: a tool result, not -32602 (MCP 2025-11-25).
  const json picky = call("picky");
  CHECK(picky["result"]["isError"] == true);
  CHECK(picky["result"]["content"][0]["text"] == "language must be one of python, bash");

  const json failed = call("broken");
  CHECK(failed["result"]["isError"] == true);
  CHECK(failed["result"]["content"][0]["text"] == "the engine is not reachable");

  const json thrown = call("throws");
  CHECK(error_code_of(thrown) == -32603);
  CHECK(thrown["error"]["message"] == "Internal error");  // the detail only goes to the log
  CHECK(error_code_of(call("scalar")) == -32603);

  CHECK(error_code_of(harness.session_call(session, 1, "tools/call", json{{"arguments", json::object()}})) == -32602);
  CHECK(error_code_of(harness.session_call(session, 1, "tools/call", json{{"name", "echo"}, {"arguments", 5}})) ==
        -32602);
  CHECK(error_code_of(harness.session_call(session, 1, "tools/call", json::array({"echo"}))) == -32602);
}

TEST_CASE("structuredContent is dropped for revisions before 2025-06-18") {
  Harness harness;
  const auto session_owner = initialized_session(harness, "2025-03-26");
  mcp::Session& session = *session_owner;
  const json result = harness.session_call(session, 1, "tools/call",
                                           json{{"name", "echo"}, {"arguments", json{{"text", "x"}}}})["result"];
  CHECK_FALSE(result.contains("structuredContent"));
  CHECK(result["content"][0]["text"] == "x");
}

TEST_CASE("stateless results carry resultType and the server's identity") {
  Harness harness;
  const json result = harness.stateless_call("tools/call", json{{"name", "broken"}})["result"];
  CHECK(result["resultType"] == "complete");
  CHECK(result["isError"] == true);
  CHECK(result["_meta"]["io.modelcontextprotocol/serverInfo"]["version"] == "9.9.9");
}

TEST_CASE("server/discover lists the stateless versions, capabilities and identity") {
  Harness harness;
  const json result = harness.stateless_call("server/discover")["result"];
  CHECK(result["supportedVersions"] == json::array({"2026-07-28"}));
  CHECK(result["capabilities"]["tools"]["listChanged"] == false);
  CHECK(result["resultType"] == "complete");
  CHECK(result["ttlMs"].is_number_integer());
  CHECK((result["cacheScope"] == "public" || result["cacheScope"] == "private"));
  CHECK(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcp-sandbox");
}

TEST_CASE("progress notifications are sent only when the request has a progress token") {
  Harness harness;
  const auto session_owner = initialized_session(harness, "2025-06-18");
  mcp::Session& session = *session_owner;
  harness.session_call(session, 1, "tools/call", json{{"name", "echo"}});
  CHECK(harness.sent_methods("notifications/progress").empty());

  harness.session_call(session, 2, "tools/call", json{{"name", "echo"}, {"_meta", json{{"progressToken", "tok"}}}});
  const auto progress = harness.sent_methods("notifications/progress");
  REQUIRE(progress.size() == 2);
  CHECK(progress[0]["params"]["progressToken"] == "tok");
  CHECK(progress[0]["params"]["progress"] == 1);
  CHECK(progress[0]["params"]["total"] == 2);
  CHECK(progress[0]["params"]["message"] == "half");
  CHECK_FALSE(progress[1]["params"].contains("message"));
}

TEST_CASE("progress messages are left out for 2024-11-05, which has no such field") {
  Harness harness;
  const auto session_owner = initialized_session(harness, "2024-11-05");
  mcp::Session& session = *session_owner;
  harness.session_call(session, 1, "tools/call", json{{"name", "echo"}, {"_meta", json{{"progressToken", 9}}}});
  const auto progress = harness.sent_methods("notifications/progress");
  REQUIRE_FALSE(progress.empty());
  CHECK_FALSE(progress[0]["params"].contains("message"));
}

TEST_CASE("log notifications follow the session's logging level") {
  Harness harness;
  const auto session_owner = initialized_session(harness, "2025-11-25");
  mcp::Session& session = *session_owner;
  harness.session_call(session, 1, "tools/call", json{{"name", "echo"}});
  CHECK(harness.sent_methods("notifications/message").empty());  // nothing before logging/setLevel

  CHECK(harness.session_call(session, 2, "logging/setLevel", json{{"level", "info"}}).contains("result"));
  CHECK(session.log_level() == mcp::LogLevel::info);
  harness.session_call(session, 3, "tools/call", json{{"name", "echo"}});
  const auto logs = harness.sent_methods("notifications/message");
  REQUIRE(logs.size() == 1);  // "debug" is below "info"
  CHECK(logs[0]["params"]["level"] == "warning");
  CHECK(logs[0]["params"]["data"] == "loud");
  CHECK(logs[0]["params"]["logger"] == "echo");

  CHECK(error_code_of(harness.session_call(session, 4, "logging/setLevel", json{{"level", "verbose"}})) == -32602);
}

TEST_CASE("stateless requests get log notifications only with a _meta logLevel") {
  Harness harness;
  harness.stateless_call("tools/call", json{{"name", "echo"}});
  CHECK(harness.sent_methods("notifications/message").empty());
  harness.stateless_call("tools/call", json{{"name", "echo"}}, mcp::LogLevel::debug);
  CHECK(harness.sent_methods("notifications/message").size() == 2);
}

TEST_CASE("notifications/cancelled stops the running call through its stop token") {
  Harness harness;
  std::promise<void> started;
  std::promise<bool> saw_stop;
  harness.tools.add({"block", "", "", json{{"type", "object"}}, nullptr, nullptr},
                    [&](const json&, mcp::ToolContext& context) -> core::Result<json> {
                      std::mutex mutex;
                      std::condition_variable_any woken;
                      std::unique_lock lock(mutex);
                      started.set_value();
                      const bool stopped = woken.wait_for(lock, context.cancelled, 10s, [] { return false; }) ||
                                           context.cancelled.stop_requested();
                      saw_stop.set_value(stopped);
                      return json{{"content", json::array()}};
                    });
  const auto session_owner = initialized_session(harness, "2025-06-18");
  mcp::Session& session = *session_owner;
  auto reply = std::async(std::launch::async, [&] {
    return mcp::answer_in_session(harness.dispatcher, session,
                                  mcp::Request{"call-1", "tools/call", json{{"name", "block"}}}, harness.notify);
  });
  REQUIRE(started.get_future().wait_for(10s) == std::future_status::ready);
  harness.dispatcher.apply(
      mcp::Notification{"notifications/cancelled", json{{"requestId", "call-1"}, {"reason", "user"}}}, &session);
  CHECK(saw_stop.get_future().get());
  const auto answered = reply.get();
  CHECK(answered.cancelled);
  CHECK(answered.message["id"] == "call-1");
}

TEST_CASE("subscriptions/listen acknowledges, then ends when its stream stops") {
  Harness harness;
  std::stop_source stop;
  mcp::RequestEnvelope envelope{"2026-07-28", nullptr, json::object(), std::nullopt};
  auto reply = std::async(std::launch::async, [&] {
    return harness.dispatcher.answer(
        mcp::Request{"listen-1", "subscriptions/listen", json{{"notifications", json{{"toolsListChanged", true}}}}},
        mcp::Dispatcher::stateless_context(envelope, stop.get_token(), harness.notify));
  });
  CHECK(reply.wait_for(50ms) == std::future_status::timeout);  // it holds the stream open
  stop.request_stop();
  const json result = reply.get()["result"];
  CHECK(result["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen-1");
  const auto acknowledged = harness.sent_methods("notifications/subscriptions/acknowledged");
  REQUIRE(acknowledged.size() == 1);
  CHECK(acknowledged[0]["params"]["notifications"] == json::object());  // no change notifications on offer
  CHECK(error_code_of(harness.stateless_call("subscriptions/listen", json::object())) == -32602);
}

TEST_CASE("the log line of a request escapes what the caller sent, so no request can forge a line") {
  Harness harness;
  // The logger writes to stderr in the server (stdout by default, here) and flushes each line:
  // catch what is written to both.
  std::FILE* captured = std::tmpfile();
  REQUIRE(captured != nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  const int saved_out = ::dup(STDOUT_FILENO);
  const int saved_err = ::dup(STDERR_FILENO);
  REQUIRE(::dup2(::fileno(captured), STDOUT_FILENO) >= 0);
  REQUIRE(::dup2(::fileno(captured), STDERR_FILENO) >= 0);
  harness.stateless_call("tools/list\n[info] mcp tools/call tool=run_code status=ok\x1b[2J");
  harness.stateless_call("tools/call", json{{"name", "echo\r\n\u202e"}, {"arguments", json::object()}});
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(saved_out, STDOUT_FILENO);
  ::dup2(saved_err, STDERR_FILENO);
  ::close(saved_out);
  ::close(saved_err);
  std::string text;
  std::rewind(captured);
  for (int c = std::fgetc(captured); c != EOF; c = std::fgetc(captured)) text.push_back(static_cast<char>(c));
  std::fclose(captured);

  CAPTURE(text);
  // Two requests, two lines: the newlines the caller sent did not start lines of their own.
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  CHECK(text.find("mcp tools/list\\x0a[info] mcp tools/call tool=run_code status=ok\\x1b[2J tool=-") !=
        std::string::npos);
  CHECK(text.find("tool=echo\\x0d\\x0a\\xe2\\x80\\xae session=") != std::string::npos);
  CHECK(text.find("\x1b[2J") == std::string::npos);
}

TEST_CASE("a tool sees who calls: the stateless request's caller, else the session's") {
  Harness harness;
  std::string seen;
  harness.tools.add({"whoami", "", "", json{{"type", "object"}}, nullptr, nullptr},
                    [&](const json&, mcp::ToolContext& context) -> core::Result<json> {
                      seen = context.caller;
                      return json{{"content", json::array()}};
                    });
  mcp::RequestEnvelope envelope{"2026-07-28", nullptr, json::object(), std::nullopt};
  auto context = mcp::Dispatcher::stateless_context(envelope, {}, harness.notify);
  context.caller = "token:0123456789abcdef";
  (void)harness.dispatcher.answer(mcp::Request{1, "tools/call", json{{"name", "whoami"}}}, context);
  CHECK(seen == "token:0123456789abcdef");

  const auto session = initialized_session(harness, "2025-06-18");
  session->set_caller("oauth:grant-1");
  (void)harness.session_call(*session, 2, "tools/call", json{{"name", "whoami"}});
  CHECK(seen == "oauth:grant-1");

  const auto anonymous = initialized_session(harness, "2025-06-18");
  (void)harness.session_call(*anonymous, 3, "tools/call", json{{"name", "whoami"}});
  CHECK(seen.empty());
}
