#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

namespace sandbox {

/// Who is using which conversation right now: any number of holders per name (every Workspace
/// copy's lease), and at most one thread at a time that prepares (creates, mounts) or removes it,
/// the claim. The sweep only claims a name that nobody holds or claims. A name is tracked only
/// while it is held or claimed. Thread-safe.
class Claims {
 public:
  /// Waits until no other thread claims `name`, then claims it.
  void claim(const std::string& name);

  /// Claims `name` only when nobody holds or claims it (the sweep's test); false otherwise.
  bool try_claim_idle(const std::string& name);

  /// Ends a claim; `add_holder` turns it into one more holder (a prepared workspace handed out).
  void finish(const std::string& name, bool add_holder);

  /// One holder of `name` is done with it.
  void release(const std::string& name);

 private:
  struct Entry {
    int holders = 0;
    bool claimed = false;
  };
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::map<std::string, Entry> m_entries;
};

}  // namespace sandbox
