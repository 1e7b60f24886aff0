#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sandbox {

/// Makes and checks expiring download links for files in a sandbox:
/// `<base>/files/<sandbox>/<path>?exp=<unix seconds>&sig=<hmac>`. The HMAC
/// covers sandbox, path and expiry under a key derived from FILE_SECRET, so a
/// link works for exactly one file until it expires, without the API token.
class UrlSigner {
 public:
  using UnixClock = std::function<std::int64_t()>;

  enum class Verdict { valid, expired, bad_signature };

  UrlSigner(std::string_view file_secret, std::string public_base_url, std::chrono::seconds ttl,
            UnixClock now = system_now);

  /// A signed absolute URL for `path` (relative, already checked) in `sandbox`.
  [[nodiscard]] std::string url_for(std::string_view sandbox, std::string_view path) const;

  /// Checks a link's parts in constant time; `expires` and `signature` are the raw query values.
  [[nodiscard]] Verdict verify(std::string_view sandbox, std::string_view path, std::string_view expires,
                               std::string_view signature) const;

  /// Seconds since the epoch from the system clock.
  static std::int64_t system_now();

  /// The URL path of a file, without scheme/host/query: `/files/<sandbox>/<percent-encoded path>`.
  static std::string file_path(std::string_view sandbox, std::string_view path);

 private:
  [[nodiscard]] std::string signature(std::string_view sandbox, std::string_view path, std::int64_t expires) const;

  std::string m_key;
  std::string m_base_url;
  std::chrono::seconds m_ttl;
  UnixClock m_now;
};

}  // namespace sandbox
