#include "mcp/session.hpp"

#include <utility>
#include <vector>

namespace mcp {

Session::Session(std::string id, std::string protocol_version)
    : m_id(std::move(id)), m_protocol_version(std::move(protocol_version)) {}

bool Session::subscribe_resource(const std::string& uri) {
  const std::scoped_lock lock(m_mutex);
  if (m_resource_subscriptions.size() >= kMaxResourceSubscriptions && !m_resource_subscriptions.contains(uri)) {
    return false;
  }
  m_resource_subscriptions.insert(uri);
  return true;
}

void Session::unsubscribe_resource(const std::string& uri) {
  const std::scoped_lock lock(m_mutex);
  m_resource_subscriptions.erase(uri);
}

ResourceFilter Session::resource_filter() const {
  const std::scoped_lock lock(m_mutex);
  // Servers announce list changes to every session that can hear them (the capability says so);
  // content changes only for what the session subscribed to.
  return ResourceFilter{m_caller, true, m_resource_subscriptions};
}

std::string Session::protocol_version() const {
  const std::scoped_lock lock(m_mutex);
  return m_protocol_version;
}

void Session::set_negotiated(std::string protocol_version, std::string client_name) {
  const std::scoped_lock lock(m_mutex);
  m_protocol_version = std::move(protocol_version);
  m_client_name = std::move(client_name);
  m_negotiated = true;
}

bool Session::negotiated() const {
  const std::scoped_lock lock(m_mutex);
  return m_negotiated;
}

std::string Session::client_name() const {
  const std::scoped_lock lock(m_mutex);
  return m_client_name;
}

std::optional<LogLevel> Session::log_level() const {
  const std::scoped_lock lock(m_mutex);
  return m_log_level;
}

void Session::set_log_level(LogLevel level) {
  const std::scoped_lock lock(m_mutex);
  m_log_level = level;
}

std::optional<std::stop_token> Session::begin_request(const nlohmann::json& id) {
  const std::scoped_lock lock(m_mutex);
  if (m_closed) return std::nullopt;
  auto [it, inserted] = m_running.try_emplace(id.dump());
  if (!inserted) return std::nullopt;
  return it->second.get_token();
}

bool Session::end_request(const nlohmann::json& id) {
  const std::scoped_lock lock(m_mutex);
  const std::string key = id.dump();
  m_running.erase(key);
  return m_cancelled.erase(key) > 0;
}

// request_stop() runs the stop callbacks the tools registered (killing a container, say) right
// away, so it is called after the lock is released: a callback may be slow or call back in here.

bool Session::cancel_request(const nlohmann::json& id) {
  std::stop_source source;
  {
    const std::scoped_lock lock(m_mutex);
    const std::string key = id.dump();
    const auto it = m_running.find(key);
    if (it == m_running.end()) return false;
    m_cancelled.insert(key);
    source = it->second;
  }
  source.request_stop();
  return true;
}

void Session::close() {
  std::vector<std::stop_source> sources;
  {
    const std::scoped_lock lock(m_mutex);
    m_closed = true;
    for (const auto& [key, source] : m_running) sources.push_back(source);
  }
  for (auto& source : sources) source.request_stop();
}

bool Session::closed() const {
  const std::scoped_lock lock(m_mutex);
  return m_closed;
}

void Session::set_caller(std::string caller) {
  const std::lock_guard lock(m_mutex);
  m_caller = std::move(caller);
}

std::string Session::caller() const {
  const std::lock_guard lock(m_mutex);
  return m_caller;
}

}  // namespace mcp
