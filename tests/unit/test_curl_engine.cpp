#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/curl_engine.hpp"
#include "support/fake_http_engine.hpp"

using core::ErrorKind;
using docker::Clock;
using docker::connect_engine;
using docker::EngineOptions;
using docker::PumpEnd;
using docker::StreamDemux;
using std::chrono::milliseconds;
using test::FakeHttpEngine;
using test::RawServer;

namespace {

EngineOptions options_for(const std::string& host, milliseconds call_timeout = milliseconds(2000)) {
  EngineOptions options;
  options.host = host;
  options.connect_timeout = milliseconds(1000);
  options.call_timeout = call_timeout;
  return options;
}

std::unique_ptr<docker::Engine> connect(const std::string& host, milliseconds call_timeout = milliseconds(2000)) {
  auto engine = connect_engine(options_for(host, call_timeout));
  INFO((engine ? std::string() : engine.error().message));
  REQUIRE(engine);
  return std::move(*engine);
}

// A handler answering `status` with the engine's error body.
httplib::Server::Handler answer(int status, std::string message) {
  return [status, message](const httplib::Request&, httplib::Response& response) {
    response.status = status;
    response.set_content(nlohmann::json{{"message", message}}.dump(), "application/json");
  };
}

// A raw fake engine session: pings answered as API 1.41, any other request handed to `attach` with its head.
std::function<void(int)> attach_session(std::function<void(int fd, const std::string& head)> attach) {
  return [attach = std::move(attach)](int fd) {
    const std::string head = test::read_request_head(fd);
    if (!test::answer_ping(fd, head)) {
      attach(fd, head);
    }
  };
}

constexpr std::string_view kUpgraded = "HTTP/1.1 101 UPGRADED\r\n\r\n";

std::unique_ptr<docker::Attachment> attach_through(const RawServer& server) {
  auto attachment = connect(server.host())->attach("abc");
  INFO((attachment ? std::string() : attachment.error().message));
  REQUIRE(attachment);
  return std::move(*attachment);
}

milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

}  // namespace

TEST_CASE("curl engine: 404 is not_found carrying the engine's message") {
  FakeHttpEngine fake([](httplib::Server& server) {
    server.Get("/v1.41/images/nope/json", answer(404, "No such image: nope:latest"));
  });
  const auto image = connect(fake.host())->inspect_image("nope");
  REQUIRE_FALSE(image);
  CHECK(image.error().kind == ErrorKind::not_found);
  CHECK(image.error().message == "No such image: nope:latest");
}

TEST_CASE("curl engine: 409 is conflict, 400 invalid_argument, 5xx internal") {
  FakeHttpEngine fake([](httplib::Server& server) {
    server.Post("/v1.41/containers/create", answer(409, "Conflict. The container name \"/run-1\" is already in use"));
    server.Post("/v1.41/containers/bad/start", answer(400, "Unknown runtime specified nosuch"));
    server.Get("/v1.41/info", answer(500, "daemon is broken"));
    server.Get("/v1.41/version", answer(503, ""));
  });
  const auto engine = connect(fake.host());

  docker::ContainerSpec spec;
  spec.image = "img";
  const auto created = engine->create_container(spec);
  REQUIRE_FALSE(created);
  CHECK(created.error().kind == ErrorKind::conflict);
  CHECK_THAT(created.error().message, Catch::StartsWith("Conflict. The container name"));

  const auto started = engine->start_container("bad");
  REQUIRE_FALSE(started);
  CHECK(started.error().kind == ErrorKind::invalid_argument);
  CHECK(started.error().message == "Unknown runtime specified nosuch");

  const auto info = engine->info();
  REQUIRE_FALSE(info);
  CHECK(info.error().kind == ErrorKind::internal);
  CHECK(info.error().message == "daemon is broken");

  const auto version = engine->version();
  REQUIRE_FALSE(version);
  CHECK(version.error().kind == ErrorKind::internal);
  CHECK_THAT(version.error().message, Catch::Contains("503"));
}

TEST_CASE("curl engine: kill of a stopped container and remove of a missing one succeed") {
  FakeHttpEngine fake([](httplib::Server& server) {
    server.Post("/v1.41/containers/stopped/kill",
                answer(409, "Cannot kill container: stopped: Container 9671a988 is not running"));
    server.Post("/v1.41/containers/paused/kill", answer(409, "Container paused is paused, unpause it first"));
    server.Post("/v1.41/containers/gone/kill", answer(404, "Cannot kill container: gone: No such container: gone"));
    server.Delete("/v1.41/containers/gone", answer(404, "No such container: gone"));
    server.Delete("/v1.41/containers/busy", answer(409, "removal of container busy is already in progress"));
    server.Post("/v1.41/containers/running/start", [](const httplib::Request&, httplib::Response& response) {
      response.status = 304;
    });
  });
  const auto engine = connect(fake.host());
  CHECK(engine->kill_container("stopped"));
  CHECK(engine->remove_container("gone"));
  CHECK(engine->start_container("running"));

  const auto paused = engine->kill_container("paused");
  REQUIRE_FALSE(paused);
  CHECK(paused.error().kind == ErrorKind::conflict);
  const auto gone = engine->kill_container("gone");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().kind == ErrorKind::not_found);
  const auto busy = engine->remove_container("busy");
  REQUIRE_FALSE(busy);
  CHECK(busy.error().kind == ErrorKind::conflict);
}

TEST_CASE("curl engine: remove asks for force and volumes, create sends the name and the JSON body") {
  std::mutex mutex;
  std::string remove_query;
  std::string create_name;
  std::string create_body;
  FakeHttpEngine fake([&](httplib::Server& server) {
    server.Delete("/v1.41/containers/abc", [&](const httplib::Request& request, httplib::Response& response) {
      const std::lock_guard lock(mutex);
      remove_query = request.get_param_value("force") + request.get_param_value("v");
      response.status = 204;
    });
    server.Post("/v1.41/containers/create", [&](const httplib::Request& request, httplib::Response& response) {
      const std::lock_guard lock(mutex);
      create_name = request.get_param_value("name");
      create_body = request.body;
      response.status = 201;
      response.set_content(R"({"Id":"new-id","Warnings":[]})", "application/json");
    });
  });
  const auto engine = connect(fake.host());
  CHECK(engine->remove_container("abc"));

  docker::ContainerSpec spec;
  spec.name = "run 1&x=y";
  spec.image = "mcp-sandbox/python:3.11";
  const auto created = engine->create_container(spec);
  REQUIRE(created);
  CHECK(*created == "new-id");

  const std::lock_guard lock(mutex);
  CHECK(remove_query == "11");
  CHECK(create_name == "run 1&x=y");
  CHECK(nlohmann::json::parse(create_body)["Image"] == "mcp-sandbox/python:3.11");
}

TEST_CASE("curl engine: label filters reach the engine decoded") {
  std::mutex mutex;
  std::vector<std::string> filters;
  std::string all;
  FakeHttpEngine fake([&](httplib::Server& server) {
    server.Get("/v1.41/containers/json", [&](const httplib::Request& request, httplib::Response& response) {
      const std::lock_guard lock(mutex);
      filters.push_back(request.get_param_value("filters"));
      all = request.get_param_value("all");
      response.set_content(R"([{"Id":"c1","Names":["/a"],"Labels":{"io.mcp-sandbox.kind":"runner"},"State":"running"}])",
                           "application/json");
    });
    server.Get("/v1.41/images/json", [&](const httplib::Request& request, httplib::Response& response) {
      const std::lock_guard lock(mutex);
      filters.push_back(request.get_param_value("filters"));
      response.set_content("[]", "application/json");
    });
  });
  const auto engine = connect(fake.host());
  const auto containers = engine->list_containers("io.mcp-sandbox.kind=runner");
  REQUIRE(containers);
  REQUIRE(containers->size() == 1);
  CHECK(containers->front().state == "running");
  REQUIRE(engine->list_images("io.mcp-sandbox.label with spaces&more"));

  const std::lock_guard lock(mutex);
  CHECK(all == "1");
  REQUIRE(filters.size() == 2);
  CHECK(nlohmann::json::parse(filters[0]) == nlohmann::json::parse(R"({"label":["io.mcp-sandbox.kind=runner"]})"));
  CHECK(nlohmann::json::parse(filters[1]) ==
        nlohmann::json::parse(R"({"label":["io.mcp-sandbox.label with spaces&more"]})"));
}

TEST_CASE("curl engine: the api version is the engine's, capped at the newest we know") {
  const auto [engine_api, expected] = GENERATE(table<std::string, std::string>({
      {"1.41", "1.41"},
      {"1.44", "1.44"},
      {"1.99", "1.51"},
  }));
  std::atomic<bool> reached{false};
  FakeHttpEngine fake(
      [&, expected_version = expected](httplib::Server& server) {
        server.Get("/v" + expected_version + "/version", [&](const httplib::Request&, httplib::Response& response) {
          reached = true;
          response.set_content(R"({"Version":"29.0.0","ApiVersion":"1.52"})", "application/json");
        });
      },
      engine_api);
  const auto engine = connect(fake.host());
  CHECK(engine->api_version() == expected);
  REQUIRE(engine->version());
  CHECK(reached);
}

TEST_CASE("curl engine: an engine without Api-Version on /_ping is asked /version") {
  FakeHttpEngine fake([](httplib::Server& server) {
    server.Get("/_ping", [](const httplib::Request&, httplib::Response& response) {
      response.set_content("OK", "text/plain");
    });
    server.Get("/version", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"({"Version":"19.03","ApiVersion":"1.40"})", "application/json");
    });
  });
  CHECK(connect(fake.host())->api_version() == "1.40");
}

TEST_CASE("curl engine: an engine older than we support is unavailable") {
  FakeHttpEngine fake([](httplib::Server&) {}, "1.24");
  const auto engine = connect_engine(options_for(fake.host()));
  REQUIRE_FALSE(engine);
  CHECK(engine.error().kind == ErrorKind::unavailable);
  CHECK_THAT(engine.error().message, Catch::Contains("1.24") && Catch::Contains(fake.host()));
}

TEST_CASE("curl engine: an unhealthy ping fails the connect") {
  FakeHttpEngine fake([](httplib::Server& server) { server.Get("/_ping", answer(500, "not ready")); });
  const auto engine = connect_engine(options_for(fake.host()));
  REQUIRE_FALSE(engine);
  CHECK(engine.error().kind == ErrorKind::unavailable);
  CHECK_THAT(engine.error().message, Catch::Contains("not ready"));
}

TEST_CASE("curl engine: nothing listening is unavailable") {
  const test::LoopbackPort port;
  const auto engine = connect_engine(options_for(port.host()));
  REQUIRE_FALSE(engine);
  CHECK(engine.error().kind == ErrorKind::unavailable);
  CHECK_THAT(engine.error().message, Catch::StartsWith("Docker engine unreachable at " + port.host() + ": "));
}

TEST_CASE("curl engine: a missing unix socket is unavailable and named") {
  const auto engine = connect_engine(options_for("unix:///nonexistent/docker.sock"));
  REQUIRE_FALSE(engine);
  CHECK(engine.error().kind == ErrorKind::unavailable);
  CHECK_THAT(engine.error().message,
             Catch::StartsWith("Docker engine unreachable at unix:///nonexistent/docker.sock: "));
}

TEST_CASE("curl engine: a server that hangs up without answering is unavailable") {
  const RawServer server([](int fd) { test::read_request_head(fd); });
  const auto engine = connect_engine(options_for(server.host()));
  REQUIRE_FALSE(engine);
  CHECK(engine.error().kind == ErrorKind::unavailable);
  CHECK_THAT(engine.error().message, Catch::Contains(server.host()));
}

TEST_CASE("curl engine: an answer slower than the call timeout is a timeout") {
  // The handler holds its answer until the test ends (the promise's destruction releases it).
  std::promise<void> release;
  const std::shared_future<void> released = release.get_future().share();
  FakeHttpEngine fake([released](httplib::Server& server) {
    server.Get("/v1.41/info", [released](const httplib::Request&, httplib::Response& response) {
      released.wait_for(std::chrono::seconds(2));
      response.set_content("{}", "application/json");
    });
  });
  const auto engine = connect(fake.host(), milliseconds(300));
  const auto start = Clock::now();
  const auto info = engine->info();
  REQUIRE_FALSE(info);
  CHECK(info.error().kind == ErrorKind::timeout);
  CHECK_THAT(info.error().message, Catch::Contains("GET /v1.41/info"));
  CHECK(since(start) < milliseconds(1500));
  release.set_value();
}

TEST_CASE("curl engine: wait has its own timeout, longer than the call timeout") {
  std::promise<void> release;
  const std::shared_future<void> released = release.get_future().share();
  // Recorded on the server's thread, checked on the test's (Catch2's assertions are not thread-safe).
  std::promise<std::string> condition;
  FakeHttpEngine fake([released, &condition](httplib::Server& server) {
    server.Post("/v1.41/containers/abc/wait", [&condition](const httplib::Request& request, httplib::Response& response) {
      condition.set_value(request.get_param_value("condition"));
      // Longer than the call timeout below, well inside the wait's own.
      std::this_thread::sleep_for(milliseconds(400));
      response.set_content(R"({"Error":null,"StatusCode":7})", "application/json");
    });
    server.Post("/v1.41/containers/slow/wait", [released](const httplib::Request&, httplib::Response& response) {
      released.wait_for(std::chrono::seconds(2));
      response.set_content(R"({"StatusCode":0})", "application/json");
    });
  });
  const auto engine = connect(fake.host(), milliseconds(200));
  const auto waited = engine->wait_container("abc", milliseconds(1500));
  REQUIRE(waited);
  CHECK(waited->status_code == 7);
  CHECK(condition.get_future().get() == "not-running");

  const auto slow = engine->wait_container("slow", milliseconds(200));
  REQUIRE_FALSE(slow);
  CHECK(slow.error().kind == ErrorKind::timeout);
  release.set_value();
}

TEST_CASE("curl engine: ids and image names that would change the URL are refused before any call") {
  std::atomic<int> calls{0};
  FakeHttpEngine fake([&](httplib::Server& server) {
    server.set_pre_routing_handler([&](const httplib::Request& request, httplib::Response&) {
      if (request.path != "/_ping") {
        ++calls;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
  });
  const auto engine = connect(fake.host());
  for (const char* id : {"", "../images/x", "a/b", "a?b", "id with space", "-flag"}) {
    CAPTURE(id);
    const auto state = engine->inspect_container(id);
    REQUIRE_FALSE(state);
    CHECK(state.error().kind == ErrorKind::invalid_argument);
    CHECK(engine->kill_container(id).error().kind == ErrorKind::invalid_argument);
    CHECK(engine->attach(id).error().kind == ErrorKind::invalid_argument);
  }
  for (const char* image : {"", "a/../b", "/abs", "img?x=1", "img#frag"}) {
    CAPTURE(image);
    CHECK(engine->inspect_image(image).error().kind == ErrorKind::invalid_argument);
  }
  CHECK(engine->wait_container("abc", milliseconds(0)).error().kind == ErrorKind::invalid_argument);
  CHECK(calls == 0);
}

TEST_CASE("curl engine: stats asks for one sample without streaming and maps the answer") {
  std::string query;
  FakeHttpEngine fake([&](httplib::Server& server) {
    server.Get("/v1.41/containers/abc/stats", [&](const httplib::Request& request, httplib::Response& response) {
      query = "stream=" + request.get_param_value("stream") + "&one-shot=" + request.get_param_value("one-shot");
      response.set_content(
          R"({"pids_stats":{"current":44,"limit":128},"memory_stats":{"usage":1,"limit":268435456},)"
          R"("cpu_stats":{"throttling_data":{"periods":24,"throttled_periods":13}}})",
          "application/json");
    });
    server.Get("/v1.41/containers/gone/stats", answer(404, "No such container: gone"));
  });
  const auto engine = connect(fake.host());
  const auto stats = engine->container_stats("abc");
  INFO((stats ? std::string() : stats.error().message));
  REQUIRE(stats);
  CHECK(query == "stream=0&one-shot=1");
  CHECK(stats->memory_limit == 268435456);
  CHECK(stats->pids_limit == 128);
  CHECK(stats->cpu_periods == 24);
  const auto gone = engine->container_stats("gone");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().kind == ErrorKind::not_found);
  CHECK(gone.error().message.find("No such container: gone") != std::string::npos);
  CHECK(engine->container_stats("../x").error().kind == ErrorKind::invalid_argument);
}

TEST_CASE("curl engine: calls from several threads at once") {
  std::atomic<int> calls{0};
  FakeHttpEngine fake([&](httplib::Server& server) {
    server.Get("/v1.41/containers/c/json", [&](const httplib::Request&, httplib::Response& response) {
      ++calls;
      response.set_content(R"({"State":{"Status":"running","Running":true}})", "application/json");
    });
  });
  const auto engine = connect(fake.host());
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        const auto state = engine->inspect_container("c");
        if (state && state->running) {
          ++successes;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(successes == 100);
  CHECK(calls == 100);
}

TEST_CASE("curl engine attach: the upgrade, early output, stdin to EOF and the stream to EOF") {
  std::promise<std::string> head_seen;
  std::promise<std::string> stdin_seen;
  RawServer server(attach_session([&](int fd, const std::string& head) {
    head_seen.set_value(head);
    // Output sent in the same write as the answer head must not be lost.
    test::write_all(fd, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                        "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" +
                            test::frame(1, "early "));
    const std::string input = test::read_to_eof(fd, 1 << 20);
    stdin_seen.set_value(input);
    test::write_all(fd, test::frame(1, input) + test::frame(2, "done"));
  }));
  const auto attachment = attach_through(server);
  StreamDemux demux(1 << 20, 1 << 20);
  const auto end = attachment->pump("hello", Clock::now() + std::chrono::seconds(5), demux);
  REQUIRE(end);
  CHECK(*end == PumpEnd::eof);
  CHECK(demux.out() == "early hello");
  CHECK(demux.err() == "done");
  CHECK(stdin_seen.get_future().get() == "hello");

  const std::string head = head_seen.get_future().get();
  CHECK_THAT(head, Catch::StartsWith("POST /v1.41/containers/abc/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"));
  CHECK_THAT(head, Catch::Contains("Upgrade: tcp\r\n") && Catch::Contains("Connection: Upgrade\r\n"));

  // Pumping after EOF returns at once.
  const auto again = attachment->pump("", Clock::now() + std::chrono::seconds(5), demux);
  REQUIRE(again);
  CHECK(*again == PumpEnd::eof);
}

namespace {

// Asks `attachment` until it is no longer silent, at most 5 s (the peer's bytes or hang-up cross loopback).
bool becomes_loud(docker::Attachment& attachment) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (attachment.silent()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("curl engine attach: silent while the process waits for stdin; not after output or a hang-up") {
  SECTION("the engine closes the stream (the container exited or was removed)") {
    std::promise<void> go;
    const std::shared_future<void> went = go.get_future().share();
    RawServer server(attach_session([went](int fd, const std::string&) {
      test::write_all(fd, std::string(kUpgraded));
      went.wait_for(std::chrono::seconds(5));
    }));
    const auto attachment = attach_through(server);
    CHECK(attachment->silent());
    CHECK(attachment->silent());  // asking reads nothing
    go.set_value();
    CHECK(becomes_loud(*attachment));
  }
  SECTION("output arrives before any code was sent") {
    std::promise<void> go;
    const std::shared_future<void> went = go.get_future().share();
    RawServer server(attach_session([went](int fd, const std::string&) {
      test::write_all(fd, std::string(kUpgraded));
      went.wait_for(std::chrono::seconds(5));
      test::write_all(fd, test::frame(2, "unexpected"));
      (void)test::read_to_eof(fd, 1 << 20);
    }));
    const auto attachment = attach_through(server);
    CHECK(attachment->silent());
    go.set_value();
    CHECK(becomes_loud(*attachment));
    StreamDemux demux(1 << 20, 1 << 20);
    REQUIRE(attachment->pump("", Clock::now() + std::chrono::seconds(5), demux));
    CHECK(demux.err() == "unexpected");  // the check consumed nothing
  }
  SECTION("once pumping began, it is never silent") {
    RawServer server(attach_session([](int fd, const std::string&) {
      test::write_all(fd, std::string(kUpgraded));
      (void)test::read_to_eof(fd, 1 << 20);
    }));
    const auto attachment = attach_through(server);
    StreamDemux demux(1 << 20, 1 << 20);
    REQUIRE(attachment->pump("code", Clock::now(), demux));
    CHECK_FALSE(attachment->silent());
  }
}

TEST_CASE("curl engine attach: an error answer without Content-Length carries the engine's text") {
  RawServer server(attach_session([](int fd, const std::string&) {
    // Captured from docker 20.10 for a missing container.
    test::write_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
                        "No such container: nosuch\r\n");
  }));
  const auto engine = connect(server.host());
  const auto attachment = engine->attach("nosuch");
  REQUIRE_FALSE(attachment);
  CHECK(attachment.error().kind == ErrorKind::not_found);
  CHECK(attachment.error().message == "No such container: nosuch");
}

TEST_CASE("curl engine attach: no answer in time is a timeout, a hang-up is unavailable") {
  std::promise<void> release;
  const std::shared_future<void> released = release.get_future().share();
  RawServer server(attach_session([released](int, const std::string& head) {
    if (head.find("/containers/silent/") != std::string::npos) {
      released.wait_for(std::chrono::seconds(2));
    }
    // Any other attach: hang up without a word.
  }));
  const auto engine = connect(server.host(), milliseconds(300));

  const auto start = Clock::now();
  const auto silent = engine->attach("silent");
  REQUIRE_FALSE(silent);
  CHECK(silent.error().kind == ErrorKind::timeout);
  CHECK(since(start) < milliseconds(1500));
  release.set_value();

  const auto hung_up = engine->attach("rude");
  REQUIRE_FALSE(hung_up);
  CHECK(hung_up.error().kind == ErrorKind::unavailable);
}

TEST_CASE("curl engine attach: stdin survives a deadline; a later pump writes the rest, then closes it") {
  constexpr std::size_t kInput = 16U << 20U;
  std::promise<void> go;
  const std::shared_future<void> going = go.get_future().share();
  std::promise<std::size_t> stdin_size;
  RawServer server(attach_session([&stdin_size, going](int fd, const std::string&) {
    test::write_all(fd, std::string(kUpgraded) + test::frame(1, "started\n"));
    // Like a busy program: stdin is not read until the test says so, then to EOF, then the last words.
    going.wait_for(std::chrono::seconds(5));
    stdin_size.set_value(test::read_to_eof(fd, std::size_t{1} << 30).size());
    test::write_all(fd, test::frame(1, "bye\n"));
  }));
  const auto attachment = attach_through(server);
  StreamDemux demux(1 << 20, 1 << 20);

  // More input than the socket buffers hold cannot be written while nobody reads: the deadline comes first.
  const auto first = attachment->pump(std::string(kInput, 'x'), Clock::now() + milliseconds(300), demux);
  REQUIRE(first);
  CHECK(*first == PumpEnd::deadline);
  CHECK(demux.out() == "started\n");

  // The server sees EOF only after all of the first call's input: a later call's input is ignored.
  go.set_value();
  const auto second = attachment->pump("ignored", Clock::now() + milliseconds(5000), demux);
  REQUIRE(second);
  CHECK(*second == PumpEnd::eof);
  CHECK(demux.out() == "started\nbye\n");
  CHECK(stdin_size.get_future().get() == kInput);
}

TEST_CASE("curl engine attach: a program that stops reading stdin does not block its output") {
  std::promise<std::size_t> read_by_server;
  RawServer server(attach_session([&](int fd, const std::string&) {
    test::write_all(fd, kUpgraded);
    // Reads a little of stdin, answers and hangs up with the rest unread.
    read_by_server.set_value(test::read_to_eof(fd, 64 * 1024).size());
    test::write_all(fd, test::frame(1, "had enough"));
  }));
  const auto attachment = attach_through(server);
  StreamDemux demux(1 << 20, 1 << 20);
  const auto end = attachment->pump(std::string(32 << 20, 'x'), Clock::now() + milliseconds(5000), demux);
  REQUIRE(end);
  CHECK(*end == PumpEnd::eof);
  CHECK(read_by_server.get_future().get() == 64 * 1024);
  CHECK(demux.out() == "had enough");
}
