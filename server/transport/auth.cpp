#include "transport/auth.hpp"

#include "http/message.hpp"
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <utility>

#include "core/encoding.hpp"

namespace transport {

namespace {

// RFC 6750 b64token: what a Bearer credential may contain.
bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
         c == '/';
}

// The credential of `Bearer <token>`, or "" when the header is anything else.
std::string_view bearer_credential(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return {};
  }
  std::size_t start = kScheme.size();
  if (header[start] != ' ') return {};
  while (start < header.size() && header[start] == ' ') ++start;
  std::size_t end = header.size();
  while (end > start && header[end - 1] == ' ') --end;
  const std::string_view token = header.substr(start, end - start);
  std::size_t i = 0;
  while (i < token.size() && is_token_char(token[i])) ++i;
  while (i < token.size() && token[i] == '=') ++i;
  return !token.empty() && i == token.size() ? token : std::string_view{};
}

std::array<unsigned char, 32> digest_of(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());  // NOLINT: C API
  return digest;
}

}  // namespace

BearerAuth::BearerAuth(const std::vector<std::string>& tokens, TokenVerifier verifier, Challenge challenge)
    : m_verifier(std::move(verifier)), m_challenge(std::move(challenge)) {
  for (const auto& token : tokens) {
    if (!token.empty()) m_digests.push_back(digest_of(token));
  }
}

std::optional<Caller> BearerAuth::caller(const http::Request& request) const {
  // A repeated Authorization header never gets here: the request parser refuses it (ambiguous).
  const std::string header = request.header("Authorization");
  const std::string_view token = bearer_credential(header);
  if (token.empty()) return std::nullopt;
  const auto presented = digest_of(token);
  // Every accepted digest is compared, without stopping at a match, so timing tells nothing either.
  int matched = 0;
  for (const auto& accepted : m_digests) {
    matched |= static_cast<int>(CRYPTO_memcmp(presented.data(), accepted.data(), presented.size()) == 0);
  }
  if (matched != 0) {
    const std::string id = core::hex_encode(std::string_view(reinterpret_cast<const char*>(presented.data()), 8));  // NOLINT: bytes
    return Caller{"token:" + id, "token " + id};
  }
  if (m_verifier) return m_verifier(token);
  return std::nullopt;
}

void BearerAuth::reject(const http::Request& request, http::Response& response) const {
  response.status = 401;
  const bool presented = request.has_header("Authorization");
  response.set_header("WWW-Authenticate",
                      m_challenge ? m_challenge(request.path(), presented) : std::string("Bearer realm=\"mcp-sandbox\""));
  response.set_content("Unauthorized: send Authorization: Bearer <token>\n", "text/plain");
}

}  // namespace transport
