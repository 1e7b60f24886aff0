#include "runner/image_ids.hpp"

namespace runner {

ImageIds::ImageIds(docker::Engine& engine) : m_engine(engine) {}

core::Result<std::string> ImageIds::current(const std::string& ref, std::chrono::milliseconds max_age) {
  const auto asked_at = Clock::now();
  if (max_age.count() > 0) {
    std::lock_guard lock(m_mutex);
    if (auto it = m_known.find(ref); it != m_known.end() && asked_at - it->second.read_at < max_age) {
      return it->second.id;
    }
  }
  // Outside the lock: one slow read must not hold up the others.
  auto image = m_engine.inspect_image(ref);
  if (!image) return core::fail(image.error());
  std::lock_guard lock(m_mutex);
  auto& known = m_known[ref];
  // Time of the question, not the answer: a read is never trusted longer than it may be stale.
  if (known.id.empty() || known.read_at <= asked_at) known = Known{image->id, asked_at};
  return image->id;
}

}  // namespace runner
