#include "docker/observed_engine.hpp"

namespace docker {

ObservedEngine::ObservedEngine(Engine& inner, Observer observer) : m_inner(inner), m_observer(std::move(observer)) {}

template <typename Call>
auto ObservedEngine::observe(std::string_view name, Call call) -> decltype(call()) {
  const auto started = std::chrono::steady_clock::now();
  auto result = call();
  m_observer(name, result ? nullptr : &result.error(), std::chrono::steady_clock::now() - started);
  return result;
}

Result<void> ObservedEngine::ping() {
  return observe("ping", [&] { return m_inner.ping(); });
}
Result<EngineVersion> ObservedEngine::version() {
  return observe("version", [&] { return m_inner.version(); });
}
Result<EngineInfo> ObservedEngine::info() {
  return observe("info", [&] { return m_inner.info(); });
}
std::string ObservedEngine::api_version() const { return m_inner.api_version(); }
Result<std::vector<ImageSummary>> ObservedEngine::list_images(std::string_view label) {
  return observe("list_images", [&] { return m_inner.list_images(label); });
}
Result<ImageSummary> ObservedEngine::inspect_image(std::string_view name) {
  return observe("inspect_image", [&] { return m_inner.inspect_image(name); });
}
Result<std::string> ObservedEngine::create_container(const ContainerSpec& spec) {
  return observe("create", [&] { return m_inner.create_container(spec); });
}
Result<std::unique_ptr<Attachment>> ObservedEngine::attach(std::string_view id) {
  return observe("attach", [&] { return m_inner.attach(id); });
}
Result<void> ObservedEngine::start_container(std::string_view id) {
  return observe("start", [&] { return m_inner.start_container(id); });
}
Result<WaitResult> ObservedEngine::wait_container(std::string_view id, std::chrono::milliseconds timeout) {
  return observe("wait", [&] { return m_inner.wait_container(id, timeout); });
}
Result<ContainerState> ObservedEngine::inspect_container(std::string_view id) {
  return observe("inspect", [&] { return m_inner.inspect_container(id); });
}
Result<ContainerStats> ObservedEngine::container_stats(std::string_view id) {
  return observe("stats", [&] { return m_inner.container_stats(id); });
}
Result<void> ObservedEngine::kill_container(std::string_view id) {
  return observe("kill", [&] { return m_inner.kill_container(id); });
}
Result<void> ObservedEngine::remove_container(std::string_view id) {
  return observe("remove", [&] { return m_inner.remove_container(id); });
}
Result<std::vector<ContainerSummary>> ObservedEngine::list_containers(std::string_view label) {
  return observe("list_containers", [&] { return m_inner.list_containers(label); });
}

}  // namespace docker
