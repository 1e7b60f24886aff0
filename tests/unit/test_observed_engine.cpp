#include <catch2/catch.hpp>

#include "docker/observed_engine.hpp"
#include "support/fake_engine.hpp"

TEST_CASE("observed engine: every call is reported with its error kind and forwarded") {
  testing::FakeEngine inner;
  inner.failures["start"] = core::Error{core::ErrorKind::conflict, "already started"};
  std::vector<std::pair<std::string, std::string>> seen;
  docker::ObservedEngine engine(inner, [&](std::string_view call, const core::Error* error, std::chrono::duration<double> took) {
    CHECK(took.count() >= 0);
    seen.emplace_back(std::string(call), error ? std::string(core::to_string(error->kind)) : "");
  });
  REQUIRE(engine.ping());
  auto id = engine.create_container(docker::ContainerSpec{});
  REQUIRE(id);
  auto started = engine.start_container(*id);
  REQUIRE_FALSE(started);
  CHECK(started.error().message == "already started");
  REQUIRE(engine.remove_container(*id));
  CHECK(engine.api_version() == "1.41");
  CHECK(seen == std::vector<std::pair<std::string, std::string>>{
                    {"ping", ""}, {"create", ""}, {"start", "conflict"}, {"remove", ""}});
  CHECK(inner.live_containers.empty());
}
