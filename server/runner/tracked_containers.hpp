#pragma once

#include <cstddef>
#include <mutex>
#include <set>
#include <string>

namespace runner {

/// The run ids (label io.mcp-sandbox.run-id) of the containers this server
/// owns right now: runs in flight and, later, containers kept warm. The
/// reaper removes containers carrying our instance label whose run id is
/// not here, so an id is added *before* its container is created and
/// dropped only *after* the container is removed. Thread-safe.
class TrackedContainers {
 public:
  /// Keeps one run id tracked for as long as it lives (move-only).
  class Ticket {
   public:
    Ticket() = default;
    Ticket(TrackedContainers& owner, std::string run_id);
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket();

    [[nodiscard]] const std::string& run_id() const { return m_run_id; }

   private:
    void release();

    TrackedContainers* m_owner = nullptr;
    std::string m_run_id;
  };

  /// Tracks run_id until the returned ticket is destroyed.
  [[nodiscard]] Ticket track(std::string run_id);
  [[nodiscard]] bool contains(const std::string& run_id) const;
  [[nodiscard]] std::size_t size() const;

 private:
  void forget(const std::string& run_id);

  mutable std::mutex m_mutex;
  std::multiset<std::string> m_run_ids;
};

}  // namespace runner
