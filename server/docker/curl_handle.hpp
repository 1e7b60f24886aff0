#pragma once

// Internal to the docker module: the only header that includes libcurl.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "core/error.hpp"
#include "docker/docker_host.hpp"

namespace docker::curl {

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
/// An owned easy handle; cleanup closes the connections it holds.
using Easy = std::unique_ptr<CURL, EasyDeleter>;

struct ListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
/// An owned header list.
using List = std::unique_ptr<curl_slist, ListDeleter>;

/// A new easy handle (libcurl initialised once per process first); null only when libcurl is out of memory.
Easy make_easy();

/// Appends `line` to `list`; false when libcurl is out of memory (the list is unchanged).
bool append(List& list, const char* line);

/// Sets the options every connection to `host` needs (socket, no signals, no proxy, connect timeout).
void set_connection_options(CURL* handle, const DockerHost& host, long connect_timeout_ms);

/// The error for a failed transfer: `timeout` for curl timeouts, `unavailable` when the engine could not be
/// reached or dropped the connection, `internal` otherwise; the message names the host and what was asked.
core::Error transfer_error(CURLcode code, const char* error_buffer, const DockerHost& host, const std::string& what);

/// Easy handles kept for reuse: each keeps its connection to the engine open between calls, and the
/// pool lets several threads call at once without sharing a handle.
class EasyPool {
 public:
  /// Keeps at most `max_idle` handles between calls; more may be lent out at once.
  explicit EasyPool(std::size_t max_idle) : m_max_idle(max_idle) {}

  /// A handle lent for one call; it goes back to the pool when the lease ends.
  class Lease {
   public:
    Lease(EasyPool& pool, Easy handle) : m_pool(&pool), m_handle(std::move(handle)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { m_pool->give_back(std::move(m_handle)); }

    /// The handle, reset to default options; null when libcurl is out of memory.
    [[nodiscard]] CURL* get() const { return m_handle.get(); }
    /// Closes the handle and its connection instead of keeping it idle: after a
    /// transport failure the connection may be dead (engine or proxy restarted).
    void discard() { m_handle = Easy(); }

   private:
    EasyPool* m_pool;
    Easy m_handle;
  };

  /// An idle handle (options reset, connection kept) or a new one.
  Lease acquire();

 private:
  void give_back(Easy handle);

  std::size_t m_max_idle;
  std::mutex m_mutex;
  std::vector<Easy> m_idle;
};

}  // namespace docker::curl
