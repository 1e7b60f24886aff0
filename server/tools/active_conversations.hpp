#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace tools {

/// The conversations this process saw in use lately, by key (the HMAC of the id): the only place
/// the server keeps conversation ids, and only in memory (on disk and in the conversation index
/// there are only keys). resources/list lists the files of these; the others are reachable through
/// the resource template with an id the client knows. Bounded: the least recently used are dropped.
/// Thread-safe.
class ActiveConversations {
 public:
  explicit ActiveConversations(std::size_t capacity = 4096);

  /// Conversation `id` (key `key`) was used now.
  void touch(const std::string& key, const std::string& id);
  /// The id of the conversation with `key`, when it is still remembered.
  [[nodiscard]] std::optional<std::string> id_for(const std::string& key) const;
  /// How many are remembered.
  [[nodiscard]] std::size_t size() const;

 private:
  const std::size_t m_capacity;
  mutable std::mutex m_mutex;
  std::list<std::string> m_order;  ///< keys, most recent first
  struct Entry {
    std::string id;
    std::list<std::string>::iterator position;
  };
  std::map<std::string, Entry> m_entries;
};

}  // namespace tools
