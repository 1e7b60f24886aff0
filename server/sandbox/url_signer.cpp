#include "sandbox/url_signer.hpp"

#include <charconv>

#include "core/encoding.hpp"
#include "sandbox/hmac.hpp"

namespace sandbox {

UrlSigner::UrlSigner(std::string_view file_secret, std::string public_base_url, std::chrono::seconds ttl,
                     UnixClock now)
    : m_key(derive_key(file_secret, "download-url")),
      m_base_url(std::move(public_base_url)),
      m_ttl(ttl),
      m_now(std::move(now)) {
  while (!m_base_url.empty() && m_base_url.back() == '/') m_base_url.pop_back();
}

std::int64_t UrlSigner::system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string UrlSigner::file_path(std::string_view sandbox, std::string_view path) {
  return "/files/" + std::string(sandbox) + "/" + core::percent_encode(path, "/");
}

std::string UrlSigner::signature(std::string_view sandbox, std::string_view path, std::int64_t expires) const {
  // NUL separators: neither a sandbox name nor a checked path can contain one,
  // so no two different triples sign the same message.
  std::string message;
  message.append(sandbox).push_back('\0');
  message.append(path).push_back('\0');
  message.append(std::to_string(expires));
  return hmac_sha256_hex(m_key, message);
}

std::string UrlSigner::url_for(std::string_view sandbox, std::string_view path) const {
  const auto expires = m_now() + m_ttl.count();
  return m_base_url + file_path(sandbox, path) + "?exp=" + std::to_string(expires) +
         "&sig=" + signature(sandbox, path, expires);
}

UrlSigner::Verdict UrlSigner::verify(std::string_view sandbox, std::string_view path, std::string_view expires,
                                     std::string_view sig) const {
  std::int64_t expires_at = 0;
  const auto* end = expires.data() + expires.size();
  const auto parsed = std::from_chars(expires.data(), end, expires_at);
  if (expires.empty() || parsed.ec != std::errc() || parsed.ptr != end) return Verdict::bad_signature;
  // Check the signature first: an expired link is only reported as such when it was genuine.
  if (!constant_time_equal(signature(sandbox, path, expires_at), sig)) return Verdict::bad_signature;
  if (m_now() > expires_at) return Verdict::expired;
  return Verdict::valid;
}

}  // namespace sandbox
