#include "outbound/fetch_json.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include <curl/curl.h>

#include "core/address_policy.hpp"
#include "core/encoding.hpp"
#include "core/version.hpp"

namespace outbound {

namespace {

using core::ErrorKind;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Headers are not the document: a server sending more than this is not serving a small JSON file.
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct ListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

void global_init_once() {
  static std::once_flag once;
  // Never cleaned up: the process exit frees it, and handles may outlive static destruction.
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

struct Transfer {
  std::size_t max_bytes = 0;
  std::string body;
  bool too_large = false;
  std::size_t header_bytes = 0;
  bool headers_too_large = false;
  std::string content_type;
  std::string cache_control;
  std::vector<core::IpAddress> pinned;
  bool connected_elsewhere = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer->body.size() + bytes > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // libcurl aborts the transfer: nothing past the cap is read into memory
  }
  transfer->body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  transfer->header_bytes += bytes;
  if (transfer->header_bytes > kMaxHeaderBytes) {
    transfer->headers_too_large = true;
    return 0;
  }
  const std::string_view line(data, bytes);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response head (after an interim 1xx): only the last one's headers count.
    transfer->content_type.clear();
    transfer->cache_control.clear();
    return bytes;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) {
    return bytes;
  }
  const std::string name = lower(core::trim(line.substr(0, colon)));
  const std::string_view value = core::trim(line.substr(colon + 1));
  if (name == "content-type") {
    transfer->content_type = std::string(value);
  } else if (name == "cache-control") {
    transfer->cache_control += (transfer->cache_control.empty() ? "" : ", ") + std::string(value);
  }
  return bytes;
}

std::optional<core::IpAddress> address_of(const sockaddr* address) {
  core::IpAddress ip;
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&v4->sin_addr);
    return core::IpAddress::v4(b[0], b[1], b[2], b[3]);
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    std::memcpy(ip.bytes.data(), &v6->sin6_addr, ip.bytes.size());
    return ip;
  }
  return std::nullopt;
}

// libcurl asks us for every socket it connects with: one to an address other than those checked
// (a lookup of its own, whatever the reason) is never opened.
curl_socket_t open_socket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(user);
  const auto ip = address_of(&address->addr);
  if (purpose != CURLSOCKTYPE_IPCXN || !ip ||
      std::find(transfer->pinned.begin(), transfer->pinned.end(), *ip) == transfer->pinned.end()) {
    transfer->connected_elsewhere = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

bool is_json_media_type(std::string_view content_type) {
  const std::string type = lower(core::trim(content_type.substr(0, content_type.find(';'))));
  if (type == "application/json") {
    return true;
  }
  constexpr std::string_view prefix = "application/";
  constexpr std::string_view suffix = "+json";
  return type.size() > prefix.size() + suffix.size() && type.compare(0, prefix.size(), prefix) == 0 &&
         type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         type.find('/', prefix.size()) == std::string::npos;
}

// max-age of a Cache-Control value: 0 for no-store or no-cache, nullopt when it gives none.
std::optional<std::chrono::seconds> max_age_of(std::string_view cache_control) {
  std::optional<std::chrono::seconds> max_age;
  const std::string value = lower(cache_control);
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    const std::string_view directive = core::trim(std::string_view(value).substr(start, comma - start));
    if (directive == "no-store" || directive == "no-cache") {
      return std::chrono::seconds(0);
    }
    if (directive.substr(0, 8) == "max-age=") {
      const std::string_view digits = directive.substr(8);
      if (!digits.empty() && digits.size() <= 9 &&
          std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        max_age = std::chrono::seconds(std::stol(std::string(digits)));
      }
    }
    start = comma + 1;
  }
  return max_age;
}

std::string resolve_entry(const HttpsUrl& url, const std::vector<std::string>& addresses) {
  std::string entry = url.host + ":" + std::to_string(url.port) + ":";
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const bool v6 = addresses[i].find(':') != std::string::npos;
    entry += (i == 0 ? "" : ",") + (v6 ? "[" + addresses[i] + "]" : addresses[i]);
  }
  return entry;
}

tl::unexpected<core::Error> transfer_error(CURLcode code, const char* error_buffer, const Transfer& transfer,
                                           const HttpsUrl& url, const Limits& limits) {
  const std::string what = "fetching " + core::printable(url.text, 120);
  if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return core::fail(ErrorKind::invalid_argument,
                      what + ": the document is larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  if (transfer.headers_too_large) {
    return core::fail(ErrorKind::invalid_argument,
                      what + ": the response headers are larger than " + std::to_string(kMaxHeaderBytes) + " bytes");
  }
  if (transfer.connected_elsewhere) {
    return core::fail(ErrorKind::internal, what + ": refused a connection to an address that was not checked");
  }
  const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return core::fail(ErrorKind::timeout, what + ": no complete answer within " +
                                              std::to_string(limits.total.count()) + " ms (" + detail + ")");
  }
  return core::fail(ErrorKind::unavailable, what + ": " + detail);
}

}  // namespace

core::Result<JsonDocument> fetch_json(const std::string& text, const FetchOptions& options) {
  const Limits& limits = options.limits;
  auto url = parse_https_url(text);
  if (!url) {
    return core::fail(url.error());
  }
  const auto started = steady_clock::now();
  auto addresses = resolve_public(*url, options.resolver, options.test_origin);
  if (!addresses) {
    return core::fail(addresses.error());
  }
  const auto left = limits.total - duration_cast<milliseconds>(steady_clock::now() - started);
  if (left <= milliseconds(0)) {
    return core::fail(ErrorKind::timeout, "fetching " + core::printable(url->text, 120) + ": resolving " +
                                              url->host + " took longer than " + std::to_string(limits.total.count()) + " ms");
  }

  Transfer transfer;
  transfer.max_bytes = limits.max_bytes;
  for (const auto& address : *addresses) {
    transfer.pinned.push_back(*core::parse_ip_address(address));  // resolve_public returned canonical text
  }

  global_init_once();
  const std::unique_ptr<CURL, EasyDeleter> owned(curl_easy_init());
  CURL* handle = owned.get();
  if (handle == nullptr) {
    return core::fail(ErrorKind::internal, "libcurl could not create a handle (out of memory)");
  }
  std::unique_ptr<curl_slist, ListDeleter> resolve(curl_slist_append(nullptr, resolve_entry(*url, *addresses).c_str()));
  std::unique_ptr<curl_slist, ListDeleter> headers(curl_slist_append(nullptr, "Accept: application/json"));
  if (!resolve || !headers) {
    return core::fail(ErrorKind::internal, "libcurl is out of memory");
  }
  const std::string user_agent = "mcp-sandbox/" + std::string(core::kVersion);
  char error_buffer[CURL_ERROR_SIZE] = {};

  const std::string request_url = url->request_url();
  curl_easy_setopt(handle, CURLOPT_URL, request_url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  // The addresses checked above, and only they: curl takes the name from this list instead of
  // resolving it again (a second answer could differ: DNS rebinding), and open_socket enforces it.
  curl_easy_setopt(handle, CURLOPT_RESOLVE, resolve.get());
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETDATA, &transfer);
  // http_proxy and friends in the environment would send the request elsewhere.
  curl_easy_setopt(handle, CURLOPT_PROXY, "");
  curl_easy_setopt(handle, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(limits.connect, left).count()));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
  curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(limits.max_bytes));
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(handle, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (options.test_origin && url->origin() == options.test_origin->origin) {
    curl_easy_setopt(handle, CURLOPT_CAINFO, options.test_origin->ca_file.c_str());
  }
  // No CURLOPT_ACCEPT_ENCODING: the body arrives as sent, so the size cap is a cap on what we hold.
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(handle, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);

  const CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK) {
    return transfer_error(code, error_buffer, transfer, *url, limits);
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  const std::string what = "fetching " + core::printable(url->text, 120);
  if (status >= 300 && status < 400) {
    return core::fail(ErrorKind::invalid_argument, what + ": the server answered HTTP " + std::to_string(status) +
                                                       ", a redirect, and redirects are not followed");
  }
  if (status != 200) {
    return core::fail(ErrorKind::invalid_argument, what + ": the server answered HTTP " + std::to_string(status));
  }
  if (!is_json_media_type(transfer.content_type)) {
    return core::fail(ErrorKind::invalid_argument,
                      what + ": the content type is '" + core::printable(transfer.content_type, 80) +
                          "', not application/json");
  }
  auto body = nlohmann::json::parse(transfer.body, nullptr, false);
  if (body.is_discarded()) {
    return core::fail(ErrorKind::invalid_argument, what + ": the document is not valid JSON");
  }
  if (!body.is_object()) {
    return core::fail(ErrorKind::invalid_argument, what + ": the document is not a JSON object");
  }
  return JsonDocument{std::move(body), max_age_of(transfer.cache_control)};
}

}  // namespace outbound
