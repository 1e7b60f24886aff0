#include "docker/curl_handle.hpp"

#include <mutex>

namespace docker::curl {

namespace {

using core::ErrorKind;

void global_init_once() {
  static std::once_flag once;
  // Never cleaned up: handles may outlive static destruction order, and the process exit frees it anyway.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

Easy make_easy() {
  global_init_once();
  return Easy(curl_easy_init());
}

bool append(List& list, const char* line) {
  curl_slist* extended = curl_slist_append(list.get(), line);
  if (extended == nullptr) {
    return false;
  }
  static_cast<void>(list.release());
  list.reset(extended);
  return true;
}

void set_connection_options(CURL* handle, const DockerHost& host, long connect_timeout_ms) {
  if (!host.unix_socket.empty()) {
    curl_easy_setopt(handle, CURLOPT_UNIX_SOCKET_PATH, host.unix_socket.c_str());
  }
  // Several threads call the engine; signals for DNS timeouts would hit a random one.
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  // libcurl would otherwise honour http_proxy from the environment and send engine calls through a proxy.
  curl_easy_setopt(handle, CURLOPT_PROXY, "");
  curl_easy_setopt(handle, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
}

core::Error transfer_error(CURLcode code, const char* error_buffer, const DockerHost& host, const std::string& what) {
  const std::string detail = error_buffer != nullptr && error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return {ErrorKind::timeout, "Docker engine at " + host.display + " did not answer " + what + " in time: " + detail};
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      return {ErrorKind::unavailable, "Docker engine unreachable at " + host.display + ": " + detail};
    default:
      return {ErrorKind::internal, "Docker engine call " + what + " to " + host.display + " failed: " + detail};
  }
}

EasyPool::Lease EasyPool::acquire() {
  Easy handle;
  {
    const std::lock_guard lock(m_mutex);
    if (!m_idle.empty()) {
      handle = std::move(m_idle.back());
      m_idle.pop_back();
    }
  }
  if (handle) {
    // Reset forgets the last call's options but keeps its open connection.
    curl_easy_reset(handle.get());
  } else {
    handle = make_easy();
  }
  return Lease(*this, std::move(handle));
}

void EasyPool::give_back(Easy handle) {
  if (!handle) {
    return;
  }
  const std::lock_guard lock(m_mutex);
  if (m_idle.size() < m_max_idle) {
    m_idle.push_back(std::move(handle));
  }
}

}  // namespace docker::curl
