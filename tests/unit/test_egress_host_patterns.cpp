#include <catch2/catch.hpp>

#include "egress/grant.hpp"
#include "egress/host_patterns.hpp"
#include "support/temp_dir.hpp"

TEST_CASE("egress host patterns: names are normalised strictly") {
  CHECK(egress::normalise_host("Registry.TEST.") == "registry.test");
  CHECK(egress::normalise_host("a-b_c.test") == "a-b_c.test");
  for (const char* bad : {"", ".", "a..b", ".a", "a b", "a/b", "a:b", "a@b", "\xc3\xa9.test", "a%2eb"}) {
    INFO(bad);
    CHECK_FALSE(egress::normalise_host(bad));
  }
  CHECK(egress::normalise_host(std::string(63, 'a') + ".test"));
  CHECK_FALSE(egress::normalise_host(std::string(64, 'a') + ".test"));
}

TEST_CASE("egress host patterns: exact names, wildcards below a name, and * for any") {
  const auto patterns = egress::HostPatterns::parse({"registry.test", "*.files.test"});
  REQUIRE(patterns);
  CHECK(patterns->matches("registry.test"));
  CHECK_FALSE(patterns->matches("sub.registry.test"));
  CHECK_FALSE(patterns->matches("registry.test.evil"));
  CHECK_FALSE(patterns->matches("evilregistry.test"));
  CHECK(patterns->matches("a.files.test"));
  CHECK(patterns->matches("a.b.files.test"));
  CHECK_FALSE(patterns->matches("files.test"));
  CHECK_FALSE(patterns->matches("evilfiles.test"));
  CHECK_FALSE(patterns->any());
  CHECK(patterns->to_strings() == std::vector<std::string>{"registry.test", "*.files.test"});

  const auto any = egress::HostPatterns::parse({"*"});
  REQUIRE(any);
  CHECK(any->any());
  CHECK(any->matches("whatever.test"));

  for (const char* bad : {"*.test", "**.a.test", "a.*.test", "*a.test", "", "a b.test", "*."}) {
    INFO(bad);
    CHECK_FALSE(egress::HostPatterns::parse({bad}));
  }
  CHECK(egress::HostPatterns().empty());
}

TEST_CASE("egress grants: JSON both ways, and a directory the proxy reads") {
  egress::Grant grant;
  grant.run_id = "0123456789abcdef";
  grant.token = "secret-token-of-32-characters-xx";
  grant.policy = "packages";
  grant.hosts = *egress::HostPatterns::parse({"registry.test", "*.files.test"});
  grant.ports = {443, 8080};
  grant.max_bytes = 1234;
  grant.max_connections = 3;
  grant.max_bytes_per_second = 4096;
  const auto parsed = egress::grant_from_json(egress::grant_to_json(grant));
  REQUIRE(parsed);
  CHECK(parsed->run_id == grant.run_id);
  CHECK(parsed->token == grant.token);
  CHECK(parsed->hosts.to_strings() == grant.hosts.to_strings());
  CHECK(parsed->ports == grant.ports);
  CHECK(parsed->max_bytes == 1234);
  CHECK(parsed->max_connections == 3);
  CHECK(parsed->max_bytes_per_second == 4096);
  CHECK_FALSE(egress::grant_from_json("{"));
  CHECK_FALSE(egress::grant_from_json(R"({"run_id":"../x","token":"t","policy":"open","hosts":[],"ports":[],"max_bytes":1,"max_connections":1})"));

  testing::TempDir temp;
  const egress::GrantDirectory directory((temp.path / "grants").string());
  REQUIRE(directory.prepare());
  CHECK_FALSE(directory.find(grant.run_id));
  REQUIRE(directory.put(grant));
  const auto found = directory.find(grant.run_id);
  REQUIRE(found);
  CHECK(found->token == grant.token);
  CHECK_FALSE(directory.find("../../etc/passwd"));
  CHECK_FALSE(directory.find("0123456789ABCDEF"));
  directory.remove(grant.run_id);
  CHECK_FALSE(directory.find(grant.run_id));
  CHECK(egress::valid_run_id("0123abcd"));
  CHECK_FALSE(egress::valid_run_id("0123abc"));
  CHECK_FALSE(egress::valid_run_id(std::string(65, 'a')));
}
