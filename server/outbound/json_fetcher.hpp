#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "outbound/fetch_json.hpp"

namespace outbound {

/// fetch_json behind a cache and a bound on concurrency, for fetches that anyone can trigger
/// (Client ID Metadata Documents): at most `max_in_flight` fetches at once across all URLs, one
/// per URL (callers asking for a URL being fetched wait for that fetch and share its result), each
/// result kept for a while (a document for its max-age within [min_ttl, max_ttl], default_ttl when
/// its server said nothing; a failure for failure_ttl), at most `max_entries` kept.
class JsonFetcher {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  /// What actually fetches: fetch_json with the options by default; tests may count or script it.
  using Transport = std::function<core::Result<JsonDocument>(const std::string& url)>;

  struct Options {
    FetchOptions fetch;
    std::size_t max_in_flight = 8;
    std::size_t max_entries = 1024;
    std::chrono::seconds min_ttl{60};
    std::chrono::seconds default_ttl{300};
    std::chrono::seconds max_ttl{3600};
    std::chrono::seconds failure_ttl{10};
    Clock clock = std::chrono::steady_clock::now;
  };

  /// A fetcher using fetch_json with `options.fetch`, or `transport` when given. Logs a warning
  /// when a test origin is set.
  explicit JsonFetcher(Options options, Transport transport = {});

  /// The document at `url`: from the cache, from the fetch of it already under way, or fetched now.
  /// Errors: those of fetch_json (a failure is served from the cache for failure_ttl), and
  /// unavailable without any fetch when max_in_flight other URLs are being fetched.
  core::Result<nlohmann::json> fetch(const std::string& url);

  /// Callers waiting right now for a fetch another caller started (for tests and metrics).
  [[nodiscard]] std::size_t waiting() const;
  /// Fetches under way right now.
  [[nodiscard]] std::size_t in_flight() const;

 private:
  struct Flight {
    bool done = false;
    core::Result<nlohmann::json> result;
  };
  struct Entry {
    core::Result<nlohmann::json> result;
    std::chrono::steady_clock::time_point expires;
  };

  void remember(const std::string& url, const core::Result<JsonDocument>& fetched,
                std::chrono::steady_clock::time_point now);

  Options m_options;
  Transport m_transport;
  mutable std::mutex m_mutex;
  std::condition_variable m_finished;
  std::map<std::string, std::shared_ptr<Flight>> m_flights;
  std::map<std::string, Entry> m_entries;
  std::size_t m_waiting = 0;
};

}  // namespace outbound
