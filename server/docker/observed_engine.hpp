#pragma once

#include <chrono>
#include <functional>
#include <string_view>

#include "docker/engine.hpp"

namespace docker {

/// An Engine that reports every call (its name, its error if any, how long it
/// took) to an observer and otherwise forwards to another Engine. Lets the
/// server count engine calls and errors without metrics code in this module.
class ObservedEngine final : public Engine {
 public:
  using Observer = std::function<void(std::string_view call, const core::Error* error, std::chrono::duration<double> took)>;

  /// Forwards to `inner` (which must outlive this) and reports to `observer`.
  ObservedEngine(Engine& inner, Observer observer);

  Result<void> ping() override;
  Result<EngineVersion> version() override;
  Result<EngineInfo> info() override;
  [[nodiscard]] std::string api_version() const override;
  Result<std::vector<ImageSummary>> list_images(std::string_view label) override;
  Result<ImageSummary> inspect_image(std::string_view name) override;
  Result<std::string> create_container(const ContainerSpec& spec) override;
  Result<std::unique_ptr<Attachment>> attach(std::string_view id) override;
  Result<void> start_container(std::string_view id) override;
  Result<WaitResult> wait_container(std::string_view id, std::chrono::milliseconds timeout) override;
  Result<ContainerState> inspect_container(std::string_view id) override;
  Result<ContainerStats> container_stats(std::string_view id) override;
  Result<void> kill_container(std::string_view id) override;
  Result<void> remove_container(std::string_view id) override;
  Result<std::vector<ContainerSummary>> list_containers(std::string_view label) override;

 private:
  template <typename Call>
  auto observe(std::string_view name, Call call) -> decltype(call());

  Engine& m_inner;
  Observer m_observer;
};

}  // namespace docker
