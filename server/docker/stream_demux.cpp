#include "docker/stream_demux.hpp"

#include <algorithm>

namespace docker {

namespace {

constexpr std::size_t kHeaderSize = 8;
constexpr std::size_t kMaxStatusDigits = 3;  // a shell's $? is 0-255

// The length of the longest end of `text` that is a start of `marker` (shorter than all of it).
std::size_t partial_marker_at_end(std::string_view text, std::string_view marker) {
  for (std::size_t length = std::min(text.size(), marker.size() - 1); length > 0; --length) {
    if (text.substr(text.size() - length) == marker.substr(0, length)) return length;
  }
  return 0;
}

std::uint32_t big_endian_length(const unsigned char* header) {
  return (std::uint32_t{header[4]} << 24) | (std::uint32_t{header[5]} << 16) | (std::uint32_t{header[6]} << 8) |
         std::uint32_t{header[7]};
}

}  // namespace

StreamDemux::StreamDemux(std::size_t stdout_cap, std::size_t stderr_cap)
    : m_out_cap(stdout_cap), m_err_cap(stderr_cap) {}

void StreamDemux::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    if (m_payload_left == 0) {
      const std::size_t take = std::min(kHeaderSize - m_header_fill, chunk.size());
      std::copy_n(chunk.begin(), take, m_header + m_header_fill);
      m_header_fill += take;
      chunk.remove_prefix(take);
      if (m_header_fill < kHeaderSize) {
        return;
      }
      m_header_fill = 0;
      m_stream = m_header[0];
      // An empty frame is legal and simply carries nothing.
      m_payload_left = big_endian_length(m_header);
      continue;
    }
    const std::size_t take = std::min<std::size_t>(m_payload_left, chunk.size());
    append(chunk.substr(0, take));
    m_payload_left -= static_cast<std::uint32_t>(take);
    chunk.remove_prefix(take);
  }
}

void StreamDemux::end_at_line(std::string token) { m_end_marker = std::move(token) + ' '; }

std::optional<int> StreamDemux::end_status() const {
  if (!m_out_end.status || !m_err_end.status) return std::nullopt;
  return m_out_end.status;
}

void StreamDemux::finish() {
  for (const bool is_err : {false, true}) {
    auto& watch = is_err ? m_err_end : m_out_end;
    if (!watch.status && !watch.held.empty()) keep(is_err, watch.held);
    watch.held.clear();
  }
}

void StreamDemux::append(std::string_view payload) {
  // Stream 0 is stdin echoed back by the engine; it belongs with the program's output, as the docker CLI shows it.
  // Stream 3 (newer engines' own error text) and anything unknown go to stderr, where a reader looks for trouble.
  const bool is_err = m_stream >= 2;
  if (m_end_marker.empty()) {
    keep(is_err, payload);
    return;
  }
  auto& watch = is_err ? m_err_end : m_out_end;
  // After its end line a stream carries only what a process the program left behind wrote while
  // the container was ending: not the program's output.
  if (watch.status) return;
  watch.held.append(payload);
  scan(is_err, watch);
}

// Passes on everything held that cannot be part of an end line, and recognises a complete one.
void StreamDemux::scan(bool is_err, EndWatch& watch) {
  std::string& held = watch.held;
  while (true) {
    const auto at = held.find(m_end_marker);
    if (at == std::string::npos) {
      const std::size_t pass = held.size() - partial_marker_at_end(held, m_end_marker);
      keep(is_err, std::string_view(held).substr(0, pass));
      held.erase(0, pass);
      return;
    }
    keep(is_err, std::string_view(held).substr(0, at));
    held.erase(0, at);
    std::size_t end = m_end_marker.size();
    while (end < held.size() && end - m_end_marker.size() < kMaxStatusDigits && held[end] >= '0' && held[end] <= '9') {
      ++end;
    }
    const std::size_t digits = end - m_end_marker.size();
    if (end == held.size()) return;  // the line is not complete yet
    if (digits > 0 && held[end] == '\n') {
      int status = 0;
      for (std::size_t i = m_end_marker.size(); i < end; ++i) status = status * 10 + (held[i] - '0');
      if (status <= 255) {
        watch.status = status;
        held.clear();
        return;
      }
    }
    // The token followed by anything else is not an end line: it is output like any other.
    keep(is_err, std::string_view(held).substr(0, 1));
    held.erase(0, 1);
  }
}

void StreamDemux::keep(bool is_err, std::string_view payload) {
  std::string& target = is_err ? m_err : m_out;
  const std::size_t cap = is_err ? m_err_cap : m_out_cap;
  std::uint64_t& dropped = is_err ? m_dropped_err : m_dropped_out;

  const std::size_t room = cap > target.size() ? cap - target.size() : 0;
  const std::size_t keep = std::min(room, payload.size());
  target.append(payload.substr(0, keep));
  dropped += payload.size() - keep;
}

}  // namespace docker
