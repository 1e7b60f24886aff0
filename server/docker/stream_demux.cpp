#include "docker/stream_demux.hpp"

#include <algorithm>

namespace docker {

namespace {

constexpr std::size_t kHeaderSize = 8;

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

void StreamDemux::append(std::string_view payload) {
  // Stream 0 is stdin echoed back by the engine; it belongs with the program's output, as the docker CLI shows it.
  // Stream 3 (newer engines' own error text) and anything unknown go to stderr, where a reader looks for trouble.
  const bool is_err = m_stream >= 2;
  std::string& target = is_err ? m_err : m_out;
  const std::size_t cap = is_err ? m_err_cap : m_out_cap;
  std::uint64_t& dropped = is_err ? m_dropped_err : m_dropped_out;

  const std::size_t room = cap > target.size() ? cap - target.size() : 0;
  const std::size_t keep = std::min(room, payload.size());
  target.append(payload.substr(0, keep));
  dropped += payload.size() - keep;
}

}  // namespace docker
