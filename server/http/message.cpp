#include "http/message.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "http/url.hpp"

namespace http {

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string_view> RequestHead::header(std::string_view name) const {
  for (const auto& header : headers) {
    if (same_name(header.name, name)) return std::string_view(header.value);
  }
  return std::nullopt;
}

std::string Request::header(std::string_view name) const {
  const auto value = m_head.header(name);
  return value ? std::string(*value) : std::string();
}

std::string Request::query_param(std::string_view name) const {
  return query_value(m_head.query, name).value_or(std::string());
}

const tl::expected<std::string, HttpError>& Request::body() { return body(m_max_body); }

const tl::expected<std::string, HttpError>& Request::body(std::uint64_t max_bytes) {
  if (!m_body) {
    if (!m_head.has_body()) {
      m_body.emplace(std::string());
    } else {
      m_body.emplace(m_source->read_all(std::min(max_bytes, m_max_body)));
    }
  }
  return *m_body;
}

void Response::set_header(std::string_view name, std::string value) {
  for (auto& header : headers) {
    if (same_name(header.name, name)) {
      header.value = std::move(value);
      return;
    }
  }
  headers.push_back(Header{std::string(name), std::move(value)});
}

std::string Response::header(std::string_view name) const {
  for (const auto& header : headers) {
    if (same_name(header.name, name)) return header.value;
  }
  return {};
}

void Response::set_content(std::string content, std::string content_type) {
  body = std::move(content);
  set_header("Content-Type", std::move(content_type));
}

// Copied through a small buffer rather than handed to sendfile: a download's reader is nearly always
// on the same host (curl, cloudflared, a reverse proxy), and there a copy whose pieces stay in the
// CPU's cache moved a 100 MiB file faster than one sendfile did (docs/performance.md). Of the piece
// sizes measured, 64 KiB was the fastest; 256 KiB pieces were slower, not faster.
bool BodyWriter::write_file(int fd, std::uint64_t offset, std::uint64_t length) {
  constexpr std::uint64_t kPiece = 64 * 1024;
  std::string buffer(static_cast<std::size_t>(std::min(length, kPiece)), '\0');
  for (std::uint64_t sent = 0; sent < length;) {
    const auto want = static_cast<std::size_t>(std::min(length - sent, kPiece));
    ssize_t got = 0;
    do {
      got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset + sent));
    } while (got < 0 && errno == EINTR);
    // A file that shrank under us ends the body early rather than sending less than announced.
    if (got <= 0 || !write(std::string_view(buffer.data(), static_cast<std::size_t>(got)))) return false;
    sent += static_cast<std::uint64_t>(got);
  }
  return true;
}

}  // namespace http
