#include "outbound/json_fetcher.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace outbound {

namespace {

using core::ErrorKind;

}  // namespace

JsonFetcher::JsonFetcher(Options options, Transport transport)
    : m_options(std::move(options)), m_transport(std::move(transport)) {
  if (!m_transport) {
    m_transport = [fetch = m_options.fetch](const std::string& url) { return fetch_json(url, fetch); };
  }
  if (m_options.fetch.test_origin) {
    spdlog::warn("TEST MODE: outbound fetches may reach the loopback origin {} and trust the CA in {}; "
                 "never run a server like this for real users",
                 m_options.fetch.test_origin->origin, m_options.fetch.test_origin->ca_file);
  }
}

core::Result<nlohmann::json> JsonFetcher::fetch(const std::string& url) {
  // A URL that cannot be fetched is refused before it costs a cache entry or a slot.
  if (auto parsed = parse_https_url(url); !parsed) {
    return core::fail(parsed.error());
  }
  std::unique_lock lock(m_mutex);
  if (const auto entry = m_entries.find(url); entry != m_entries.end()) {
    if (entry->second.expires > m_options.clock()) {
      return entry->second.result;
    }
    m_entries.erase(entry);
  }
  if (const auto flight = m_flights.find(url); flight != m_flights.end()) {
    // Someone is fetching this URL: wait for that fetch instead of opening a second connection.
    // The wait is as bounded as the fetch (its limits), so no deadline of its own.
    const std::shared_ptr<Flight> shared = flight->second;
    ++m_waiting;
    m_finished.wait(lock, [&] { return shared->done; });
    --m_waiting;
    return shared->result;
  }
  if (m_flights.size() >= m_options.max_in_flight) {
    return core::fail(ErrorKind::unavailable, "too many outbound fetches under way (" +
                                                  std::to_string(m_options.max_in_flight) + "); try again shortly");
  }
  const auto flight = std::make_shared<Flight>();
  m_flights.emplace(url, flight);
  lock.unlock();

  core::Result<JsonDocument> fetched = core::fail(ErrorKind::internal, "the fetch did not finish");
  try {
    fetched = m_transport(url);
  } catch (const std::exception& error) {
    // Out of memory or a bug in a transport: the waiters must still be woken.
    fetched = core::fail(ErrorKind::internal, std::string("fetching failed: ") + error.what());
  }

  lock.lock();
  remember(url, fetched, m_options.clock());
  flight->result = fetched ? core::Result<nlohmann::json>(fetched->body) : core::fail(fetched.error());
  flight->done = true;
  m_flights.erase(url);
  m_finished.notify_all();
  return flight->result;
}

void JsonFetcher::remember(const std::string& url, const core::Result<JsonDocument>& fetched,
                           std::chrono::steady_clock::time_point now) {
  std::chrono::seconds ttl = m_options.failure_ttl;
  if (fetched) {
    ttl = std::clamp(fetched->max_age.value_or(m_options.default_ttl), m_options.min_ttl, m_options.max_ttl);
  }
  if (ttl <= std::chrono::seconds(0) || m_options.max_entries == 0) {
    return;
  }
  if (m_entries.size() >= m_options.max_entries) {
    std::erase_if(m_entries, [&](const auto& entry) { return entry.second.expires <= now; });
  }
  if (m_entries.size() >= m_options.max_entries) {
    // Full of live entries: the one that would leave first goes (failures, with their short TTL, first).
    const auto soonest = std::min_element(m_entries.begin(), m_entries.end(), [](const auto& a, const auto& b) {
      return a.second.expires < b.second.expires;
    });
    m_entries.erase(soonest);
  }
  m_entries.insert_or_assign(url, Entry{fetched ? core::Result<nlohmann::json>(fetched->body) : core::fail(fetched.error()),
                                        now + ttl});
}

std::size_t JsonFetcher::waiting() const {
  const std::lock_guard lock(m_mutex);
  return m_waiting;
}

std::size_t JsonFetcher::in_flight() const {
  const std::lock_guard lock(m_mutex);
  return m_flights.size();
}

}  // namespace outbound
