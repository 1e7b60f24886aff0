// The cache and the concurrency bound of JsonFetcher, with a scripted transport and a fake clock:
// no network. tests/unit/test_outbound_fetch_json.cpp does the same against a real https server.
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "outbound/json_fetcher.hpp"

using core::ErrorKind;
using std::chrono::seconds;

namespace {

struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  outbound::JsonFetcher::Clock clock() {
    return [this] { return now; };
  }
};

// A transport that answers every URL with a document carrying `max_age`, counting its calls per URL.
struct Script {
  std::mutex mutex;
  std::map<std::string, int> calls;
  std::optional<seconds> max_age = seconds(120);
  std::optional<core::Error> failure;

  outbound::JsonFetcher::Transport transport() {
    return [this](const std::string& url) -> core::Result<outbound::JsonDocument> {
      const std::lock_guard lock(mutex);
      const int call = ++calls[url];
      if (failure) {
        return core::fail(*failure);
      }
      return outbound::JsonDocument{{{"url", url}, {"call", call}}, max_age};
    };
  }
  int count(const std::string& url) {
    const std::lock_guard lock(mutex);
    return calls[url];
  }
};

// Waits until `done` holds, spinning with a deadline (a state to reach, not a time to pass).
template <typename Done>
bool eventually(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

const std::string kUrl = "https://client.example/doc.json";

}  // namespace

TEST_CASE("outbound: a fetched document is served from the cache until its max-age passes") {
  FakeClock clock;
  Script script;
  outbound::JsonFetcher::Options options;
  options.clock = clock.clock();
  outbound::JsonFetcher fetcher(options, script.transport());

  auto first = fetcher.fetch(kUrl);
  REQUIRE(first);
  CHECK((*first)["call"] == 1);
  clock.now += seconds(119);
  auto second = fetcher.fetch(kUrl);
  REQUIRE(second);
  CHECK((*second)["call"] == 1);
  CHECK(script.count(kUrl) == 1);
  clock.now += seconds(1);
  auto third = fetcher.fetch(kUrl);
  REQUIRE(third);
  CHECK((*third)["call"] == 2);
  CHECK(script.count(kUrl) == 2);
}

TEST_CASE("outbound: the cache keeps a document within min_ttl and max_ttl whatever its max-age") {
  const std::vector<std::pair<std::optional<seconds>, seconds>> cases = {
      {seconds(5), seconds(60)},         // below the floor: kept for min_ttl
      {seconds(0), seconds(60)},         // no-store / no-cache: still min_ttl, so a flood cannot refetch
      {seconds(86400 * 30), seconds(3600)},  // above the ceiling
      {std::nullopt, seconds(300)},      // nothing said: default_ttl
  };
  for (const auto& [max_age, kept] : cases) {
    CAPTURE(max_age.value_or(seconds(-1)).count(), kept.count());
    FakeClock clock;
    Script script;
    script.max_age = max_age;
    outbound::JsonFetcher::Options options;
    options.clock = clock.clock();
    outbound::JsonFetcher fetcher(options, script.transport());
    REQUIRE(fetcher.fetch(kUrl));
    clock.now += kept - seconds(1);
    REQUIRE(fetcher.fetch(kUrl));
    CHECK(script.count(kUrl) == 1);
    clock.now += seconds(1);
    REQUIRE(fetcher.fetch(kUrl));
    CHECK(script.count(kUrl) == 2);
  }
}

TEST_CASE("outbound: a failure is served from the cache for failure_ttl") {
  FakeClock clock;
  Script script;
  script.failure = core::Error{ErrorKind::invalid_argument, "not application/json"};
  outbound::JsonFetcher::Options options;
  options.clock = clock.clock();
  outbound::JsonFetcher fetcher(options, script.transport());
  for (int i = 0; i < 5; ++i) {
    const auto result = fetcher.fetch(kUrl);
    REQUIRE_FALSE(result);
    CHECK(result.error().message == "not application/json");
  }
  CHECK(script.count(kUrl) == 1);
  clock.now += options.failure_ttl;
  script.failure.reset();
  CHECK(fetcher.fetch(kUrl));
  CHECK(script.count(kUrl) == 2);
}

TEST_CASE("outbound: a URL that cannot be fetched costs no fetch and no cache entry") {
  Script script;
  outbound::JsonFetcher::Options options;
  options.max_entries = 1;
  outbound::JsonFetcher fetcher(options, script.transport());
  REQUIRE(fetcher.fetch(kUrl));
  for (const char* bad : {"http://client.example/", "https://127.0.0.1/", "https://a@client.example/"}) {
    const auto result = fetcher.fetch(bad);
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == ErrorKind::invalid_argument);
    CHECK(script.count(bad) == 0);
  }
  // The one entry is still the good document.
  REQUIRE(fetcher.fetch(kUrl));
  CHECK(script.count(kUrl) == 1);
}

TEST_CASE("outbound: the cache holds at most max_entries, dropping the entry that expires first") {
  FakeClock clock;
  Script script;
  outbound::JsonFetcher::Options options;
  options.max_entries = 3;
  options.clock = clock.clock();
  outbound::JsonFetcher fetcher(options, script.transport());
  const std::string a = "https://a.example/", b = "https://b.example/", c = "https://c.example/",
                    d = "https://d.example/";
  REQUIRE(fetcher.fetch(a));
  clock.now += seconds(1);
  REQUIRE(fetcher.fetch(b));
  REQUIRE(fetcher.fetch(c));
  REQUIRE(fetcher.fetch(d));  // full: a, which expires first, goes
  REQUIRE(fetcher.fetch(b));
  REQUIRE(fetcher.fetch(c));
  REQUIRE(fetcher.fetch(d));
  CHECK(script.count(b) == 1);
  CHECK(script.count(c) == 1);
  CHECK(script.count(d) == 1);
  REQUIRE(fetcher.fetch(a));
  CHECK(script.count(a) == 2);
}

TEST_CASE("outbound: concurrent requests for one URL share one fetch") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  outbound::JsonFetcher fetcher({}, [&](const std::string&) -> core::Result<outbound::JsonDocument> {
    ++calls;
    released.wait();
    return outbound::JsonDocument{{{"client_id", kUrl}}, std::nullopt};
  });
  constexpr int kCallers = 8;
  std::vector<std::future<core::Result<nlohmann::json>>> results;
  for (int i = 0; i < kCallers; ++i) {
    results.push_back(std::async(std::launch::async, [&] { return fetcher.fetch(kUrl); }));
  }
  REQUIRE(eventually([&] { return fetcher.in_flight() == 1 && fetcher.waiting() == kCallers - 1; }));
  release.set_value();
  for (auto& result : results) {
    const auto document = result.get();
    REQUIRE(document);
    CHECK((*document)["client_id"] == kUrl);
  }
  CHECK(calls == 1);
  CHECK(fetcher.waiting() == 0);
  CHECK(fetcher.in_flight() == 0);
}

TEST_CASE("outbound: beyond max_in_flight fetches a new URL is refused at once") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  outbound::JsonFetcher::Options options;
  options.max_in_flight = 2;
  outbound::JsonFetcher fetcher(options, [&](const std::string& url) -> core::Result<outbound::JsonDocument> {
    ++calls;
    released.wait();
    return outbound::JsonDocument{{{"client_id", url}}, std::nullopt};
  });
  auto first = std::async(std::launch::async, [&] { return fetcher.fetch("https://one.example/"); });
  auto second = std::async(std::launch::async, [&] { return fetcher.fetch("https://two.example/"); });
  REQUIRE(eventually([&] { return fetcher.in_flight() == 2; }));
  const auto refused = fetcher.fetch("https://three.example/");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::unavailable);
  CHECK(calls == 2);
  release.set_value();
  CHECK(first.get());
  CHECK(second.get());
  // The refusal was not cached: with a free slot the URL is fetched.
  CHECK(fetcher.fetch("https://three.example/"));
  CHECK(calls == 3);
}

TEST_CASE("outbound: a transport that throws still wakes the callers waiting for it") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  outbound::JsonFetcher fetcher({}, [&](const std::string&) -> core::Result<outbound::JsonDocument> {
    released.wait();
    throw std::bad_alloc();
  });
  auto first = std::async(std::launch::async, [&] { return fetcher.fetch(kUrl); });
  REQUIRE(eventually([&] { return fetcher.in_flight() == 1; }));
  auto second = std::async(std::launch::async, [&] { return fetcher.fetch(kUrl); });
  REQUIRE(eventually([&] { return fetcher.waiting() == 1; }));
  release.set_value();
  const auto a = first.get();
  const auto b = second.get();
  REQUIRE_FALSE(a);
  REQUIRE_FALSE(b);
  CHECK(a.error().kind == ErrorKind::internal);
  CHECK(b.error().kind == ErrorKind::internal);
}
