#pragma once

#include "http/message.hpp"
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace transport {

/// One server-sent event: `event: <event>` and `data: <data>` lines (one per line of `data`), then a blank line.
[[nodiscard]] std::string sse_event(std::string_view data, std::string_view event = "message");

/// A comment line, which SSE clients ignore: used to keep idle streams open through proxies.
[[nodiscard]] std::string sse_comment(std::string_view text);

/// SSE frames on their way from the thread producing messages to the HTTP worker writing them.
/// Thread-safe; frames queued before close() are still delivered.
class SseQueue {
 public:
  /// Adds a frame; false (and the frame dropped) once the queue is closed.
  bool push(std::string frame);
  /// No more frames will come; the stream ends after the queued ones.
  void close();
  /// Whether close() was called.
  [[nodiscard]] bool closed() const;

  /// What next() found.
  enum class Next { frame, idle, closed };
  /// Waits up to `wait` for a frame; `idle` when none came, `closed` when closed and drained.
  Next next(std::string& frame, std::chrono::milliseconds wait);

 private:
  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<std::string> m_frames;
  bool m_closed = false;
};

/// Makes `queue` the body of `response` (text/event-stream, unbuffered by proxies): frames are
/// written as they arrive and a keep-alive comment after each `keepalive` of silence. `on_end` runs
/// once when the stream is over, whether the queue was drained or the client went away; a vanished
/// client is noticed at the next write, so at the latest one keep-alive later.
void stream_queue(http::Response& response, std::shared_ptr<SseQueue> queue, std::chrono::milliseconds keepalive,
                  std::function<void()> on_end);

}  // namespace transport
