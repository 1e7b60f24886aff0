#include "runner/registry.hpp"

#include <algorithm>

#include "runner/labels.hpp"

namespace runner {
namespace {

std::string label_or_empty(const docker::Labels& labels, const char* key) {
  const auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

bool has_tag(const docker::ImageSummary& image, const std::string& tag) {
  return std::find(image.repo_tags.begin(), image.repo_tags.end(), tag) != image.repo_tags.end();
}

}  // namespace

Registry::Registry(std::vector<Runner> runners, std::vector<std::string> problems)
    : m_runners(std::move(runners)), m_problems(std::move(problems)) {
  std::sort(m_runners.begin(), m_runners.end(),
            [](const Runner& a, const Runner& b) { return a.manifest.language < b.manifest.language; });
}

core::Result<Registry> Registry::discover(docker::Engine& engine) {
  auto images = engine.list_images(std::string(labels::kKind) + "=" + labels::kKindRunner);
  if (!images) return core::fail(images.error().with_context("listing runner images"));

  std::vector<Runner> runners;
  std::vector<std::string> problems;
  for (const auto& image : *images) {
    auto manifest = parse_manifest(label_or_empty(image.labels, labels::kManifest));
    if (!manifest) {
      problems.push_back("image " + image.id.substr(0, 19) + ": " + manifest.error().message);
      continue;
    }
    // Only the image currently tagged as the manifest says is live; older
    // builds of the same runner linger untagged until pruned.
    if (!has_tag(image, manifest->image)) continue;
    runners.push_back(Runner{*manifest, image.id, label_or_empty(image.labels, labels::kVersion)});
  }
  return Registry(std::move(runners), std::move(problems));
}

const Runner* Registry::find(std::string_view language) const {
  for (const auto& runner : m_runners) {
    if (runner.manifest.answers_to(language)) return &runner;
  }
  return nullptr;
}

std::string Registry::language_list() const {
  std::string list;
  for (const auto& runner : m_runners) {
    if (!list.empty()) list += ", ";
    list += runner.manifest.language;
  }
  return list.empty() ? "none (build the runner images with ./build.sh images)" : list;
}

RunnerCatalog::RunnerCatalog(Registry initial)
    : m_registry(std::make_shared<const Registry>(std::move(initial))), m_refreshed(std::chrono::steady_clock::now()) {}

void RunnerCatalog::reset(Registry registry) {
  auto fresh = std::make_shared<const Registry>(std::move(registry));
  std::lock_guard lock(m_mutex);
  m_registry = std::move(fresh);
}

std::shared_ptr<const Registry> RunnerCatalog::current() const {
  std::lock_guard lock(m_mutex);
  return m_registry;
}

core::Result<std::shared_ptr<const Registry>> RunnerCatalog::refresh(docker::Engine& engine,
                                                                      std::chrono::seconds min_interval) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(m_mutex);
    if (now - m_refreshed < min_interval) return m_registry;
    m_refreshed = now;
  }
  auto discovered = Registry::discover(engine);
  if (!discovered) return core::fail(discovered.error());
  auto fresh = std::make_shared<const Registry>(std::move(*discovered));
  std::lock_guard lock(m_mutex);
  m_registry = fresh;
  return fresh;
}

}  // namespace runner
