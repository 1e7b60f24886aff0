#include "metrics/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>

#include "core/version.hpp"

namespace metrics {

struct Metrics::Families {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  // The usual Prometheus "info" gauge: always 1, the version in its label, so
  // a dashboard can join it onto any other series.
  prometheus::Gauge& build_info = prometheus::BuildGauge()
                                      .Name("mcp_sandbox_build_info")
                                      .Help("The running release; the value is always 1")
                                      .Register(*registry)
                                      .Add({{"version", std::string(core::kVersion)}});
  prometheus::Family<prometheus::Counter>& runs =
      prometheus::BuildCounter().Name("mcp_sandbox_runs_total").Help("Runs by language and outcome").Register(*registry);
  prometheus::Family<prometheus::Histogram>& run_seconds = prometheus::BuildHistogram()
                                                               .Name("mcp_sandbox_run_duration_seconds")
                                                               .Help("Run duration from code delivery to exit")
                                                               .Register(*registry);
  prometheus::Gauge& in_flight = prometheus::BuildGauge()
                                     .Name("mcp_sandbox_runs_in_flight")
                                     .Help("Runs executing now")
                                     .Register(*registry)
                                     .Add({});
  prometheus::Family<prometheus::Counter>& engine_calls = prometheus::BuildCounter()
                                                              .Name("mcp_sandbox_engine_calls_total")
                                                              .Help("Docker Engine API calls by call and error kind")
                                                              .Register(*registry);
  prometheus::Family<prometheus::Histogram>& engine_seconds = prometheus::BuildHistogram()
                                                                  .Name("mcp_sandbox_engine_call_duration_seconds")
                                                                  .Help("Docker Engine API call duration")
                                                                  .Register(*registry);
  prometheus::Family<prometheus::Counter>& http = prometheus::BuildCounter()
                                                      .Name("mcp_sandbox_http_requests_total")
                                                      .Help("HTTP requests by route and status")
                                                      .Register(*registry);
  prometheus::Family<prometheus::Counter>& downloads = prometheus::BuildCounter()
                                                           .Name("mcp_sandbox_file_downloads_total")
                                                           .Help("Signed file downloads by result")
                                                           .Register(*registry);
  prometheus::Counter& download_bytes = prometheus::BuildCounter()
                                            .Name("mcp_sandbox_file_download_bytes_total")
                                            .Help("Bytes served by /files")
                                            .Register(*registry)
                                            .Add({});
  prometheus::Counter& reaped = prometheus::BuildCounter()
                                   .Name("mcp_sandbox_containers_reaped_total")
                                   .Help("Orphaned run containers of this instance removed by the reaper")
                                   .Register(*registry)
                                   .Add({});
  prometheus::Gauge& sessions = prometheus::BuildGauge()
                                    .Name("mcp_sandbox_sessions_open")
                                    .Help("Open MCP sessions (2025 Streamable HTTP and legacy SSE)")
                                    .Register(*registry)
                                    .Add({});
  prometheus::Gauge& runs_queued = prometheus::BuildGauge()
                                       .Name("mcp_sandbox_runs_queued")
                                       .Help("Runs waiting for an admission slot (MAX_CONCURRENT_RUNS)")
                                       .Register(*registry)
                                       .Add({});
  prometheus::Gauge& runs_admitted = prometheus::BuildGauge()
                                         .Name("mcp_sandbox_runs_admitted")
                                         .Help("Runs holding an admission slot (at most MAX_CONCURRENT_RUNS)")
                                         .Register(*registry)
                                         .Add({});
  prometheus::Family<prometheus::Counter>& runs_rejected =
      prometheus::BuildCounter()
          .Name("mcp_sandbox_runs_rejected_total")
          .Help("Runs refused by admission: queue_full, queue_timeout or cancelled while queued")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& oauth_events =
      prometheus::BuildCounter()
          .Name("mcp_sandbox_oauth_events_total")
          .Help("OAuth authorization server events (registered, allowed, denied, login_failed, token_issued, "
                "refreshed, replay_revoked, revoked, refused)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& rate_limited =
      prometheus::BuildCounter()
          .Name("mcp_sandbox_rate_limited_total")
          .Help("Requests answered 429: tool_calls (per token) or auth_failures (per peer)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& connections_refused =
      prometheus::BuildCounter()
          .Name("mcp_sandbox_http_connections_closed_total")
          .Help("Connections closed by the HTTP guard: per_peer (cap), idle_for_room (a kept-alive connection closed while idle to make room for another), read_deadline (slow request) or framing (ambiguous or oversized request head)")
          .Register(*registry);
  prometheus::Counter& storage_full = prometheus::BuildCounter()
                                          .Name("mcp_sandbox_storage_full_total")
                                          .Help("Runs and uploads that found their conversation's storage full")
                                          .Register(*registry)
                                          .Add({});
  prometheus::Family<prometheus::Counter>& swept = prometheus::BuildCounter()
                                                       .Name("mcp_sandbox_conversations_swept_total")
                                                       .Help("Idle conversations deleted or unmounted by the sweep")
                                                       .Register(*registry);
  prometheus::Gauge& warm_idle = prometheus::BuildGauge()
                                     .Name("mcp_sandbox_warm_containers_idle")
                                     .Help("Warm containers started and waiting for their conversation's next run")
                                     .Register(*registry)
                                     .Add({});
  prometheus::Family<prometheus::Counter>& warm_claims = prometheus::BuildCounter()
                                                             .Name("mcp_sandbox_warm_claims_total")
                                                             .Help("Runs that found a warm container (hit) or not (miss)")
                                                             .Register(*registry);
  prometheus::Family<prometheus::Counter>& warm_discards =
      prometheus::BuildCounter()
          .Name("mcp_sandbox_warm_discards_total")
          .Help("Warm containers removed without running anything, by reason")
          .Register(*registry);
  prometheus::Gauge& warm_new_ready = prometheus::BuildGauge()
                                          .Name("mcp_sandbox_warm_new_conversation_ready")
                                          .Help("Started containers (with fresh directories) waiting for new conversations")
                                          .Register(*registry)
                                          .Add({});
  prometheus::Family<prometheus::Counter>& warm_new_taken =
      prometheus::BuildCounter()
          .Name("mcp_sandbox_warm_new_conversations_total")
          .Help("New conversations served by a started container from the pool (hit) or started cold (miss)")
          .Register(*registry);
  prometheus::Counter& warm_lent = prometheus::BuildCounter()
                                       .Name("mcp_sandbox_warm_lent_total")
                                       .Help("Runs of existing conversations whose next container was not ready, "
                                             "served by a started container of the new-conversation pool")
                                       .Register(*registry)
                                       .Add({});
  prometheus::Family<prometheus::Counter>& package_installs =
      prometheus::BuildCounter()
          .Name("mcp_sandbox_package_installs_total")
          .Help("Calls with dependencies, by language and result: installed, cached (nothing ran) or failed")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& egress_decisions =
      prometheus::BuildCounter()
          .Name("mcp_sandbox_egress_decisions_total")
          .Help("Requests the egress proxy allowed or refused, by the run's policy and the reason")
          .Register(*registry);

  // The language labels seen so far (see run_finished).
  std::mutex languages_mutex;
  std::set<std::string, std::less<>> languages;

  // `language` while fewer than kMaxLanguages distinct ones have been seen, "other" after that.
  std::string language_label(std::string_view language) {
    const std::lock_guard lock(languages_mutex);
    if (languages.find(language) != languages.end()) return std::string(language);
    if (languages.size() >= kMaxLanguages) return "other";
    return *languages.emplace(language).first;
  }
};

namespace {

const prometheus::Histogram::BucketBoundaries kRunBuckets{0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30, 60};
const prometheus::Histogram::BucketBoundaries kEngineBuckets{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

}  // namespace

Metrics::Metrics() : m_families(std::make_unique<Families>()) { m_families->build_info.Set(1); }
Metrics::~Metrics() = default;

void Metrics::run_started() { m_families->in_flight.Increment(); }

void Metrics::run_finished(std::string_view language, std::string_view outcome, double seconds) {
  m_families->in_flight.Decrement();
  const auto label = m_families->language_label(language);
  m_families->runs.Add({{"language", label}, {"outcome", std::string(outcome)}}).Increment();
  m_families->run_seconds.Add({{"language", label}}, kRunBuckets).Observe(seconds);
}

void Metrics::containers_reaped(std::size_t count) { m_families->reaped.Increment(static_cast<double>(count)); }

void Metrics::engine_call(std::string_view call, std::string_view error_kind, double seconds) {
  const std::string kind = error_kind.empty() ? "none" : std::string(error_kind);
  m_families->engine_calls.Add({{"call", std::string(call)}, {"error", kind}}).Increment();
  m_families->engine_seconds.Add({{"call", std::string(call)}}, kEngineBuckets).Observe(seconds);
}

void Metrics::http_request(std::string_view route, int status) {
  m_families->http.Add({{"route", std::string(route)}, {"status", std::to_string(status)}}).Increment();
}

void Metrics::file_download(std::string_view result, std::uint64_t bytes) {
  m_families->downloads.Add({{"result", std::string(result)}}).Increment();
  m_families->download_bytes.Increment(static_cast<double>(bytes));
}

void Metrics::storage_full() { m_families->storage_full.Increment(); }

void Metrics::package_install(std::string_view language, std::string_view result) {
  m_families->package_installs.Add({{"language", m_families->language_label(language)}, {"result", std::string(result)}})
      .Increment();
}

void Metrics::conversations_swept(std::string_view action, int count) {
  if (count > 0) m_families->swept.Add({{"action", std::string(action)}}).Increment(count);
}

void Metrics::set_sessions(std::size_t open) { m_families->sessions.Set(static_cast<double>(open)); }

void Metrics::set_admission(std::size_t running, std::size_t queued) {
  m_families->runs_admitted.Set(static_cast<double>(running));
  m_families->runs_queued.Set(static_cast<double>(queued));
}

void Metrics::run_rejected(std::string_view reason) {
  m_families->runs_rejected.Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::oauth_event(std::string_view event) {
  m_families->oauth_events.Add({{"event", std::string(event)}}).Increment();
}

void Metrics::rate_limited(std::string_view reason) {
  m_families->rate_limited.Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::connection_refused(std::string_view reason) {
  m_families->connections_refused.Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::set_warm_idle(std::size_t idle) { m_families->warm_idle.Set(static_cast<double>(idle)); }

void Metrics::warm_claim(bool hit) { m_families->warm_claims.Add({{"result", hit ? "hit" : "miss"}}).Increment(); }

void Metrics::set_warm_new_ready(std::size_t ready) { m_families->warm_new_ready.Set(static_cast<double>(ready)); }

void Metrics::warm_new_conversation(bool hit) {
  m_families->warm_new_taken.Add({{"result", hit ? "hit" : "miss"}}).Increment();
}

void Metrics::warm_lent() { m_families->warm_lent.Increment(); }

void Metrics::warm_discard(std::string_view reason) {
  m_families->warm_discards.Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::egress_decision(std::string_view policy, bool allowed, std::string_view reason) {
  const bool known = policy == "packages" || policy == "allowlist" || policy == "open";
  m_families->egress_decisions
      .Add({{"policy", known ? std::string(policy) : "unknown"},
            {"decision", allowed ? "allowed" : "denied"},
            {"reason", std::string(reason)}})
      .Increment();
}

std::string Metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(m_families->registry->Collect());
}

}  // namespace metrics
