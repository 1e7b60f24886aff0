#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace docker {

/// Splits Docker's multiplexed attach/logs stream (8-byte frame headers:
/// stream id, 3 zero bytes, big-endian length) into stdout and stderr,
/// keeping at most `cap` bytes of each and counting what was dropped.
/// Feed it arbitrary chunks; frames may be split anywhere.
class StreamDemux {
 public:
  explicit StreamDemux(std::size_t stdout_cap, std::size_t stderr_cap);

  /// Consume the next chunk of the raw stream.
  void feed(std::string_view chunk);

  /// Watch both streams for the line "<token> <status>\n" that a run's bootstrap writes to each
  /// once its program has exited (runner/container_spec.hpp). The bytes before it are the
  /// program's; the line and anything after it on that stream are not kept. Call before feeding.
  void end_at_line(std::string token);
  /// The exit status the end lines carried, once both streams had theirs (stdout's if they differ).
  [[nodiscard]] std::optional<int> end_status() const;
  /// Keeps the few bytes held back while they could still begin an end line. Call once the stream
  /// is over, before reading out() and err().
  void finish();

  [[nodiscard]] const std::string& out() const { return m_out; }
  [[nodiscard]] const std::string& err() const { return m_err; }
  /// Bytes of the stream that did not fit under the caps.
  [[nodiscard]] std::uint64_t dropped_out() const { return m_dropped_out; }
  [[nodiscard]] std::uint64_t dropped_err() const { return m_dropped_err; }
  [[nodiscard]] bool truncated() const { return m_dropped_out > 0 || m_dropped_err > 0; }
  /// True when the stream ended inside a frame header or payload.
  [[nodiscard]] bool partial_frame() const { return m_header_fill != 0 || m_payload_left != 0; }

 private:
  /// What an end-line watch holds for one of the two streams.
  struct EndWatch {
    std::string held;  ///< the stream's last bytes, while they could begin the end line
    std::optional<int> status;
  };

  void append(std::string_view payload);
  void keep(bool is_err, std::string_view payload);
  void scan(bool is_err, EndWatch& watch);

  std::size_t m_out_cap;
  std::size_t m_err_cap;
  std::string m_out;
  std::string m_err;
  std::uint64_t m_dropped_out = 0;
  std::uint64_t m_dropped_err = 0;
  unsigned char m_header[8] = {};
  std::size_t m_header_fill = 0;
  std::uint32_t m_payload_left = 0;
  unsigned char m_stream = 0;
  std::string m_end_marker;  ///< "<token> " while watching for end lines
  EndWatch m_out_end;
  EndWatch m_err_end;
};

}  // namespace docker
